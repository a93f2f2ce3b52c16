"""One parsed TOML document to schema objects: settings sections and entity arrays.

Paths are resolved here, against the directory of the file that names them, so that the rest of balanz
never depends on the working directory it was started from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from balanz.config import keys, schema
from balanz.config.convert import (
    INVALID,
    Reporter,
    build,
    convert_scalar,
    field_names,
    hints,
    refuse_unsupported,
    string_list,
    table_list,
    unknown_key,
)

SECTION_CLASSES: dict[str, type] = {
    "mode": schema.ModeConfig,
    "server": schema.ServerConfig,
    "auth": schema.AuthConfig,
    "csms": schema.CsmsConfig,
    "lc": schema.LcConfig,
    "allocator": schema.AllocatorConfig,
    "profiles": schema.ProfilesConfig,
    "model": schema.ModelConfig,
    "store": schema.StoreConfig,
    "history": schema.HistoryConfig,
    "logging": schema.LoggingConfig,
    "monitor": schema.MonitorConfig,
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an entity was written: the file (as printed) and its 1-based position in that file's array."""

    file: str
    index: int
    spelling: str = ""  # the id as written, where the loader normalises it (tags)


@dataclass(slots=True)
class Entities:
    group: list[tuple[schema.GroupConfig, Origin]]
    charger: list[tuple[schema.ChargerConfig, Origin]]
    tag: list[tuple[schema.TagConfig, Origin]]
    firmware: list[tuple[schema.FirmwareConfig, Origin]]


def resolve(value: str, base_dir: str) -> str:
    """A path as written, made absolute against ``base_dir``; empty stays empty (it means "not set")."""
    if not value:
        return value
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))


def parse_settings(
    doc: Mapping[str, Any], base_dir: str, rep: Reporter
) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Section name → constructed section object, defaults filled in and paths resolved."""
    sections: dict[str, Any] = {}
    for name, cls in SECTION_CLASSES.items():
        table = doc.get(name, {})
        if not isinstance(table, dict):
            rep.error(name, f"must be a table (write a [{name}] header)", table)
            table = {}
        special: dict[str, Any] = {}
        if name == "logging":
            special["levels"] = _log_levels
        if name == "model":
            special["include"] = string_list
        args = build(cls, table, name, name, rep, special) or {}
        section = cls(**args)
        paths = {
            key: resolve(getattr(section, key), base_dir)
            for key in field_names(cls)
            if f"{name}.{key}" in keys.PATH_KEYS
        }
        sections[name] = replace(section, **paths)
    return sections


def _log_levels(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict):
        rep.error(key, 'must be a table of logger name = level, e.g. "ocpp" = "WARNING"', value)
        return INVALID
    levels: dict[str, str] = {}
    for logger, level in value.items():
        converted = convert_scalar(level, str, f'{key}."{logger}"', "logging.level", rep)
        if converted is not INVALID:
            levels[logger] = converted
    return levels


def _label(kind: str, table: Mapping[str, Any], index: int, id_field: str) -> str:
    ident = table.get(id_field)
    if kind == "group" and isinstance(ident, str):
        return f'group "{ident}"'
    if isinstance(ident, str):
        return f'{kind}[{index}] "{ident}"'
    return f"{kind}[{index}]"


def parse_entities(doc: Mapping[str, Any], rep: Reporter, into: Entities) -> None:
    """Append the entity arrays of one document to ``into``, each with its origin."""
    builders = {
        "group": ("id", _group),
        "charger": ("id", _charger),
        "tag": ("id", _tag),
        "firmware": ("firmware_id", _firmware),
    }
    for kind, (id_field, builder) in builders.items():
        if kind not in doc:
            continue
        tables = table_list(doc[kind], kind, rep)
        for index, table in enumerate(tables or (), start=1):
            label = _label(kind, table, index, id_field)
            entity = builder(table, label, rep)
            if entity is not None:
                spelling = table[id_field] if kind == "tag" else ""
                getattr(into, kind).append((entity, Origin(rep.file, index, spelling)))


def _group(table: Mapping[str, Any], label: str, rep: Reporter) -> schema.GroupConfig | None:
    args = build(
        schema.GroupConfig,
        table,
        label,
        "group",
        rep,
        {"slot": _array_of(schema.SlotConfig, "slot", {"quotas": _quotas})},
    )
    return None if args is None else schema.GroupConfig(**args)


def _array_of(cls: type, stable: str, special: Mapping[str, Any] | None = None) -> Any:
    """A converter for a nested array of tables (``[[group.slot]]``, ``[[charger.connector]]``)."""

    def convert(value: Any, key: str, rep: Reporter) -> Any:
        tables = table_list(value, key, rep)
        if tables is None:
            return INVALID
        items = []
        for index, table in enumerate(tables, start=1):
            args = build(cls, table, f"{key}[{index}]", stable, rep, special)
            if args is None:
                return INVALID
            items.append(cls(**args))
        return tuple(items)

    return convert


def _quotas(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict) or not value:
        rep.error(key, "must be a table of priority threshold = amperes, e.g. { 0 = 16, 5 = 48 }", value)
        return INVALID
    quotas: dict[int, int] = {}
    ok = True
    for threshold, amps in value.items():
        if not threshold.isdigit():
            rep.error(key, "a threshold must be a whole number ≥ 0", threshold)
            ok = False
            continue
        converted = convert_scalar(amps, int, f"{key}.{threshold}", "", rep)
        if converted is INVALID:
            ok = False
            continue
        quotas[int(threshold)] = converted
    return quotas if ok else INVALID


def _charger(table: Mapping[str, Any], label: str, rep: Reporter) -> schema.ChargerConfig | None:
    special = {
        "profile": _profile,
        "lc": _charger_lc,
        "connector": _array_of(schema.ConnectorConfig, "connector"),
    }
    args = build(schema.ChargerConfig, table, label, "charger", rep, special)
    if args is None:
        return None
    connectors = args.get("connector", ())
    if "connectors" not in table and connectors:
        args["connectors"] = max(c.id for c in connectors)
    return schema.ChargerConfig(**args)


def _profile(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict):
        rep.error(key, "must be a table of [profiles] keys", value)
        return INVALID
    known = tuple(hints(schema.ProfilesConfig))
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name not in known:
            unknown_key(rep, f"{key}.{name}", name, known, "key (profile takes [profiles] keys)")
            continue
        if refuse_unsupported(rep, f"{key}.{name}", f"profiles.{name}"):
            continue
        converted = convert_scalar(
            item, hints(schema.ProfilesConfig)[name], f"{key}.{name}", f"profiles.{name}", rep
        )
        if converted is not INVALID:
            out[name] = converted
    return out


def _charger_lc(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict):
        rep.error(key, "must be a table", value)
        return INVALID
    args = build(schema.ChargerLcConfig, value, key, "charger.lc", rep)
    return INVALID if args is None else schema.ChargerLcConfig(**args)


def _tag(table: Mapping[str, Any], label: str, rep: Reporter) -> schema.TagConfig | None:
    args = build(schema.TagConfig, table, label, "tag", rep)
    if args is None:
        return None
    # Tag ids are case-insensitive in OCPP; storing the upper-case form makes every comparison exact.
    args["id"] = args["id"].upper()
    if args.get("parent") is not None:
        args["parent"] = args["parent"].upper()
    return schema.TagConfig(**args)


def _firmware(table: Mapping[str, Any], label: str, rep: Reporter) -> schema.FirmwareConfig | None:
    args = build(schema.FirmwareConfig, table, label, "firmware", rep)
    return None if args is None else schema.FirmwareConfig(**args)
