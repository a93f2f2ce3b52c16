"""Runtime tags and their merge with the TOML's static tags (model.md §3.2). Pure.

The store keeps only runtime entries; a runtime entry with the id of a static tag *overrides* it entirely
(e.g. an operator blocks a card), and a `deleted` entry hides a static tag until the override is dropped.
The monitor's `tag add|set|block|unblock|delete` commands are functions from the merged view to a
`TagChange` the shell applies with `Store.apply_tag_change`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from balanz.config.schema import TagConfig
from balanz.store.errors import StoreIntegrityError

STATUSES = ("Activated", "Blocked")
ORIGIN_CONFIG = "config"
ORIGIN_RUNTIME = "runtime"
ORIGIN_OVERRIDE = "override"
_EDITABLE = frozenset({"user", "parent", "status", "priority", "expires", "description"})


def normalise_tag_id(id_tag: str) -> str:
    """OCPP idTag is case-insensitive: compare and store upper case (model.md §8)."""
    value = id_tag.strip().upper()
    if not 1 <= len(value) <= 20:
        raise StoreIntegrityError(f"tag id {id_tag!r}: must be 1 to 20 characters")
    return value


def normalised(tag: TagConfig) -> TagConfig:
    """The tag with its id and parent in the form every comparison uses."""
    return replace(
        tag, id=normalise_tag_id(tag.id), parent=normalise_tag_id(tag.parent) if tag.parent else None
    )


@dataclass(frozen=True)
class RuntimeTag:
    """A tag created or changed at runtime; `deleted` hides a static tag of the same id."""

    tag: TagConfig
    updated_at: datetime
    deleted: bool = False

    def __post_init__(self) -> None:
        tag = self.tag
        object.__setattr__(
            self,
            "tag",
            replace(
                tag, id=normalise_tag_id(tag.id), parent=normalise_tag_id(tag.parent) if tag.parent else None
            ),
        )
        if tag.status not in STATUSES:
            raise StoreIntegrityError(f"tag {self.id}: status must be one of {STATUSES}, got {tag.status!r}")
        if tag.priority is not None and tag.priority < 0:
            raise StoreIntegrityError(f"tag {self.id}: priority must be >= 0, got {tag.priority}")

    @property
    def id(self) -> str:
        return self.tag.id


@dataclass(frozen=True)
class EffectiveTag:
    """A tag as Authorize sees it (ids normalised), and where it came from: `config`, `runtime`, or
    `override` (a runtime entry replacing a static tag)."""

    tag: TagConfig
    origin: str

    @property
    def id(self) -> str:
        return self.tag.id


@dataclass(frozen=True)
class TagChange:
    """What to write: `upsert` a runtime entry, or `drop` the runtime entry with that id (never both)."""

    upsert: RuntimeTag | None = None
    drop: str | None = None


def tag_view(static: Iterable[TagConfig], runtime: Iterable[RuntimeTag]) -> dict[str, EffectiveTag]:
    """Every tag in force, by normalised id, with its origin (the monitor's Tags view). Authorize
    (`balanz.csms.tags`) takes `{id: view.tag for id, view in tag_view(...).items()}` as its book: the
    `TagConfig`s fit its `TagLike`, and tags deleted at runtime are already absent."""
    return with_runtime(static_view(static), runtime)


def static_view(static: Iterable[TagConfig]) -> dict[str, EffectiveTag]:
    """The configured tags alone, normalised: the part of ``tag_view`` that changes only with the
    configuration, so a busy CSMS can build it once per configuration."""
    return {normalise_tag_id(tag.id): EffectiveTag(normalised(tag), ORIGIN_CONFIG) for tag in static}


def with_runtime(base: Mapping[str, EffectiveTag], runtime: Iterable[RuntimeTag]) -> dict[str, EffectiveTag]:
    """``base`` (from ``static_view``) with the runtime additions, changes and deletions applied."""
    merged = dict(base)
    for entry in runtime:
        overrides = entry.id in merged and merged[entry.id].origin == ORIGIN_CONFIG
        if entry.deleted:
            merged.pop(entry.id, None)
        else:
            merged[entry.id] = EffectiveTag(entry.tag, ORIGIN_OVERRIDE if overrides else ORIGIN_RUNTIME)
    return merged


def _existing(merged: Mapping[str, EffectiveTag], id_tag: str) -> EffectiveTag:
    tag_id = normalise_tag_id(id_tag)
    if tag_id not in merged:
        raise StoreIntegrityError(f"tag {tag_id}: no such tag (add it first with `tag add`)")
    return merged[tag_id]


def tag_add(merged: Mapping[str, EffectiveTag], new: RuntimeTag) -> TagChange:
    if new.id in merged:
        raise StoreIntegrityError(f"tag {new.id}: already exists (use `tag set` to change it)")
    return TagChange(upsert=replace(new, deleted=False))


def tag_set(merged: Mapping[str, EffectiveTag], id_tag: str, now: datetime, **changes: Any) -> TagChange:
    """Change some fields; the runtime entry copies the rest from the tag as it is now."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise StoreIntegrityError(
            f"tag {id_tag}: cannot set {sorted(unknown)} (editable: {sorted(_EDITABLE)})"
        )
    current = _existing(merged, id_tag)
    return TagChange(upsert=RuntimeTag(replace(current.tag, **changes), now))


def tag_block(merged: Mapping[str, EffectiveTag], id_tag: str, now: datetime) -> TagChange:
    return tag_set(merged, id_tag, now, status="Blocked")


def tag_unblock(merged: Mapping[str, EffectiveTag], id_tag: str, now: datetime) -> TagChange:
    return tag_set(merged, id_tag, now, status="Activated")


def tag_delete(
    merged: Mapping[str, EffectiveTag], static_ids: Iterable[str], id_tag: str, now: datetime
) -> TagChange:
    """A runtime-only tag is removed; a tag from the TOML is hidden by a `deleted` entry until
    `tag_drop_override` (the TOML stays the source of truth and is never rewritten)."""
    current = _existing(merged, id_tag)
    if current.id in {normalise_tag_id(s) for s in static_ids}:
        return TagChange(upsert=RuntimeTag(current.tag, now, deleted=True))
    return TagChange(drop=current.id)


def tag_drop_override(runtime: Iterable[RuntimeTag], static_ids: Iterable[str], id_tag: str) -> TagChange:
    """Forget the runtime entry that shadows a static tag, so the TOML's version applies again."""
    tag_id = normalise_tag_id(id_tag)
    if tag_id not in {normalise_tag_id(s) for s in static_ids}:
        raise StoreIntegrityError(f"tag {tag_id}: not in the configuration, so there is no override to drop")
    if tag_id not in {r.id for r in runtime}:
        raise StoreIntegrityError(f"tag {tag_id}: has no runtime override")
    return TagChange(drop=tag_id)
