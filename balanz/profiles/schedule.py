"""Where one installed profile stands at an instant: valid or not, which period, and when that can change.

Readings of the 1.6 text (edition 2 + errata v4.0) used here:
- validFrom absent = valid from installation (ocpp-1.6-edition2.txt:4588-4590); validTo is exclusive.
- A schedule is "running" from its origin until `duration` (none = for ever, :4711-4713). Outside that span
  the profile yields nothing, so the caller falls back to a lower stack level (:3179-3185, errata 3.43) —
  the same for Absolute, Relative and Recurring.
- Origins: Absolute = startSchedule (:4618); Relative = a start point the charger picks (:4624), given by the
  caller; Recurring = the last restart of startSchedule's time of day (Daily) or time of week (Weekly) at or
  before the instant (errata 3.78), none before startSchedule itself. A Recurring cycle never runs past its
  24 h / 7 d length (:3168-3170, errata 3.44).
- Absolute/Recurring without startSchedule (left undefined by 1.6, see smart-charging-digest §4): when the
  store accepted it, the installation time is the origin.
- The period in force is the last one whose startPeriod is at or before the offset (:4746-4748).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from balanz.profiles.model import ChargingProfile, Kind, Recurrency, SchedulePeriod

logger = logging.getLogger(__name__)

CYCLE = {Recurrency.DAILY: timedelta(days=1), Recurrency.WEEKLY: timedelta(days=7)}


@dataclass(frozen=True)
class InstalledProfile:
    """A profile as a charger holds it: where it was set, when, and (TxProfile) for which transaction."""

    connector_id: int
    profile: ChargingProfile
    installed_at: datetime
    transaction_id: int | None = None


def is_valid(entry: InstalledProfile, at: datetime) -> bool:
    start = entry.profile.valid_from or entry.installed_at
    end = entry.profile.valid_to
    return start <= at and (end is None or at < end)


def _origin_and_span(
    entry: InstalledProfile, at: datetime, relative_start: datetime
) -> tuple[datetime, float | None] | None:
    """The origin of the cycle containing `at` and how many seconds the schedule runs from it."""
    schedule = entry.profile.schedule
    kind = entry.profile.kind
    if kind is Kind.RELATIVE:
        return relative_start, schedule.duration
    base = schedule.start_schedule or entry.installed_at
    if kind is Kind.ABSOLUTE:
        return base, schedule.duration
    cycle = CYCLE[entry.profile.recurrency or Recurrency.DAILY]
    if at < base:
        return None
    cycles = (at - base) // cycle
    span = (
        cycle.total_seconds() if schedule.duration is None else min(schedule.duration, cycle.total_seconds())
    )
    return base + cycles * cycle, span


def period_at(entry: InstalledProfile, at: datetime, relative_start: datetime) -> SchedulePeriod | None:
    """The period in force at `at`, or None when the profile is not valid or its schedule is not running."""
    if not is_valid(entry, at):
        return None
    resolved = _origin_and_span(entry, at, relative_start)
    if resolved is None:
        return None
    origin, span = resolved
    offset = (at - origin).total_seconds()
    if offset < 0 or (span is not None and offset >= span):
        return None
    current = None
    for period in entry.profile.schedule.periods:
        if period.start_period <= offset:
            current = period
        else:
            break
    return current


def change_points(
    entry: InstalledProfile, relative_start: datetime | None, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Every instant in (after, until] at which `period_at` may give a different answer.

    `relative_start` None means the caller re-anchors Relative schedules at each instant it asks about,
    so only the validity bounds of a Relative profile matter then.
    """
    bounds = [entry.profile.valid_from or entry.installed_at, entry.profile.valid_to]
    yield from (b for b in bounds if b is not None and after < b <= until)
    schedule = entry.profile.schedule
    starts = [p.start_period for p in schedule.periods]
    if entry.profile.kind is Kind.RECURRING:
        base = schedule.start_schedule or entry.installed_at
        cycle = CYCLE[entry.profile.recurrency or Recurrency.DAILY]
        seconds = cycle.total_seconds()
        span = seconds if schedule.duration is None else min(schedule.duration, seconds)
        k = max(0, math.floor((after - base) / cycle))
        origins: Iterator[datetime] = (
            base + i * cycle for i in range(k, k + 1 + math.ceil((until - after) / cycle))
        )
        offsets = [s for s in starts if s < span] + [span]
    else:
        if entry.profile.kind is Kind.RELATIVE:
            if relative_start is None:
                return
            origin = relative_start
        else:
            origin = schedule.start_schedule or entry.installed_at
        origins = iter([origin])
        offsets = starts + ([schedule.duration] if schedule.duration is not None else [])
    for origin in origins:
        for offset in offsets:
            point = origin + timedelta(seconds=offset)
            if after < point <= until:
                yield point
