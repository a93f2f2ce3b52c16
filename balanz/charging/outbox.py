"""One charger's queue of offers not yet on the wire (R16, R18), without I/O.

OCPP-J allows one outstanding CALL per connection, so while a charger answers slowly its next offers wait
here. Only the newest target of a connector is worth sending: a newer one replaces a queued one (the
replaced value never reached the charger, so the caller withdraws it from the exposures). Reductions
leave before increases, because a reduction is what keeps the group within its limit while an increase
only uses room the plan already counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from balanz.allocation.model import Key
from balanz.allocation.planner import Change


@dataclass(frozen=True, slots=True)
class Queued:
    change: Change
    reduction: bool
    retry: bool = False
    """A re-send of an unanswered offer (R19), not a change of the plan."""


@dataclass
class Outbox:
    """Insertion order within each kind is the plan's order (R18: increases in the order of R15)."""

    _queued: dict[Key, Queued] = field(default_factory=dict)

    def put(self, change: Change, reduction: bool, retry: bool = False) -> Change | None:
        """Queue ``change``; return the unsent change it replaced, if any. The replacement keeps the
        replaced change's ``previous``: that is what the charger holds, the replaced value never left."""
        old = self._queued.pop(change.key, None)
        if old is not None:
            change = replace(change, previous=old.change.previous)
        self._queued[change.key] = Queued(change, reduction, retry)
        return old.change if old is not None else None

    def take(self) -> Queued | None:
        """The next offer to send: the oldest reduction, else the oldest increase."""
        chosen = next((q for q in self._queued.values() if q.reduction), None)
        if chosen is None:
            chosen = next(iter(self._queued.values()), None)
        if chosen is not None:
            del self._queued[chosen.change.key]
        return chosen

    def drain(self) -> list[Change]:
        """Everything still queued, removed (the charger went away: none of it was sent)."""
        changes = [q.change for q in self._queued.values()]
        self._queued.clear()
        return changes

    def __len__(self) -> int:
        return len(self._queued)
