"""What a configuration reload changes (config.md §4), decided without touching the running daemon.

``reload`` (monitor) or SIGHUP re-runs the loader; ``plan_reload`` turns its result into a plan the daemon
applies atomically between two allocator runs. A file with errors changes nothing. Keys that only take effect
at start-up (listening socket, store, monitor socket, mode, the upstream connection's identity) keep their
running values and are reported as waiting for a restart, so that a reload never half-applies them. The
diff is kept as data, so the monitor, the log and the reload command all show the same words.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from balanz.config import schema
from balanz.config.convert import Reporter
from balanz.config.dump import config_to_dict
from balanz.config.errors import ConfigError, Problem, show_value
from balanz.config.validate import LoadedConfig, entities_of, validate

logger = logging.getLogger(__name__)

RESTART_SECTIONS = ("mode", "server", "store", "monitor")
RESTART_KEYS = ("lc.upstream_url", "lc.charger_auth")
ENTITY_KINDS = {"group": "id", "charger": "id", "tag": "id", "firmware": "firmware_id"}
RESTART_NOTE = "changed, takes effect after restart"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _show(value: Any) -> str:
    return "(unset)" if value is None else show_value(value)


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One changed key; ``needs_restart``: the running value stays until balanz restarts."""

    key: str
    old: Any
    new: Any
    needs_restart: bool = False

    def __str__(self) -> str:
        if "password" in self.key:
            text = f"{self.key}: changed (value not shown)"
        else:
            text = f"{self.key}: {_show(self.old)} → {_show(self.new)}"
        return f"{text} ({RESTART_NOTE})" if self.needs_restart else text


@dataclass(frozen=True, slots=True)
class EntityChange:
    """A group, charger, tag or firmware entry added, removed or changed (``fields``: what changed)."""

    kind: str
    id: str
    change: str
    fields: tuple[SettingChange, ...] = ()

    def __str__(self) -> str:
        head = f'{self.kind} "{self.id}"'
        if self.change != "changed":
            return f"{head}: {self.change}"
        return f"{head}: " + "; ".join(str(f) for f in self.fields)


@dataclass(frozen=True, slots=True)
class ChargerMove:
    id: str
    old_group: str
    new_group: str


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    """The configuration to run with after a reload, and how it differs from the running one.

    ``applied`` False: the file had errors (``errors``) and ``config`` is the running configuration.
    ``removed_chargers`` and ``moved_chargers`` are for the allocator shell: a removed charger with a live
    session stays pinned until the session ends; a moved one counts in its new group at the next run.
    """

    config: schema.Config
    applied: bool
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    settings: tuple[SettingChange, ...] = ()
    entities: tuple[EntityChange, ...] = ()
    removed_chargers: tuple[str, ...] = ()
    moved_chargers: tuple[ChargerMove, ...] = ()

    @property
    def restart_pending(self) -> tuple[SettingChange, ...]:
        return tuple(c for c in self.settings if c.needs_restart)

    @property
    def changed(self) -> bool:
        """Whether anything takes effect now (restart-only changes do not)."""
        return bool(self.entities) or any(not c.needs_restart for c in self.settings)

    def describe(self) -> list[str]:
        """Readable lines: the errors; or what changes now, then what waits for a restart, then warnings."""
        if not self.applied:
            return [str(p) for p in self.errors]
        live = [str(c) for c in self.settings if not c.needs_restart] + [str(e) for e in self.entities]
        lines = live + [str(c) for c in self.restart_pending]
        return (lines or ["no changes"]) + [str(w) for w in self.warnings]


