"""The effective configuration as TOML (``check-config --dump``).

Every supported settings key is written with its value, defaults included, so the output answers "what is
balanz really using". Keys that are not supported yet (``keys.NOT_SUPPORTED``) are left out: balanz uses none
of them, and the loader would refuse the dump if they were in it. Entities from included files are written
inline and ``model.include`` is emptied, so the dump is one self-contained file that loads to the same
configuration.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tomli_w

from balanz.config import keys, schema
from balanz.config.parse import SECTION_CLASSES


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None and getattr(value, f.name) != ()
        }
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _supported(table: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``table`` without the keys of ``keys.NOT_SUPPORTED``, nested tables and arrays of tables included."""
    out: dict[str, Any] = {}
    for name, value in table.items():
        stable = f"{prefix}.{name}"
        if stable in keys.NOT_SUPPORTED:
            continue
        # A charger's profile table holds [profiles] keys.
        nested = "profiles" if stable == "charger.profile" else stable
        if isinstance(value, dict):
            value = _supported(value, nested)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            value = [_supported(v, nested) for v in value]
        out[name] = value
    return out


def config_to_dict(config: schema.Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SECTION_CLASSES:
        section = _supported(_plain(getattr(config, name)), name)
        if name == "model":
            section["include"] = []
        if section:
            out[name] = section
    for kind in ("group", "charger", "tag", "firmware"):
        items = getattr(config, kind)
        if items:
            out[kind] = [_supported(_entity(kind, item), kind) for item in items]
    return out


def _entity(kind: str, item: Any) -> dict[str, Any]:
    table: dict[str, Any] = _plain(item)
    if kind == "charger":
        if not table.get("profile"):
            table.pop("profile", None)
        if item.lc == schema.ChargerLcConfig():
            table.pop("lc", None)
    return table


def dump_config(config: schema.Config) -> str:
    header = (
        "# Effective balanz configuration: every key with the value in force, defaults filled in.\n"
        + (f"# Loaded from {config.source}; included files are inlined.\n" if config.source else "")
        + "\n"
    )
    return header + tomli_w.dumps(config_to_dict(config))
