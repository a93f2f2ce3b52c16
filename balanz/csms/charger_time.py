"""Charger timestamps on balanz's timeline (flows.md §2.7, §2.8 rule 9, §2.9).

A charger whose clock is far off (a year ahead after a bad RTC battery, twenty minutes behind without NTP)
stamps StartTransaction, MeterValues and StopTransaction in its own time. If only some of those were
corrected, a session would start in 2027 and get readings in 2026, and the bookkeeping that keeps readings
in time order would drop every register after the start — energy 0. So every timestamp of a message is
moved by the same ``shift``, chosen once per message from its newest timestamp:

- within ``tolerance_s`` of the receive time: believed, shift 0;
- the charger is replaying its offline queue (``backlog``) and the newest timestamp is in the past: the old
  timestamps are genuine, so they are kept — corrected by the charger's clock offset as measured from its
  live messages (``known_offset``) when that offset is itself beyond the tolerance, so a slow charger's
  queued stop does not land before its start;
- otherwise the newest timestamp becomes the receive time (rule 9) and older ones of the same message keep
  their spacing before it (an offline batch stays in order).

A message's shift is applied to all its instants, never recomputed per element: spacing inside a message is
the one thing a wrong clock still gets right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Retiming:
    """What the shift of one message depends on besides its own timestamps."""

    tolerance_s: float = 300.0
    backlog: bool = False
    known_offset: timedelta | None = None

    def shift(self, newest: datetime | None, received_at: datetime) -> timedelta:
        """The amount to add to every timestamp of a message whose newest timestamp is ``newest``."""
        if newest is None:
            return timedelta(0)
        tolerance = timedelta(seconds=self.tolerance_s)
        error = newest - received_at
        if abs(error) <= tolerance:
            return timedelta(0)
        if self.backlog and self.known_offset is not None and abs(self.known_offset) > tolerance:
            corrected = newest - self.known_offset
            if corrected <= received_at + tolerance:
                return -self.known_offset
        if self.backlog and error < timedelta(0):
            return timedelta(0)
        return -error
