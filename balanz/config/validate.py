"""Run every rule over a constructed configuration.

Shared by the file loader, the built-in default and command-line overrides, so that no path into the
daemon skips a rule.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace

from balanz.config import schema
from balanz.config.convert import Reporter
from balanz.config.entity_rules import check_entities
from balanz.config.errors import ConfigError, Problem, Severity
from balanz.config.parse import Entities, Origin
from balanz.config.rules import check_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A configuration that passed validation, with the warnings to print or show in the monitor."""

    config: schema.Config
    warnings: tuple[Problem, ...]


def validate(config: schema.Config, entities: Entities, rep: Reporter) -> None:
    """Append every problem of ``config`` to ``rep.sink``; ``entities`` names each entity's file."""
    check_settings(config, rep)
    check_entities(config, entities, rep)


def entities_of(config: schema.Config, file: str) -> Entities:
    """Origins for a configuration built in code (all entities attributed to ``file``)."""

    return Entities(
        [(g, Origin(file, n)) for n, g in enumerate(config.group, start=1)],
        [(c, Origin(file, n)) for n, c in enumerate(config.charger, start=1)],
        [(t, Origin(file, n, t.id)) for n, t in enumerate(config.tag, start=1)],
        [(f, Origin(file, n)) for n, f in enumerate(config.firmware, start=1)],
    )


def finish(config: schema.Config, problems: list[Problem]) -> LoadedConfig:
    """Raise when any problem is an error (errors first, warnings after), else return the config."""
    errors = tuple(p for p in problems if p.severity is Severity.ERROR)
    warnings = tuple(p for p in problems if p.severity is Severity.WARNING)
    if errors:
        raise ConfigError(errors + warnings)
    for warning in warnings:
        log.debug("config warning: %s", warning)
    return LoadedConfig(config, warnings)


def fill_socket_default(config: schema.Config) -> schema.Config:
    """An empty ``monitor.socket`` means ``balanz.sock`` next to the store (config.md §2)."""
    if config.monitor.socket:
        return config
    socket = os.path.join(os.path.dirname(config.store.path), "balanz.sock")
    return replace(config, monitor=replace(config.monitor, socket=socket))
