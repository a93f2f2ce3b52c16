"""R15: hand out current by priority level, minimum pass then round robin of single amperes.

Claims are ``(−priority, order, key, want, counters)`` tuples, sorted: a level is a run of equal
priorities. The minimum pass remembers the counter tuples that failed its check: rooms only shrink within
a pass, so every later claim drawing on the same counters fails too (connectors of one group, priority and
phase share one tuple), which makes a congested level cost a set lookup per claim.

The round robin is computed in bulk: while every growing connector can take ``t`` more amperes in every
counter it draws on (each counter's room divided by the number of growing connectors on it), ``t`` whole
rounds are granted at once — exactly what ``t`` single rounds would give, since none of their checks can
fail. Then one single round is played, in order, and every connector that fails a check leaves: rooms
only shrink within a level, so a check that fails once fails for the rest of the level. Each bulk step
ends with at least one connector leaving, so a level costs a few passes instead of one per ampere.

A connector that holds current whatever it is offered (``held``: its charger's floor, profiles.md §5.4,
or what it was seen taking above its limit) has that taken from the room before the first level by the
caller. If it holds at least the minimum, its claim gets the minimum at no further cost and grows from
``min(want, held)``: that current is there anyway, and only amperes above it cost room. (The caller
raises a smaller held amount to the minimum for a claim that wants the minimum.)
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from balanz.allocation.model import Key

logger = logging.getLogger(__name__)

ClaimEntry = tuple[int, tuple[object, ...], Key, int, tuple[int, ...]]
"""(−priority, order, key, want, counters): sorting these is R15's order (``order`` ends with the key)."""


@dataclass(frozen=True, slots=True)
class Level:
    """One level's hand-out: the room before it, the room after its minimum pass, and who got the
    minimum (in order) — what playing it again can start from."""

    before: dict[int, int]
    after_minimum: dict[int, int]
    granted: tuple[ClaimEntry, ...]
    room_after: dict[int, int]


@dataclass(frozen=True, slots=True)
class Handout:
    """A tree's hand-out: ``grants``, each level (by −priority) and the room left after the last one."""

    grants: dict[Key, int]
    levels: dict[int, Level]
    room: dict[int, int]


Change = tuple[ClaimEntry | None, ClaimEntry | None]
"""One connector's claim before and after (None: no claim)."""


def hand_out(
    claims: Sequence[ClaimEntry], room: dict[int, int], minimum: int, held: Mapping[Key, int]
) -> Handout:
    """The grant of every claim (``claims`` sorted), level by level, consuming ``room`` (held amounts already
    taken from it)."""
    grants: dict[Key, int] = {}
    levels: dict[int, Level] = {}
    for negative, start, end in _levels(claims):
        levels[negative] = _play(claims[start:end], room, minimum, grants, held)
    return Handout(grants, levels, room)


def hand_out_again(
    claims: Sequence[ClaimEntry],
    minimum: int,
    old: Handout,
    changes: Sequence[Change],
    held: Mapping[Key, int],
) -> tuple[Handout, set[Key]]:
    """The hand-out after ``changes`` to the claims (pinned exposures, held amounts and counters unchanged);
    also the keys whose grant differs from ``old``.

    Levels above the first changed one are kept (they are played first and see the same room). A changed
    level that starts with its old room is shortened when possible: if only wants changed (same order,
    counters and eligibility for the minimum) its minimum pass repeats itself and only the round robin is
    played; if nobody got the minimum before and no changed claim fits now, nobody gets anything again.
    Past the last changed level, a level that starts with its old room repeats itself with every level
    below it, so the old result is kept from there.
    """
    by_level: dict[int, list[Change]] = {}
    grants = dict(old.grants)
    for before, after in changes:
        if before is not None:
            if after is None:
                grants.pop(before[2], None)
            same = after if after is not None and after[0] == before[0] else None
            by_level.setdefault(before[0], []).append((before, same))
        if after is not None and (before is None or before[0] != after[0]):
            by_level.setdefault(after[0], []).append((None, after))
    first, last = min(by_level), max(by_level)
    start_room = next((lv.before for n, lv in sorted(old.levels.items()) if n >= first), old.room)
    room = dict(start_room)
    levels = {n: lv for n, lv in old.levels.items() if n < first}
    regranted: set[Key] = set()
    for negative, start, end in _levels(claims):
        if negative < first:
            continue
        old_level = old.levels.get(negative)
        if negative > last and old_level is not None and old_level.before == room:
            levels.update((n, lv) for n, lv in old.levels.items() if n >= negative)
            return Handout(grants, levels, old.room), regranted
        played: dict[Key, int] = {}
        changed = by_level.get(negative, [])
        levels[negative] = _play_again(
            claims[start:end], room, minimum, played, old_level, changed, old.grants, held
        )
        for key, grant in played.items():
            if grants.get(key) != grant:
                grants[key] = grant
                regranted.add(key)
    return Handout(grants, levels, room), regranted


