"""The Authorize decision (flows.md §2.6, model.md §3.2) as one pure function.

OCPP says an idTag is a case-insensitive string of at most 20 characters; every id is therefore
upper-cased before it is looked up, stored or compared (the reference forgot this on StartTransaction and
in its concurrency check). Runtime tags (operator edits, auto-registered cards) override static ones with
the same id. The function returns what to answer and, for ``accept_and_register``, the runtime tag to
persist; the caller writes the audit event and the store entry.

Rules, in order: unusable id → Invalid; unknown → per ``csms.unknown_tags``; own or parent status
Blocked → Blocked; own or parent expiry passed → Expired; in use elsewhere and concurrency not allowed →
ConcurrentTx; else Accepted. A child inherits its parent tag's Blocked status, expiry and priority when it
has none of its own (one level, as OCPP's parentIdTag is one level); a parent that is not a tag (``ACME``)
is only echoed as ``parentIdTag``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from balanz.config.schema import CsmsConfig, TagConfig

logger = logging.getLogger(__name__)

ID_TAG_MAX_LEN = 20
ACCEPTED = "Accepted"
BLOCKED = "Blocked"
EXPIRED = "Expired"
INVALID = "Invalid"
CONCURRENT_TX = "ConcurrentTx"
UNKNOWN_TAG_POLICIES = ("reject", "accept", "accept_and_register")
DEFAULT_CSMS = CsmsConfig()


class TagLike(Protocol):
    """What a tag record must offer: ``TagConfig`` or the store's runtime-tag row."""

    @property
    def id(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> int | None: ...
    @property
    def expires(self) -> datetime | None: ...


def normalize_id_tag(id_tag: str) -> str:
    """The form every id is kept and compared in."""
    return id_tag.strip().upper()


def merge_tags(static: Iterable[TagLike], overrides: Mapping[str, TagLike]) -> dict[str, TagLike]:
    """Static tags by normalised id, with runtime overrides taking precedence."""
    book: dict[str, TagLike] = {normalize_id_tag(t.id): t for t in static}
    for key, tag in overrides.items():
        book[normalize_id_tag(key)] = tag
    return book


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """The answer for one idTag plus what the session bookkeeping takes from the tag."""

    id_tag: str
    status: str
    reason: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None
    user_name: str = ""
    priority: int | None = None
    known: bool = False
    register: TagConfig | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def id_tag_info(self) -> dict[str, Any]:
        """The OCPP ``idTagInfo`` object (camelCase, ``expiryDate`` as RFC 3339 UTC with ``Z``)."""
        info: dict[str, Any] = {"status": self.status}
        if self.expiry_date is not None and self.status in (ACCEPTED, EXPIRED):
            info["expiryDate"] = format_time(self.expiry_date)
        if self.parent_id_tag and self.status == ACCEPTED:
            info["parentIdTag"] = self.parent_id_tag
        return info


def format_time(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, the form flows.md §2.3 uses on the wire."""
    utc = _aware(moment).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [_aware(m) for m in moments if m is not None]
    return min(present) if present else None


def authorize(
    id_tag: str,
    tags: Mapping[str, TagLike],
    *,
    now: datetime,
    in_use_elsewhere: Collection[str] = (),
    csms: CsmsConfig = DEFAULT_CSMS,
) -> AuthDecision:
    """Decide Authorize (and the idTagInfo of Start/StopTransaction) for ``id_tag`` at ``now``.

    ``tags`` comes from ``merge_tags``. ``in_use_elsewhere`` holds the ids of live transactions on other
    connectors (any charger); for StartTransaction the caller leaves this connector out, for
    StopTransaction it passes nothing (the tag is in use by the very session being stopped).
    """
    key = normalize_id_tag(id_tag)
    if not key or len(key) > ID_TAG_MAX_LEN:
        return AuthDecision(key, INVALID, f"idTag must be 1–{ID_TAG_MAX_LEN} characters")
    busy = not csms.allow_concurrent_tag and key in {normalize_id_tag(t) for t in in_use_elsewhere}
    tag = tags.get(key)
    if tag is None:
        return _unknown(key, now, busy, csms.unknown_tags)
    parent_key = normalize_id_tag(tag.parent) if tag.parent else None
    parent = tags.get(parent_key) if parent_key else None
    base = AuthDecision(
        key,
        ACCEPTED,
        "known tag",
        expiry_date=_earliest(tag.expires, parent.expires if parent else None),
        parent_id_tag=parent_key,
        user_name=tag.user,
        priority=tag.priority if tag.priority is not None else (parent.priority if parent else None),
        known=True,
    )
    if tag.status != "Activated":
        return _with(base, BLOCKED, f"tag status {tag.status}")
    if parent is not None and parent.status != "Activated":
        return _with(base, BLOCKED, f"parent tag {parent_key} is {parent.status}")
    if base.expiry_date is not None and base.expiry_date <= _aware(now):
        return _with(base, EXPIRED, f"expired {format_time(base.expiry_date)}")
    if busy:
        return _with(base, CONCURRENT_TX, "tag already in a transaction on another connector")
    return base


def _with(base: AuthDecision, status: str, reason: str) -> AuthDecision:
    return replace(base, status=status, reason=reason)


def _unknown(key: str, now: datetime, busy: bool, policy: str) -> AuthDecision:
    if policy not in UNKNOWN_TAG_POLICIES:
        raise ValueError(f"csms.unknown_tags = {policy!r}: use one of {', '.join(UNKNOWN_TAG_POLICIES)}")
    if policy == "reject":
        return AuthDecision(key, INVALID, "unknown tag")
    if busy:
        return AuthDecision(key, CONCURRENT_TX, "unknown tag already in a transaction on another connector")
    if policy == "accept":
        return AuthDecision(key, ACCEPTED, "unknown tag accepted (csms.unknown_tags = accept)")
    registered = TagConfig(id=key, status="Activated", description=f"auto-registered {format_time(now)}")
    return AuthDecision(key, ACCEPTED, "unknown tag registered", register=registered)
