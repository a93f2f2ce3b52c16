"""What changed between two snapshots, as a small JSON object, and how to replay it.

A 2,000-charger site changes a few connectors per second; resending the whole snapshot every time would cost
megabytes per second per monitor. A delta names only what differs, at field granularity:

```
{"at": "...",                                  # the new snapshot's time (always present)
 "site": {...},                                # the whole new site block, only if it changed
 "groups":   {"add": [group...], "change": {"G1": {field: value, ...}}, "remove": ["G2"]},
 "chargers": {"add": [charger...], "remove": ["CP9"],
              "change": {"CP1": {"connected": true,
                                 "connectors": {"add": [...], "change": {"1": {...}}, "remove": [2]}}}}}
```

Missing sections mean "nothing changed there". Readers ignore fields they do not know, like the snapshot.
The guarantee, property-tested: ``apply(a, diff(a, b)) == b`` for any snapshots ``a`` and ``b``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from balanz.control.codec import DecodeError, from_json, to_json
from balanz.control.snapshot import Charger, Connector, Group, Site, Snapshot

logger = logging.getLogger(__name__)

Delta = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Touched:
    """Which rows a delta affects: the monitor updates those cells and leaves the rest of the table alone."""

    site: bool
    groups: frozenset[str]
    chargers: frozenset[str]
    structural: bool  # chargers or connectors added/removed: the table needs new or fewer rows


def diff(old: Snapshot, new: Snapshot) -> Delta:
    delta: Delta = {"at": new.at}
    if old.site != new.site:
        delta["site"] = to_json(new.site)
    if old.protocol != new.protocol:
        delta["protocol"] = new.protocol
    groups = _diff_keyed(old.groups, new.groups, _patch_plain)
    if groups:
        delta["groups"] = groups
    chargers = _diff_keyed(old.chargers, new.chargers, _patch_charger)
    if chargers:
        delta["chargers"] = chargers
    return delta


def apply(snapshot: Snapshot, delta: Mapping[str, Any]) -> Snapshot:
    """The snapshot ``delta`` describes; raises ``DecodeError`` when the delta does not fit ``snapshot``."""
    if not isinstance(delta, Mapping):
        raise DecodeError("delta", "expected an object")
    site = snapshot.site
    if "site" in delta:
        try:
            site = from_json(Site, delta["site"])
        except DecodeError as exc:
            raise exc.under("delta.site") from None
    groups = _apply_keyed(snapshot.groups, delta.get("groups"), "delta.groups", Group, _apply_plain)
    chargers = _apply_keyed(
        snapshot.chargers, delta.get("chargers"), "delta.chargers", Charger, _apply_charger
    )
    at = delta.get("at", snapshot.at)
    if not isinstance(at, str):
        raise DecodeError("delta.at", "expected a string")
    protocol = delta.get("protocol", snapshot.protocol)
    return Snapshot(protocol=protocol, at=at, site=site, groups=groups, chargers=chargers)


def touched(delta: Mapping[str, Any]) -> Touched:
    groups = delta.get("groups") or {}
    chargers = delta.get("chargers") or {}
    structural = bool(chargers.get("add") or chargers.get("remove"))
    changed = set(chargers.get("change") or {})
    for patch in (chargers.get("change") or {}).values():
        conns = patch.get("connectors") if isinstance(patch, Mapping) else None
        if isinstance(conns, Mapping) and (conns.get("add") or conns.get("remove")):
            structural = True
    changed |= {c.get("id") for c in chargers.get("add") or () if isinstance(c, Mapping)}
    changed |= set(chargers.get("remove") or ())
    group_ids = set(groups.get("change") or {}) | set(groups.get("remove") or ())
    group_ids |= {g.get("id") for g in groups.get("add") or () if isinstance(g, Mapping)}
    return Touched(
        site="site" in delta,
        groups=frozenset(str(g) for g in group_ids),
        chargers=frozenset(str(c) for c in changed),
        structural=structural or bool(groups.get("add") or groups.get("remove")),
    )


Patcher = Callable[[Any, Any], dict[str, Any]]


def _diff_keyed(old: tuple[Any, ...], new: tuple[Any, ...], patcher: Patcher) -> dict[str, Any]:
    before = {item.id: item for item in old}
    after = {item.id: item for item in new}
    out: dict[str, Any] = {}
    added = [to_json(item) for key, item in after.items() if key not in before]
    removed = [key for key in before if key not in after]
    changed = {
        str(key): patcher(before[key], item)
        for key, item in after.items()
        if key in before and before[key] != item
    }
    if added:
        out["add"] = added
    if changed:
        out["change"] = changed
    if removed:
        out["remove"] = removed
    return out


def _patch_plain(old: Any, new: Any) -> dict[str, Any]:
    old_json, new_json = to_json(old), to_json(new)
    return {k: v for k, v in new_json.items() if old_json.get(k) != v}


def _patch_charger(old: Charger, new: Charger) -> dict[str, Any]:
    patch = _patch_plain(_without_connectors(old), _without_connectors(new))
    patch.pop("connectors", None)
    connectors = _diff_keyed(old.connectors, new.connectors, _patch_plain)
    if connectors:
        patch["connectors"] = connectors
    return patch


def _without_connectors(charger: Charger) -> Charger:
    return replace(charger, connectors=())


Applier = Callable[[Any, Mapping[str, Any], type], Any]


def _apply_keyed(
    items: tuple[Any, ...], section: Any, where: str, cls: type, applier: Applier
) -> tuple[Any, ...]:
    if section is None:
        return items
    if not isinstance(section, Mapping):
        raise DecodeError(f"{where}", "expected an object")
    current: dict[Hashable, Any] = {item.id: item for item in items}
    key_of = _key_parser(cls)
    for raw in section.get("remove") or ():
        key = key_of(raw, f"{where}.remove")
        if current.pop(key, None) is None:
            raise DecodeError(f"{where}.remove", f"{raw!r} is not in the snapshot")
    for index, raw in enumerate(section.get("add") or ()):
        try:
            item = from_json(cls, raw)
        except DecodeError as exc:
            raise exc.under(f"{where}.add[{index}]") from None
        current[item.id] = item
    change = section.get("change") or {}
    if not isinstance(change, Mapping):
        raise DecodeError(f"{where}.change", "expected an object")
    for raw_key, patch in change.items():
        key = key_of(raw_key, f"{where}.change")
        if key not in current:
            raise DecodeError(f"{where}.change", f"{raw_key!r} is not in the snapshot")
        if not isinstance(patch, Mapping):
            raise DecodeError(f"{where}.change.{raw_key}", "expected an object")
        try:
            current[key] = applier(current[key], patch, cls)
        except DecodeError as exc:
            raise exc.under(f"{where}.change.{raw_key}") from None
    return tuple(current.values())


def _key_parser(cls: type) -> Callable[[Any, str], Hashable]:
    def connector_key(raw: Any, where: str) -> int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise DecodeError(where, f"connector id must be an integer; got {raw!r}") from None

    def text_key(raw: Any, where: str) -> str:
        return str(raw)

    return connector_key if cls is Connector else text_key


def _apply_plain(item: Any, patch: Mapping[str, Any], cls: type) -> Any:
    return from_json(cls, {**to_json(item), **patch})


def _apply_charger(item: Charger, patch: Mapping[str, Any], cls: type) -> Charger:
    connectors = _apply_keyed(item.connectors, patch.get("connectors"), "connectors", Connector, _apply_plain)
    base = to_json(_without_connectors(item))
    merged = {**base, **{k: v for k, v in patch.items() if k != "connectors"}}
    return replace(from_json(Charger, merged), connectors=connectors)
