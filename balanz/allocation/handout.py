"""R15: hand out current by priority level, minimum pass then round robin of single amperes.

The round robin is computed in bulk: while every growing connector can take ``t`` more amperes in every
counter it draws on (each counter's room divided by the number of growing connectors on it), ``t`` whole
rounds are granted at once — exactly what ``t`` single rounds would give, since none of their checks can
fail. Then one single round is played, in order, and every connector that fails a check leaves: rooms
only shrink within a level, so a check that fails once fails for the rest of the level. Each bulk step
ends with at least one connector leaving, so a level costs a few passes instead of one per ampere.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from balanz.allocation.model import Key

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Claim:
    """One active connector competing for current: its want and the counters it draws on."""

    key: Key
    want: int
    counters: tuple[int, ...]
    grant: int = 0


def hand_out(levels: Sequence[Sequence[Claim]], room: list[int], minimum: int) -> None:
    """Fill ``claim.grant`` for every claim, level by level (highest priority first), consuming ``room``."""
    for level in levels:
        _minimum_pass(level, room, minimum)
        _round_robin([c for c in level if 0 < c.grant < c.want], room)


def _minimum_pass(level: Sequence[Claim], room: list[int], minimum: int) -> None:
    for claim in level:
        if claim.want < minimum:
            continue
        counters = claim.counters
        if all(room[k] >= minimum for k in counters):
            for k in counters:
                room[k] -= minimum
            claim.grant = minimum


def _round_robin(growing: list[Claim], room: list[int]) -> None:
    while growing:
        load = Counter(k for claim in growing for k in claim.counters)
        rounds = min(claim.want - claim.grant for claim in growing)
        for k, users in load.items():
            rounds = min(rounds, room[k] // users)
        if rounds > 0:
            for k, users in load.items():
                room[k] -= rounds * users
            for claim in growing:
                claim.grant += rounds
        still: list[Claim] = []
        for claim in growing:
            if claim.grant >= claim.want:
                continue
            counters = claim.counters
            if all(room[k] >= 1 for k in counters):
                for k in counters:
                    room[k] -= 1
                claim.grant += 1
                if claim.grant < claim.want:
                    still.append(claim)
        growing = still
