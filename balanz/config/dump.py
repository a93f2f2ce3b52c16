"""The effective configuration as TOML (``check-config --dump``).

Every settings key is written with its value, defaults included, so the output answers "what is balanz
really using". Entities from included files are written inline and ``model.include`` is emptied, so the
dump is one self-contained file that loads to the same configuration.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tomli_w

from balanz.config import schema
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


def config_to_dict(config: schema.Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SECTION_CLASSES:
        section = _plain(getattr(config, name))
        if name == "model":
            section["include"] = []
        out[name] = section
    for kind in ("group", "charger", "tag", "firmware"):
        items = getattr(config, kind)
        if items:
            out[kind] = [_entity(kind, item) for item in items]
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
