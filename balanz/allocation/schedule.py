"""The ``max_allocation`` schedule of a group: grammar, validation and evaluation (model.md §1.4).

A schedule is checked completely when it is loaded, so that evaluation can never fail: every instant of
the week is covered by exactly one slot (overlaps and gaps are errors, a ``*`` default slot fills the
rest). The reference parsed its string at every use and froze a group on a typo; here a bad schedule is
refused at load with every problem listed at once.

Representation: the week is 7 × 1440 wall-clock minutes, Monday 00:00 = minute 0. Each slot covers a set
of those minutes (a Python int used as a bit set while validating); ``Schedule`` keeps a table minute →
slot. Slots follow the wall clock of the site's zone, so daylight saving needs no special data: the
skipped spring hour never occurs and the repeated autumn hour maps to the same minutes twice.

Evaluation API (all instants timezone-aware; ``tz`` is the site's ``ZoneInfo``):

- ``schedule.slot_at(instant, tz)`` — the slot in force at that instant.
- ``schedule.next_boundary(after, tz)`` — the first instant strictly after ``after`` at which a different
  slot comes into force, or None when one slot covers the whole week. DST transitions that move the wall
  clock into another slot are boundaries too (a slot starting inside the skipped hour starts at the jump).
- ``schedule.slots_during(start, end, tz)`` — every slot in force at some instant of ``[start, end]``; the
  allocator uses it for the look-ahead window of R5.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

logger = logging.getLogger(__name__)

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_THRESHOLD = 1000
MAX_AMPS = 10000
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_TIME = re.compile(r"(\d\d):(\d\d)")
_NUMBER = re.compile(r"\d+")
_DAY_MASK = (1 << MINUTES_PER_DAY) - 1


class ScheduleError(ValueError):
    """A schedule that cannot be used; ``problems`` lists every problem found, each a readable phrase."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot: when it applies and its quotas ``((threshold, amperes), ...)`` sorted by threshold.

    ``days`` are weekday numbers (0 = Monday); an every-day slot lists all seven, the default slot none.
    ``span`` is ``(first_minute, last_minute)`` of the day, end minute inclusive, or None for the default
    slot. ``limit`` is the amperes of the highest threshold: the group's physical cap in this slot.
    """

    index: int
    text: str
    days: tuple[int, ...]
    span: tuple[int, int] | None
    quotas: tuple[tuple[int, int], ...]

    @property
    def limit(self) -> int:
        return self.quotas[-1][1]

    @property
    def is_default(self) -> bool:
        return self.span is None

    def band(self, priority: int) -> int | None:
        """Index of the highest threshold ≤ ``priority``; None below the lowest threshold (gets nothing)."""
        found = None
        for i, (threshold, _amps) in enumerate(self.quotas):
            if threshold <= priority:
                found = i
            else:
                break
        return found


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule: ``week[m]`` is the index into ``slots`` of the slot at week minute ``m``."""

    slots: tuple[Slot, ...]
    week: bytes = field(repr=False)
    changes: tuple[int, ...] = field(repr=False)

    @property
    def min_limit(self) -> int:
        return min(slot.limit for slot in self.slots)

    @property
    def max_limit(self) -> int:
        return max(slot.limit for slot in self.slots)

    @property
    def lowest_threshold_max(self) -> int:
        """The highest "lowest threshold" of any slot: priorities below it get nothing in some slot."""
        return max(slot.quotas[0][0] for slot in self.slots)

    def slot_at(self, instant: datetime, tz: tzinfo) -> Slot:
        local = _local(instant, tz)
        return self.slots[self.week[local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute]]

    def next_boundary(self, after: datetime, tz: tzinfo) -> datetime | None:
        if not self.changes:
            return None
        local = _local(after, tz)
        transitions = _offset_transitions(after, after + timedelta(days=8), tz)
        if not transitions:
            return self._next_change_fixed_offset(after, local)
        current = self.slot_at(after, tz).index
        monday = (local - timedelta(days=local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0, tzinfo=None
        )
        naive_now = local.replace(tzinfo=None)
        candidates: set[datetime] = set(transitions)
        for week in (-1, 0, 1):
            for minute in self.changes:
                wall = monday + timedelta(minutes=minute + week * MINUTES_PER_WEEK)
                if wall < naive_now - timedelta(days=1):
                    continue
                for fold in (0, 1):
                    candidates.add(wall.replace(tzinfo=tz, fold=fold).astimezone(after.tzinfo))
        for candidate in sorted(c for c in candidates if c > after):
            if self.slot_at(candidate, tz).index != current:
                return candidate
        return None

    def _next_change_fixed_offset(self, after: datetime, local: datetime) -> datetime:
        """The common case: no UTC offset change ahead, so wall-clock order is instant order."""
        minute_of_week = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        position = bisect.bisect_right(self.changes, minute_of_week)
        if position < len(self.changes):
            delta = self.changes[position] - minute_of_week
        else:
            delta = self.changes[0] + MINUTES_PER_WEEK - minute_of_week
        # On the instant, not on the wall clock: wall-clock arithmetic drops ``fold``, which turned 02:00 of
        # the repeated autumn hour (just after the switch) into the first 02:00, an hour in the past.
        start_of_minute = after - timedelta(seconds=local.second, microseconds=local.microsecond)
        return (start_of_minute.astimezone(UTC) + timedelta(minutes=delta)).astimezone(after.tzinfo)

    def slots_during(self, start: datetime, end: datetime, tz: tzinfo) -> tuple[Slot, ...]:
        found = [self.slot_at(start, tz)]
        boundary = self.next_boundary(start, tz)
        while boundary is not None and boundary <= end:
            slot = self.slot_at(boundary, tz)
            if slot not in found:
                found.append(slot)
            boundary = self.next_boundary(boundary, tz)
        return tuple(found)


def _local(instant: datetime, tz: tzinfo) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"schedule evaluation needs a timezone-aware instant, got {instant!r}")
    return instant.astimezone(tz)


