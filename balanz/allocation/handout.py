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
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from balanz.allocation.model import Key

logger = logging.getLogger(__name__)

ClaimEntry = tuple[int, tuple[object, ...], Key, int, tuple[int, ...]]
"""(−priority, order, key, want, counters): sorting these is R15's order (``order`` ends with the key)."""


@dataclass(frozen=True, slots=True)
class Handout:
    """A tree's hand-out: ``grants``, the room before each level (by −priority) and the room left."""

    grants: dict[Key, int]
    before: dict[int, dict[int, int]]
    room: dict[int, int]


def hand_out(claims: Sequence[ClaimEntry], room: dict[int, int], minimum: int) -> Handout:
    """The grant of every claim (``claims`` sorted), level by level, consuming ``room``."""
    grants: dict[Key, int] = {}
    before: dict[int, dict[int, int]] = {}
    for negative, start, end in _levels(claims):
        before[negative] = dict(room)
        _level(claims[start:end], room, minimum, grants)
    return Handout(grants, before, room)


def hand_out_again(
    claims: Sequence[ClaimEntry], minimum: int, old: Handout, changed: set[int], removed: Iterable[Key]
) -> tuple[Handout, set[Key]]:
    """The hand-out after the claims of the levels ``changed`` (−priorities) changed, pinned exposures and
    counters did not; also the keys whose grant differs from ``old``.

    Levels above the first changed one are kept (they are played first and see the same room); from there
    the levels are played again until, past the last changed level, a level starts with the same room as
    before — then it and every level below it would repeat themselves exactly.
    """
    first, last = min(changed), max(changed)
    grants = dict(old.grants)
    for key in removed:
        grants.pop(key, None)
    start_room = next((r for n, r in sorted(old.before.items()) if n >= first), old.room)
    room = dict(start_room)
    before = {n: r for n, r in old.before.items() if n < first}
    regranted: set[Key] = set()
    for negative, start, end in _levels(claims):
        if negative < first:
            continue
        if negative > last and old.before.get(negative) == room:
            before.update((n, r) for n, r in old.before.items() if n >= negative)
            return Handout(grants, before, old.room), regranted
        before[negative] = dict(room)
        level = claims[start:end]
        played: dict[Key, int] = {}
        _level(level, room, minimum, played)
        for key, grant in played.items():
            if grants.get(key) != grant:
                grants[key] = grant
                regranted.add(key)
    return Handout(grants, before, room), regranted


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


def _level(level: Sequence[ClaimEntry], room: dict[int, int], minimum: int, grants: dict[Key, int]) -> None:
    growing = _minimum_pass(level, room, minimum, grants)
    if growing:
        _round_robin(growing, room, grants)


def _minimum_pass(
    level: Sequence[ClaimEntry], room: dict[int, int], minimum: int, grants: dict[Key, int]
) -> list[list]:
    """The minimum to each claim in order while every counter it draws on has room for it.

    A counter with room for every eligible claim on it (``need`` ≤ room) can never fail a check, so only
    the *short* counters are followed claim by claim; the others are charged in bulk at the end. The
    result is the one a claim-by-claim pass gives: a check only ever fails on a short counter, and a short
    counter's room at a claim depends only on the claims before it that draw on it.
    """
    grants.update(dict.fromkeys([claim[2] for claim in level], 0))
    eligible = [claim for claim in level if claim[3] >= minimum]
    need = Counter(itertools.chain.from_iterable(claim[4] for claim in eligible))
    short = {k for k, n in need.items() if n * minimum > room[k]}
    if short:
        granted: list[ClaimEntry] = []
        get = room.__getitem__
        subsets: dict[tuple[int, ...], tuple[int, ...]] = {}
        failed: set[tuple[int, ...]] = set()
        for claim in eligible:
            ids = claim[4]
            sub = subsets.get(ids)
            if sub is None:
                sub = subsets[ids] = tuple(k for k in ids if k in short)
            if not sub:
                granted.append(claim)
            elif sub not in failed:
                if min(map(get, sub)) >= minimum:
                    for k in sub:
                        room[k] -= minimum
                    granted.append(claim)
                else:
                    failed.add(sub)
        use = Counter(itertools.chain.from_iterable(claim[4] for claim in granted))
    else:
        granted, use = eligible, need
    for k, n in use.items():
        if k not in short:
            room[k] -= n * minimum
    grants.update(dict.fromkeys([claim[2] for claim in granted], minimum))
    return [[claim[2], claim[3], claim[4], minimum] for claim in granted if claim[3] > minimum]


def _round_robin(growing: list[list], room: dict[int, int], grants: dict[Key, int]) -> None:
    """``growing``: ``[key, want, counters, grant]`` of the claims that got the minimum and want more."""
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
        still: list[list] = []
        for claim in growing:
            if claim[3] >= claim[1]:
                continue
            ids = claim[2]
            if min(map(get, ids), default=1) >= 1:
                for k in ids:
                    room[k] -= 1
                claim[3] += 1
                if claim[3] < claim[1]:
                    still.append(claim)
        growing = still
    for key, _want, _ids, grant in everyone:
        grants[key] = grant
