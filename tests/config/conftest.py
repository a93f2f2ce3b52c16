"""Helpers: write TOML into a temporary site directory and load it the way ``balanz run`` would."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from balanz.config import keys
from balanz.config.errors import ConfigError, Problem
from balanz.config.loader import LoadedConfig, load_config


class Site:
    """A temporary directory (the working directory during the test) holding balanz.toml and friends."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def load(self, text: str, name: str = "balanz.toml") -> LoadedConfig:
        self.write(name, text)
        return load_config(name)

    def problems(self, text: str) -> tuple[Problem, ...]:
        """Every problem (errors, then warnings) of ``text`` as the main file."""
        try:
            return self.load(text).warnings
        except ConfigError as exc:
            return exc.problems

    def errors(self, text: str) -> list[str]:
        return [str(p) for p in self.problems(text) if p.is_error]

    def warnings(self, text: str) -> list[str]:
        return [str(p) for p in self.problems(text) if not p.is_error]

    def reports(self, text: str, severity: str, expected: str) -> bool:
        """Whether loading ``text`` gives a problem of ``severity`` reading ``balanz.toml: <expected>…``."""
        if severity == "warning":
            key, _, message = expected.partition(": ")
            expected = f"{key}: warning: {message}"
        found = self.errors(text) if severity == "error" else self.warnings(text)
        return any(p.startswith(f"balanz.toml: {expected}") for p in found)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.chdir(tmp_path)
    return Site(tmp_path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "all_keys_supported: load with keys.NOT_SUPPORTED emptied, to test the rules of keys that are "
        "refused today (LC, key provisioning, …) so they are ready when the feature lands",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    # A hook rather than a fixture: Hypothesis tests refuse function-scoped fixtures such as monkeypatch.
    if item.get_closest_marker("all_keys_supported") is None:
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "NOT_SUPPORTED", frozenset())
        patch.setattr(keys, "NOT_SUPPORTED_REASONS", {})
        patch.setattr(keys, "NOT_SUPPORTED_VALUES", {})
        return (yield)