def _offset_transitions(start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """Instants in ``(start, end]`` (at most 8 days) where the zone's UTC offset changes."""
    first_day = math.floor(start.timestamp() / 86400)
    found = _transitions_from_day(tz, first_day)
    return [
        datetime.fromtimestamp(ts, start.tzinfo) for ts in found if start.timestamp() < ts <= end.timestamp()
    ]


@functools.lru_cache(maxsize=256)
def _transitions_from_day(tz: tzinfo, day: int) -> tuple[int, ...]:
    """Offset changes during the 9 days from UTC day ``day``, as whole-second timestamps.

    Sampled every 6 hours and bisected on whole seconds: zones do not change their offset twice within
    6 hours, and every zone in use changes on a whole second. Cached per day: every plan asks again.
    """
    found = []
    lo = day * 86400
    end = lo + 9 * 86400
    while lo < end:
        hi = lo + 6 * 3600
        if datetime.fromtimestamp(lo, tz).utcoffset() != datetime.fromtimestamp(hi, tz).utcoffset():
            a, b = lo, hi
            offset_a = datetime.fromtimestamp(a, tz).utcoffset()
            while b - a > 1:
                mid = (a + b) // 2
                if datetime.fromtimestamp(mid, tz).utcoffset() == offset_a:
                    a = mid
                else:
                    b = mid
            found.append(b)
        lo = hi
    return tuple(found)


# ---------------------------------------------------------------------------------------------------------
# Parsing and validation


@dataclass(frozen=True, slots=True)
class _Parsed:
    slot: Slot
    minutes: int  # bit set of week minutes, 0 for the default slot


def parse_schedule(text: str) -> Schedule:
    """Parse and validate a ``max_allocation`` string; raises ScheduleError listing every problem."""
    stripped = text.strip()
    if not stripped:
        raise ScheduleError(['the schedule is empty (write e.g. "48" or "*>0=48")'])
    if _NUMBER.fullmatch(stripped):
        stripped = f"*>0={stripped}"
    pieces = [piece.strip() for piece in stripped.split(";")]
    if pieces[-1] == "" and len(pieces) > 1:
        pieces.pop()
    problems: list[str] = []
    parsed: list[_Parsed] = []
    for number, piece in enumerate(pieces, start=1):
        if not piece:
            problems.append(f'slot {number} is empty (two ";" in a row)')
            continue
        head, sep, quota_text = piece.partition(">")
        if not sep:
            problems.append(f'slot {number} "{piece}" has no ">" between its time and its quotas')
            continue
        head = head.strip()
        days_text, _space, span_text = head.rpartition(" ") if " " in head else ("", "", head)
        result = _build_slot(number, piece, span_text.strip(), days_text.strip(), quota_text, problems)
        if result is not None:
            parsed.append(result)
    return _finish(parsed, problems)


def schedule_from_slots(slots: Sequence[tuple[str, str, Mapping[int, int]]]) -> Schedule:
    """Build a schedule from ``[[group.slot]]`` tables: ``(time, days, quotas)``; days "" = every day."""
    if not slots:
        raise ScheduleError(["no slots given"])
    problems: list[str] = []
    parsed: list[_Parsed] = []
    for number, (time_text, days_text, quotas) in enumerate(slots, start=1):
        quota_text = ":".join(f"{k}={v}" for k, v in quotas.items())
        head = f"{days_text.strip()} {time_text.strip()}".strip()
        text = f"{head}>{quota_text}"
        result = _build_slot(number, text, time_text.strip(), days_text.strip(), quotas, problems)
        if result is not None:
            parsed.append(result)
    return _finish(parsed, problems)


def _build_slot(
    number: int,
    text: str,
    span_text: str,
    days_text: str,
    quotas_in: str | Mapping[int, int],
    problems: list[str],
) -> _Parsed | None:
    where = f'slot {number} "{text}"'
    before = len(problems)
    span = _parse_span(span_text, where, problems)
    days = _parse_days(days_text, where, problems) if days_text else tuple(range(7))
    if span == "default" and days_text:
        problems.append(f'{where}: the default slot "*" takes no days')
    if isinstance(quotas_in, str):
        quotas = _parse_quotas(quotas_in, where, problems)
    else:
        quotas = _check_quota_pairs(
            [
                (_as_int(k, "threshold", where, problems), _as_int(v, "amperes", where, problems))
                for k, v in quotas_in.items()
            ],
            where,
            problems,
        )
    if len(problems) > before or span is None or days is None or quotas is None:
        return None
    if span == "default":
        return _Parsed(Slot(number, text, (), None, quotas), 0)
    assert isinstance(span, tuple)
    slot = Slot(number, text, days, span, quotas)
    return _Parsed(slot, _slot_minutes(days, span))


def _as_int(value: object, what: str, where: str, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(f"{where}: {what} {value!r} is not a whole number")
        return -1
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value.strip()):
            problems.append(f"{where}: {what} {value!r} is not a whole number")
            return -1
        return int(value.strip())
    return value


def _parse_span(text: str, where: str, problems: list[str]) -> tuple[int, int] | str | None:
    if text == "*":
        return "default"
    start_text, sep, end_text = text.partition("-")
    if not sep:
        problems.append(f'{where}: "{text}" is not a time span (write hh:mm-hh:mm or "*")')
        return None
    start = _parse_time(start_text, where, problems)
    end = _parse_time(end_text, where, problems)
    if start is None or end is None:
        return None
    return (start, end)


def _parse_time(text: str, where: str, problems: list[str]) -> int | None:
    match = _TIME.fullmatch(text)
    if match is None:
        problems.append(f'{where}: "{text}" is not a time (write hh:mm with two digits each, e.g. 06:00)')
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        problems.append(f"{where}: time {text} is not a time of day (00:00 to 23:59)")
        return None
    return hour * 60 + minute


def _parse_days(text: str, where: str, problems: list[str]) -> tuple[int, ...] | None:
    days: set[int] = set()
    for part in text.split(","):
        first_text, sep, last_text = part.strip().partition("-")
        first = _DAY_INDEX.get(first_text.strip().lower())
        last = _DAY_INDEX.get(last_text.strip().lower()) if sep else first
        if first is None or last is None:
            problems.append(
                f'{where}: "{part.strip()}" is not a day or day range (Mon, Tue, … Sun, e.g. Mon-Fri)'
            )
            return None
        day = first
        days.add(day)
        while day != last:
            day = (day + 1) % 7
            days.add(day)
    return tuple(sorted(days))


def _parse_quotas(text: str, where: str, problems: list[str]) -> tuple[tuple[int, int], ...] | None:
    pairs = []
    ok = True
    for part in text.split(":"):
        threshold_text, sep, amps_text = part.partition("=")
        threshold_text, amps_text = threshold_text.strip(), amps_text.strip()
        if not sep:
            problems.append(f'{where}: quota "{part.strip()}" is not threshold=amperes (e.g. 0=16)')
            ok = False
            continue
        if not _NUMBER.fullmatch(threshold_text):
            problems.append(f'{where}: priority threshold "{threshold_text}" is not a whole number ≥ 0')
            ok = False
        if not _NUMBER.fullmatch(amps_text):
            problems.append(f'{where}: "{amps_text}" is not a whole number of amperes')
            ok = False
        if ok:
            pairs.append((int(threshold_text), int(amps_text)))
    if not ok:
        return None
    return _check_quota_pairs(pairs, where, problems)


def _check_quota_pairs(
    pairs: list[tuple[int, int]], where: str, problems: list[str]
) -> tuple[tuple[int, int], ...] | None:
    before = len(problems)
    if not pairs:
        problems.append(f"{where}: no quotas (write e.g. 0=16)")
        return None
    for threshold, amps in pairs:
        if threshold < 0 or threshold > MAX_THRESHOLD:
            problems.append(f"{where}: priority threshold {threshold} is outside 0–{MAX_THRESHOLD}")
        if amps < 0 or amps > MAX_AMPS:
            problems.append(f"{where}: {amps} A is outside 0–{MAX_AMPS} A")
    thresholds = [t for t, _ in pairs]
    duplicates = sorted({t for t in thresholds if thresholds.count(t) > 1})
    if duplicates:
        problems.append(f"{where}: priority threshold {duplicates[0]} is given twice")
    ordered = tuple(sorted(pairs))
    for (t1, a1), (t2, a2) in itertools.pairwise(ordered):
        if t1 != t2 and a2 < a1:
            problems.append(
                f"{where}: a higher priority cannot have a smaller quota ({t2}={a2} is below {t1}={a1})"
            )
            break
    return ordered if len(problems) == before else None


def _ranges(days: tuple[int, ...], span: tuple[int, int]) -> list[tuple[int, int]]:
    """Week-minute ranges ``[first, last)`` a slot covers (a wrapping slot spills into the next day)."""
    start, end = span
    ranges = []
    for day in days:
        base = day * MINUTES_PER_DAY
        if start <= end:
            ranges.append((base + start, base + end + 1))
        else:
            ranges.append((base + start, base + MINUTES_PER_DAY))
            next_base = ((day + 1) % 7) * MINUTES_PER_DAY
            ranges.append((next_base, next_base + end + 1))
    return ranges


def _week_ranges(slot: Slot) -> list[tuple[int, int]]:
    assert slot.span is not None
    return _ranges(slot.days, slot.span)


def _slot_minutes(days: tuple[int, ...], span: tuple[int, int]) -> int:
    bits = 0
    for first, last in _ranges(days, span):
        bits |= ((1 << (last - first)) - 1) << first
    return bits


def _finish(parsed: list[_Parsed], problems: list[str]) -> Schedule:
    if problems:
        raise ScheduleError(problems)
    defaults = [p for p in parsed if p.slot.is_default]
    if len(defaults) > 1:
        problems.append(
            f'slot {defaults[0].slot.index} "{defaults[0].slot.text}" and slot {defaults[1].slot.index} '
            f'"{defaults[1].slot.text}" are both default slots "*" (at most one is allowed)'
        )
    timed = [p for p in parsed if not p.slot.is_default]
    for i, a in enumerate(timed):
        for b in timed[i + 1 :]:
            common = a.minutes & b.minutes
            if common:
                problems.append(
                    f'slot {a.slot.index} "{a.slot.text}" and slot {b.slot.index} "{b.slot.text}" '
                    f"overlap on {describe_minutes(common)}"
                )
    covered = 0
    for p in timed:
        covered |= p.minutes
    everything = (1 << MINUTES_PER_WEEK) - 1
    if not defaults and covered != everything:
        problems.append(f'not covered: {describe_minutes(everything & ~covered)} (add a default slot "*>…")')
    if problems:
        raise ScheduleError(problems)
    fill = defaults[0].slot.index - 1 if defaults else 0
    week = bytearray([fill]) * MINUTES_PER_WEEK
    for p in timed:
        for first, last in _week_ranges(p.slot):
            week[first:last] = bytes([p.slot.index - 1]) * (last - first)
    edges = {0}
    for p in timed:
        for first, last in _week_ranges(p.slot):
            edges.update((first, last % MINUTES_PER_WEEK))
    changes = tuple(sorted(m for m in edges if week[m] != week[m - 1]))
    return Schedule(tuple(p.slot for p in parsed), bytes(week), changes)


def describe_minutes(bits: int) -> str:
    """Describe a set of week minutes as "16:30–16:59 every day" or "Sat–Sun 00:00–23:59, …"."""
    by_span: dict[tuple[int, int], list[int]] = {}
    for day in range(7):
        day_bits = (bits >> (day * MINUTES_PER_DAY)) & _DAY_MASK
        minute = 0
        while day_bits >> minute:
            if day_bits >> minute & 1:
                start = minute
                while minute < MINUTES_PER_DAY and day_bits >> minute & 1:
                    minute += 1
                by_span.setdefault((start, minute - 1), []).append(day)
            else:
                minute += 1
    parts = []
    for (start, end), days in sorted(by_span.items(), key=lambda item: (item[1][0], item[0])):
        span = f"{_hhmm(start)}–{_hhmm(end)}"
        parts.append(f"{span} every day" if len(days) == 7 else f"{_describe_days(days)} {span}")
    return ", ".join(parts)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe_days(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    texts = []
    for run in runs:
        if len(run) == 1:
            texts.append(DAY_NAMES[run[0]])
        elif len(run) == 2:
            texts.append(f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[1]]}")
        else:
            texts.append(f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}")
    return ", ".join(texts)
