"""Times as a scenario writes them, and their resolution to instants.

A scenario is read by people planning a site's day, so it speaks their language: an offset from the start
("90m", "2h30m"), a time on the site's wall clock ("07:30"), or an exact RFC 3339 instant. Wall-clock times
follow the site's zone, so a scenario that runs across a daylight-saving change keeps cars arriving when
the clock on the car-park wall says so. The rules match the group schedules (allocation/schedule.py): a
wall time inside the skipped spring hour happens at the jump, a repeated autumn time at its first
occurrence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
_WALL = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")

DURATION_HELP = 'a duration with units d, h, m, s in that order, e.g. "45s", "90m", "2h30m", "1d"'
TIME_HELP = (
    'an offset from the start ("0s", "90m", "2h30m"), a wall-clock time ("07:30") or an RFC 3339 '
    "date-time with a zone offset"
)


def parse_duration(text: str) -> timedelta | None:
    """``"2h30m"`` → 2½ hours; None when ``text`` is not a duration (an empty string is not one)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True, slots=True)
class Offset:
    """A time after the anchor (the simulation start, or the car's arrival for times inside an arrival)."""

    after: timedelta


@dataclass(frozen=True, slots=True)
class WallClock:
    """The first moment at or after the anchor at which the site's clock shows this time."""

    at: time


@dataclass(frozen=True, slots=True)
class Instant:
    at: datetime


TimeSpec = Offset | WallClock | Instant


def parse_time(value: str | datetime | time) -> TimeSpec | None:
    """One of the three spellings, or None when ``value`` is none of them (or an instant without offset).

    TOML's own date-time and local-time values are accepted too (``at = 07:30:00`` unquoted).
    """
    if isinstance(value, datetime):
        return Instant(value) if value.tzinfo is not None else None
    if isinstance(value, time):
        return WallClock(value) if value.tzinfo is None else None
    text = value.strip()
    wall = _WALL.fullmatch(text)
    if wall is not None:
        hour, minute, second = (int(g) if g else 0 for g in wall.groups())
        return WallClock(time(hour, minute, second))
    duration = parse_duration(text)
    if duration is not None:
        return Offset(duration)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return Instant(instant) if instant.tzinfo is not None else None


def resolve(spec: TimeSpec, anchor: datetime, zone: tzinfo) -> datetime:
    """The instant ``spec`` names, given the anchor it counts from and the site's zone (result in UTC)."""
    if isinstance(spec, Offset):
        return (anchor + spec.after).astimezone(UTC)
    if isinstance(spec, Instant):
        return spec.at.astimezone(UTC)
    day = anchor.astimezone(zone).date()
    for shift in range(3):
        candidate = wall_instant(day + timedelta(days=shift), spec.at, zone)
        if candidate >= anchor:
            return candidate
    raise AssertionError(f"no {spec.at} within two days after {anchor}")  # a day always has every time


def wall_instant(day: date, clock: time, zone: tzinfo) -> datetime:
    """The UTC instant the site's clock shows ``clock`` on ``day``; a skipped time gives the jump instant."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a spring gap fold=0 reads the time with the old offset (an instant after the jump) and fold=1 with
    # the new one (before the jump); the jump is the first second between them that has the new offset.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    after_offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    jump = high.replace(microsecond=0)
    logger.debug("%s %s does not exist in %s: the clock jumps at %s", day, clock, zone, jump)
    return jump
