"""What operators asked for that only the allocator can carry out, and how the allocator hears of it.

Every intent lives in the store, so a restart applies it again (``charging.control_hooks.stored_intents``);
``OperatorIntents`` is the control server's copy of the suspended connectors and group limits, reread after
each command. The allocator shell implements ``AllocatorHooks`` and sets ``ControlServer.allocator``; until
it does, a command records the intent and its reply says that smart charging applies it when it runs, so
the operator is never told of an effect that did not happen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GroupLimit:
    limit_a: float
    until: datetime
    set_by: str = ""


@dataclass
class OperatorIntents:
    """Suspended connectors (charger, connector) and group limit overrides, as the store holds them."""

    suspended_connectors: dict[tuple[str, int], datetime] = field(default_factory=dict)
    group_limits: dict[str, GroupLimit] = field(default_factory=dict)

    def expire(self, now: datetime) -> list[str]:
        """Drop group limits whose time is up; returns the groups that lost theirs."""
        gone = [g for g, limit in self.group_limits.items() if limit.until <= now]
        for group in gone:
            del self.group_limits[group]
        return gone


class AllocatorHooks(Protocol):
    """The smart-charging shell's side of the operator commands. Each returns a short note for the reply
    (what it did, e.g. "offer withdrawn") and raises ``ValueError`` with a reason to refuse."""

    def priority_changed(self, charger_id: str, connector_id: int, priority: int | None) -> str: ...

    def group_suspended(self, group_id: str, suspended: bool) -> str: ...

    def connector_suspended(self, charger_id: str, connector_id: int, suspended: bool) -> str: ...

    def group_limit_changed(self, group_id: str, limit: GroupLimit | None) -> str: ...

    def external_limit(self, group_id: str, headroom_a: float, valid_s: float) -> str:
        """An outside controller's limit for ``group_id`` until ``valid_s`` from now; ``ValueError`` when
        the group takes none (no ``external_fallback_a``)."""
        ...

    async def profiles(self, charger_id: str, action: str) -> str:
        """``action``: ``reassert``, ``release`` or ``release-offline`` (profiles.md §5.2, R27)."""
        ...