def _play_again(
    level: Sequence[ClaimEntry],
    room: dict[int, int],
    minimum: int,
    grants: dict[Key, int],
    old: Level | None,
    changes: list[Change],
    granted_before: dict[Key, int],
    held: Mapping[Key, int],
) -> Level:
    if old is not None and old.before == room:
        want_only = all(
            a is not None
            and b is not None
            and a[1] == b[1]
            and a[4] == b[4]
            and (a[3] >= minimum) == (b[3] >= minimum)
            for a, b in changes
        )
        if want_only and all(
            _stays(a, b, granted_before.get(a[2], 0), minimum, old.after_minimum, held)  # type: ignore[arg-type]
            for a, b in changes
        ):
            for _a, b in changes:
                assert b is not None
                grants[b[2]] = granted_before.get(b[2], 0)
            room.clear()
            room.update(old.room_after)
            granted = _replaced(old.granted, changes)
            if granted is old.granted:
                return old
            return Level(old.before, old.after_minimum, granted, old.room_after)
        if want_only:
            granted = _replaced(old.granted, changes)
            room.clear()
            room.update(old.after_minimum)
            for _a, b in changes:
                assert b is not None
                grants[b[2]] = minimum if granted_before.get(b[2], 0) else 0
            _grow_from_minimum(granted, room, minimum, grants, held)
            return Level(old.before, old.after_minimum, granted, dict(room))
        get = room.__getitem__
        if not old.granted and all(
            b is None
            or b[3] < minimum
            or (b[2] not in held and min(map(get, b[4]), default=minimum) < minimum)
            for _a, b in changes
        ):
            for _a, b in changes:
                if b is not None:
                    grants[b[2]] = 0
            return old
    return _play(level, room, minimum, grants, held)


def _replaced(granted: tuple[ClaimEntry, ...], changes: list[Change]) -> tuple[ClaimEntry, ...]:
    """``granted`` with the changed claims (same order and counters, new want) in place of the old."""
    result: list[ClaimEntry] | None = None
    for a, b in changes:
        assert a is not None
        assert b is not None
        i = bisect.bisect_left(granted, a)
        if i < len(granted) and granted[i] == a:
            if result is None:
                result = list(granted)
            result[i] = b
    return granted if result is None else tuple(result)


def _stays(
    before: ClaimEntry,
    after: ClaimEntry,
    grant: int,
    minimum: int,
    after_minimum: dict[int, int],
    held: Mapping[Key, int],
) -> bool:
    """Whether a claim whose want alone changed keeps its grant and leaves every other grant alone.

    A claim-by-claim play looks at a want only when the claim reaches it. So nothing changes if the claim
    was stopped by room below its old want and still wants more than it got (a claim holding current was
    stopped above what it holds, so it starts from the same amount again); or if it got the minimum,
    wanted no more and now wants more, but one of its counters had no room left after the minimum pass —
    its first round-robin check fails before it takes anything (unless it holds more than the minimum: it
    then starts higher without a check).
    """
    if grant < before[3] and after[3] > grant:
        return True
    return (
        grant == minimum == before[3]
        and after[3] > minimum
        and held.get(after[2], 0) <= minimum
        and min(map(after_minimum.__getitem__, after[4]), default=1) < 1
    )


def _levels(claims: Sequence[ClaimEntry]) -> list[tuple[int, int, int]]:
    """(−priority, start, end) of each level of the sorted ``claims``."""
    found = []
    start, n = 0, len(claims)
    while start < n:
        negative = claims[start][0]
        end = bisect.bisect_left(claims, (negative + 1,), lo=start)
        found.append((negative, start, end))
        start = end
    return found


def _play(
    level: Sequence[ClaimEntry],
    room: dict[int, int],
    minimum: int,
    grants: dict[Key, int],
    held: Mapping[Key, int],
) -> Level:
    before = dict(room)
    granted = _minimum_pass(level, room, minimum, grants, held)
    after = dict(room)
    _grow_from_minimum(granted, room, minimum, grants, held)
    return Level(before, after, granted, dict(room))


