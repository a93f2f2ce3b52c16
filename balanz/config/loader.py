"""Load the site configuration: the main TOML file, its includes, then every validation rule.

``load_config`` either returns a complete immutable ``Config`` with its warnings, or raises ``ConfigError``
carrying all problems found, so that ``balanz run``, ``check-config`` and a reload behave identically.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from balanz.config import keys, schema
from balanz.config.convert import Reporter
from balanz.config.defaults import apply_overrides, default_config
from balanz.config.entity_rules import group_schedule
from balanz.config.errors import ConfigError, Problem, Severity
from balanz.config.parse import Entities, parse_entities, parse_settings
from balanz.config.validate import LoadedConfig, fill_socket_default, finish, validate

log = logging.getLogger(__name__)

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def load_config(path: str | os.PathLike[str]) -> LoadedConfig:
    """Read ``path`` and its includes; raise ``ConfigError`` listing every problem if any is an error."""
    display = os.fspath(path)
    problems: list[Problem] = []
    doc = _read_toml(Path(path), display, problems)
    if doc is None:
        raise ConfigError(tuple(problems))
    main_dir = os.path.dirname(os.path.abspath(display))
    rep = Reporter(display, problems)
    _check_top_level(doc, rep, main_file=True)
    sections = parse_settings(doc, main_dir, rep)
    entities = Entities([], [], [], [])
    parse_entities(doc, rep, entities)
    _load_includes(sections["model"].include, main_dir, display, rep, entities)
    config = schema.Config(
        **sections,
        group=tuple(e for e, _ in entities.group),
        charger=tuple(e for e, _ in entities.charger),
        tag=tuple(e for e, _ in entities.tag),
        firmware=tuple(e for e, _ in entities.firmware),
        source=Path(os.path.abspath(display)),
    )
    config = fill_socket_default(config)
    validate(config, entities, rep)
    return finish(config, problems)


def _read_toml(path: Path, display: str, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        problems.append(Problem(display, "", f"cannot read the file: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(display, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_POSITION.search(message)
        key = f"line {where[1]}, column {where[2]}" if where else ""
        text = _TOML_POSITION.sub("", message)
        problems.append(Problem(display, key, f"invalid TOML: {text}"))
        return None


def _check_top_level(doc: Mapping[str, Any], rep: Reporter, *, main_file: bool) -> None:
    known = (*keys.SETTINGS_SECTIONS, *keys.ENTITY_ARRAYS) if main_file else keys.ENTITY_ARRAYS
    for name in doc:
        if name in known:
            continue
        if not main_file and name in keys.SETTINGS_SECTIONS:
            rep.error(
                name,
                "settings sections are allowed only in the main file; an included file holds "
                "only group, charger, tag and firmware arrays",
            )
        elif name in keys.REFERENCE_SECTIONS:
            rep.error(
                name,
                f"unknown section (the reference ini's [{name}] keys now live in "
                f"[{keys.REFERENCE_SECTIONS[name]}], see config.md §1)",
            )
        else:
            what = "section" if isinstance(doc[name], dict | list) else "key"
            rep.error(name, f"unknown {what}{keys.suggest(name, known)}")


def _load_includes(
    patterns: tuple[str, ...], main_dir: str, main_display: str, rep: Reporter, entities: Entities
) -> None:
    seen = {os.path.realpath(os.path.join(main_dir, os.path.basename(main_display)))}
    display_dir = os.path.dirname(main_display)
    for pattern in patterns:
        full = os.path.join(main_dir, os.path.expanduser(pattern))
        matches = sorted(glob.glob(full, recursive=True))
        files = [m for m in matches if os.path.isfile(m)]
        if not files:
            rep.warn("model.include", "pattern matches no file", pattern)
            continue
        for file in files:
            real = os.path.realpath(file)
            if real in seen:
                continue
            seen.add(real)
            relative = os.path.relpath(file, main_dir)
            shown = (
                file
                if relative.startswith("..") and os.path.isabs(pattern)
                else os.path.join(display_dir, relative)
            )
            _load_include(Path(file), shown, rep.sink, entities)


def _load_include(path: Path, display: str, sink: list[Problem], entities: Entities) -> None:
    doc = _read_toml(path, display, sink)
    if doc is None:
        return
    rep = Reporter(display, sink)
    _check_top_level(doc, rep, main_file=False)
    parse_entities(doc, rep, entities)


__all__ = [
    "ConfigError",
    "LoadedConfig",
    "Problem",
    "Severity",
    "apply_overrides",
    "default_config",
    "group_schedule",
    "load_config",
]
