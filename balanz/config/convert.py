"""TOML tables to schema dataclasses, with strict types.

The field types of ``schema.py`` drive the conversion, so adding a field there makes it loadable without
touching this module. Every mismatch becomes a Problem; conversion carries on with the default so that one
run reports everything.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from balanz.config import keys
from balanz.config.errors import Problem, Severity

# Returned by converters for a value that was reported as wrong; the field then keeps its default.
INVALID: Any = object()


class Reporter:
    """Collects problems for one file; ``file`` is the name printed in front of every message."""

    def __init__(self, file: str, sink: list[Problem]) -> None:
        self.file = file
        self.sink = sink

    def error(self, key: str, message: str, *value: Any) -> None:
        self.sink.append(Problem(self.file, key, message, Severity.ERROR, *value))

    def warn(self, key: str, message: str, *value: Any) -> None:
        self.sink.append(Problem(self.file, key, message, Severity.WARNING, *value))


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "source")


def _strip_optional(hint: Any) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def convert_scalar(value: Any, hint: Any, key: str, enum_key: str, rep: Reporter) -> Any:
    """Check one value against its declared type; returns the converted value or ``INVALID``."""
    hint = _strip_optional(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        rep.error(key, "must be true or false", value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        what = "a whole number, not true/false" if isinstance(value, bool) else "a whole number (integer)"
        rep.error(key, f"must be {what}", value)
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        rep.error(key, "must be a number", value)
    elif hint is str:
        if isinstance(value, str):
            return _enum(value, key, enum_key, rep)
        rep.error(key, "must be a string", value)
    elif hint is datetime:
        return _datetime(value, key, rep)
    else:
        raise TypeError(f"no conversion for {hint!r} ({key})")
    return INVALID


def _enum(value: str, key: str, enum_key: str, rep: Reporter) -> Any:
    allowed = keys.ENUMS.get(enum_key)
    if allowed is None:
        return value
    refused = keys.NOT_SUPPORTED_VALUES.get(enum_key, {})
    for choice in allowed:
        if value.lower() == choice.lower():
            if choice in refused:
                usable = ", ".join(f'"{a}"' for a in allowed if a not in refused)
                rep.error(key, f"{not_supported(refused[choice])}; use {usable}", value)
                return INVALID
            return choice
    legacy = keys.REFERENCE_SPELLINGS.get(enum_key, {}).get(value.lower())
    if legacy is not None:
        rep.warn(key, f'reference spelling, understood as "{legacy}"; write "{legacy}"', value)
        return legacy
    rep.error(key, "must be one of " + ", ".join(f'"{a}"' for a in allowed), value)
    return INVALID


def _datetime(value: Any, key: str, rep: Reporter) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            rep.error(key, "must be an RFC 3339 date-time with a zone offset", value)
            return INVALID
    if not isinstance(value, datetime):
        rep.error(key, "must be an RFC 3339 date-time with a zone offset", value)
        return INVALID
    if value.tzinfo is None:
        rep.error(key, "needs a zone offset (e.g. 2027-01-01T00:00:00Z or +01:00)", value)
        return INVALID
    return value


def not_supported(reason: str | None) -> str:
    return "not supported yet by this version of balanz" + (f" ({reason})" if reason else "")


def refuse_unsupported(rep: Reporter, key: str, stable: str) -> bool:
    """Report a key of ``keys.NOT_SUPPORTED`` set in a file, whatever its value; True when it was one.

    A file that sets a key expects its effect, so an unimplemented key is an error, never a silent no-op.
    """
    if stable not in keys.NOT_SUPPORTED:
        return False
    rep.error(key, f"{not_supported(keys.NOT_SUPPORTED_REASONS.get(stable))}; remove it")
    return True


def unknown_key(rep: Reporter, key: str, name: str, known: tuple[str, ...], what: str = "key") -> None:
    rep.error(key, f"unknown {what}{keys.suggest(name, known)}")


def build(
    cls: type,
    table: Mapping[str, Any],
    prefix: str,
    enum_prefix: str,
    rep: Reporter,
    special: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Convert ``table`` into constructor arguments for ``cls``; None when a required key is missing.

    ``prefix`` is the key path printed in messages (``allocator``, ``charger[2] "X"``), ``enum_prefix`` the
    stable name used to look up enums and retired keys (``allocator``, ``charger``). ``special`` maps field
    names to converters ``(value, key, rep) -> value | INVALID`` for fields with a structure of their own.
    """
    names = field_names(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        stable = f"{enum_prefix}.{name}"
        if stable in keys.RETIRED:
            rep.error(key, keys.RETIRED[stable])
            continue
        if name not in fields or name == "source":
            unknown_key(rep, key, name, names)
            continue
        if refuse_unsupported(rep, key, stable):
            continue
        if special and name in special:
            converted = special[name](value, key, rep)
        else:
            converted = convert_scalar(value, hints(cls)[name], key, stable, rep)
        if converted is not INVALID:
            out[name] = converted
    required = [
        n
        for n in names
        if fields[n].default is dataclasses.MISSING and fields[n].default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in table:
            rep.error(f"{prefix}.{name}" if prefix else name, "required key missing")
    # A required key missing or invalid blocks construction; its error is already reported.
    return out if all(n in out for n in required) else None


def string_list(value: Any, key: str, rep: Reporter) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    rep.error(key, "must be a list of strings", value)
    return INVALID


def table_list(value: Any, key: str, rep: Reporter) -> list[Mapping[str, Any]] | None:
    """An array of tables (``[[x]]``), or None after reporting what was found instead."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    rep.error(key, f"must be an array of tables (write [[{key.rsplit('.', 1)[-1]}]] headers)")
    return None