def _grow_from_minimum(
    granted: Sequence[ClaimEntry],
    room: dict[int, int],
    minimum: int,
    grants: dict[Key, int],
    held: Mapping[Key, int],
) -> None:
    """After the minimum pass: the minimum (or ``min(want, held)``) to every granted claim, then the
    round robin."""
    if held:
        starts = [min(claim[3], max(minimum, held.get(claim[2], 0))) for claim in granted]
    else:
        starts = [minimum] * len(granted)
    grants.update(zip([claim[2] for claim in granted], starts, strict=True))
    growing = [
        [claim[2], claim[3], claim[4], start]
        for claim, start in zip(granted, starts, strict=True)
        if claim[3] > start
    ]
    if growing:
        _round_robin(growing, room, grants)


def _minimum_pass(
    level: Sequence[ClaimEntry],
    room: dict[int, int],
    minimum: int,
    grants: dict[Key, int],
    held: Mapping[Key, int],
) -> tuple[ClaimEntry, ...]:
    """The minimum to each claim in order while every counter it draws on has room for it; returns the
    claims that got it (grants of the others: 0). A claim in ``held`` gets it without a check or a cost.

    A counter with room for every eligible claim on it (``need`` ≤ room) can never fail a check, so only
    the *short* counters are followed claim by claim; the others are charged in bulk at the end. The
    result is the one a claim-by-claim pass gives: a check only ever fails on a short counter, and a short
    counter's room at a claim depends only on the claims before it that draw on it.
    """
    grants.update(dict.fromkeys([claim[2] for claim in level], 0))
    eligible = [claim for claim in level if claim[3] >= minimum]
    paying = [claim for claim in eligible if claim[2] not in held] if held else eligible
    need = Counter(itertools.chain.from_iterable(claim[4] for claim in paying))
    short = {k for k, n in need.items() if n * minimum > room[k]}
    if short:
        granted: list[ClaimEntry] = []
        get = room.__getitem__
        subsets: dict[tuple[int, ...], tuple[int, ...]] = {}
        failed: set[tuple[int, ...]] = set()
        for claim in eligible:
            if claim[2] in held:
                granted.append(claim)
                continue
            sub = _short_subset(subsets, claim[4], short)
            if not sub:
                granted.append(claim)
            elif sub not in failed:
                if min(map(get, sub)) >= minimum:
                    for k in sub:
                        room[k] -= minimum
                    granted.append(claim)
                else:
                    failed.add(sub)
        use = Counter(itertools.chain.from_iterable(claim[4] for claim in granted if claim[2] not in held))
    else:
        granted, use = eligible, need
    for k, n in use.items():
        if k not in short:
            room[k] -= n * minimum
    return tuple(granted)


def _round_robin(growing: list[list], room: dict[int, int], grants: dict[Key, int]) -> None:
    """``growing``: ``[key, want, counters, grant]`` of the claims that got the minimum and want more.

    In a single round only the counters with fewer amperes of room than users can fail a check, so only
    those are followed claim by claim (as in the minimum pass); the others are charged in bulk.
    """
    get = room.__getitem__
    everyone = growing
    while growing:
        load = Counter(itertools.chain.from_iterable(claim[2] for claim in growing))
        rounds = min(claim[1] - claim[3] for claim in growing)
        for k, users in load.items():
            rounds = min(rounds, room[k] // users)
        if rounds > 0:
            for k, users in load.items():
                room[k] -= rounds * users
            for claim in growing:
                claim[3] += rounds
            growing = [claim for claim in growing if claim[3] < claim[1]]
            load = Counter(itertools.chain.from_iterable(claim[2] for claim in growing))
        short = {k for k, users in load.items() if room[k] < users}
        still: list[list] = []
        winners: list[list] = []
        subsets: dict[tuple[int, ...], tuple[int, ...]] = {}
        failed: set[tuple[int, ...]] = set()
        for claim in growing:
            sub = _short_subset(subsets, claim[2], short)
            if sub:
                if sub in failed:
                    continue
                if min(map(get, sub)) < 1:
                    failed.add(sub)
                    continue
                for k in sub:
                    room[k] -= 1
            claim[3] += 1
            winners.append(claim)
            if claim[3] < claim[1]:
                still.append(claim)
        for k, n in Counter(itertools.chain.from_iterable(claim[2] for claim in winners)).items():
            if k not in short:
                room[k] -= n
        growing = still
    for key, _want, _ids, grant in everyone:
        grants[key] = grant


def _short_subset(
    subsets: dict[tuple[int, ...], tuple[int, ...]], ids: tuple[int, ...], short: set[int]
) -> tuple[int, ...]:
    """The short counters among ``ids``, cached per counter tuple (claims of one group share theirs)."""
    sub = subsets.get(ids)
    if sub is None:
        sub = subsets[ids] = tuple(k for k in ids if k in short)
    return sub