def plan_reload(old: schema.Config, new_result: LoadedConfig | ConfigError) -> ReloadPlan:
    """Plan the switch from the running ``old`` to the freshly loaded file (or its ``ConfigError``)."""
    if isinstance(new_result, ConfigError):
        errors = tuple(p for p in new_result.problems if p.is_error)
        warnings = tuple(p for p in new_result.problems if not p.is_error)
        logger.info("reload refused: %d error(s) in the configuration", len(errors))
        return ReloadPlan(old, applied=False, errors=errors, warnings=warnings)
    loaded = new_result.config
    config = keep_restart_keys(old, loaded)
    if config != loaded:
        # The running values of restart-only keys may not fit the new file (lc.charger_auth "local" needs
        # per-charger passwords the file no longer has): check the combination that would actually run.
        problems = _revalidate(config)
        if problems:
            return ReloadPlan(old, applied=False, errors=problems)
    settings = tuple(_settings_diff(old, loaded))
    entities, removed, moved = _entities_diff(old, config)
    plan = ReloadPlan(config, True, (), new_result.warnings, settings, entities, removed, moved)
    logger.info("reload: %s", "; ".join(plan.describe()))
    return plan


def keep_restart_keys(old: schema.Config, new: schema.Config) -> schema.Config:
    """``new`` with every restart-only key at its value in ``old``."""
    sections = {name: getattr(old, name) for name in RESTART_SECTIONS}
    lc_keys = {key.split(".", 1)[1]: getattr(old.lc, key.split(".", 1)[1]) for key in RESTART_KEYS}
    return dataclasses.replace(new, lc=dataclasses.replace(new.lc, **lc_keys), **sections)


def _revalidate(config: schema.Config) -> tuple[Problem, ...]:
    file = str(config.source) if config.source else "configuration"
    sink: list[Problem] = []
    validate(config, entities_of(config, file), Reporter(file, sink))
    errors = tuple(p for p in sink if p.is_error)
    note = "with the restart-only keys kept at their running values: "
    return tuple(dataclasses.replace(p, message=note + p.message) for p in errors)


def _is_restart_key(key: str) -> bool:
    return key.split(".", 1)[0] in RESTART_SECTIONS or key in RESTART_KEYS


def _flatten(table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if _BARE_KEY.fullmatch(name) else f'{prefix}."{name}"'
        if isinstance(value, dict):
            out.update(_flatten(value, key))
        else:
            out[key] = value
    return out


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], restart: bool = False) -> list[SettingChange]:
    keys = list(old) + [k for k in new if k not in old]
    return [
        SettingChange(key, old.get(key), new.get(key), restart and _is_restart_key(key))
        for key in keys
        if old.get(key) != new.get(key)
    ]


def _settings_diff(old: schema.Config, new: schema.Config) -> Iterable[SettingChange]:
    before, after = config_to_dict(old), config_to_dict(new)
    for section in (name for name in before if name not in ENTITY_KINDS):
        yield from _changes(
            _flatten(before[section], section), _flatten(after[section], section), restart=True
        )
    if old.model.include != new.model.include:  # the dump inlines includes, so compare the patterns here
        yield SettingChange("model.include", list(old.model.include), list(new.model.include))


def _entities_diff(
    old: schema.Config, new: schema.Config
) -> tuple[tuple[EntityChange, ...], tuple[str, ...], tuple[ChargerMove, ...]]:
    before, after = config_to_dict(old), config_to_dict(new)
    changes: list[EntityChange] = []
    for kind, id_field in ENTITY_KINDS.items():
        was = {item[id_field]: item for item in before.get(kind, [])}
        now = {item[id_field]: item for item in after.get(kind, [])}
        changes += [EntityChange(kind, ident, "removed") for ident in was if ident not in now]
        changes += [EntityChange(kind, ident, "added") for ident in now if ident not in was]
        for ident in (i for i in now if i in was and was[i] != now[i]):
            fields = tuple(_changes(_flatten(was[ident], ""), _flatten(now[ident], "")))
            changes.append(EntityChange(kind, ident, "changed", tuple(_unprefixed(f) for f in fields)))
    old_groups = {c.id: c.group for c in old.charger}
    new_groups = {c.id: c.group for c in new.charger}
    removed = tuple(i for i in old_groups if i not in new_groups)
    moved = tuple(
        ChargerMove(i, old_groups[i], group)
        for i, group in new_groups.items()
        if i in old_groups and old_groups[i] != group
    )
    return tuple(changes), removed, moved


def _unprefixed(change: SettingChange) -> SettingChange:
    return dataclasses.replace(change, key=change.key.removeprefix("."))
