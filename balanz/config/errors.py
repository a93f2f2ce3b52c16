"""Configuration problems as data.

The loader collects every problem before giving up, because an operator fixing a site file wants the whole
list in one run, not one error per restart. Each problem prints as ``<file>: <key path>: <problem>[; got
<value>]`` so that editors and grep can jump to it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


_MISSING: Any = object()


def show_value(value: Any) -> str:
    """Render a value the way it would be written in the TOML file, so the operator recognises it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {show_value(v)}" for k, v in value.items()) + " }"
    return str(value)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of the loader; ``value`` is the offending value as read (absent: nothing to show)."""

    file: str
    key: str
    message: str
    severity: Severity = Severity.ERROR
    value: Any = _MISSING

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        message = self.message if self.is_error else f"warning: {self.message}"
        text = f"{self.file}: {self.key}: {message}" if self.key else f"{self.file}: {message}"
        if self.value is not _MISSING:
            text += f"; got {show_value(self.value)}"
        return text


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds every error (and the warnings found with them)."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        super().__init__(f"{len(errors)} configuration error(s); first: {errors[0] if errors else '-'}")
