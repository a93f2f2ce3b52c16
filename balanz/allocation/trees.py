"""One tree of a run: the controlled connectors under one root group.

No counter is shared between trees (every counter belongs to one group or one charger, and each of those
to one root), so the hand-out, the exposure check and the diff of a tree depend on that tree alone. A run
updates only the trees an event or an expiry touched, and inside a tree only what changed:

- exposure sums per counter (``used``) move by the delta of the connectors whose exposure or counters
  changed;
- the sorted claim list changes by one removal and one insertion per changed claim, and the hand-out is
  played again only when a claim (priority, order, want, counters) or a pinned exposure changed;
- the diff walks only the ``candidates`` (claims whose grant differs from what the charger was told) and
  the idle connectors still holding an offer.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from balanz.allocation.exposure import charger_exposures
from balanz.allocation.facts import Context, Facts, connector_facts
from balanz.allocation.handout import Change as ClaimChange
from balanz.allocation.handout import ClaimEntry, Handout, hand_out, hand_out_again
from balanz.allocation.model import Key
from balanz.allocation.state import ConnectorState, State

logger = logging.getLogger(__name__)

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Change:
    """One offer change: ``value`` to send, ``previous`` what the charger was last told (None: unknown)."""

    key: Key
    value: int
    previous: int | None
    exposure: int
    rule: str
    reason: str


@dataclass(slots=True)
class Tree:
    """A tree's part of one run. Never changed once a plan holds it: the next run copies what it updates."""

    facts: dict[Key, Facts]
    exposures: dict[Key, int]
    charger_valid: dict[str, datetime | None]
    contrib: dict[Key, tuple[int, tuple[int, ...]]]
    used: dict[int, int]
    claims: list[ClaimEntry]
    claim_of: dict[Key, ClaimEntry]
    pinned: dict[Key, tuple[int, tuple[int, ...]]]
    held: dict[Key, tuple[int, tuple[int, ...]]]
    handout: Handout
    candidates: dict[Key, ClaimEntry]
    idle: dict[Key, int]
    idle_reductions: list[tuple[int, Change]]
    reductions: list[tuple[tuple[object, ...], Change]]
    increases: list[tuple[tuple[object, ...], Change]]
    pending: list[tuple[tuple[object, ...], Change]]
    recovery: list[str]
    pending_wake: datetime | None
    targets: dict[Key, int]
    wants: dict[Key, int]
    pinned_reasons: dict[Key, str]


def empty_tree() -> Tree:
    return Tree(
        {}, {}, {}, {}, {}, [], {}, {}, {}, Handout({}, {}, {}), {}, {}, [], [], [], [], [], None, {}, {}, {}
    )


class TreeMap(Mapping[Key, V]):
    """A read-only mapping over the trees' own dicts (one per tree, disjoint keys): a plan's ``targets``,
    ``wants`` and ``pinned`` without copying 10,000 entries per run when one tree changed."""

    __slots__ = ("_len", "_parts", "_roots")

    def __init__(self, parts: dict[str, dict[Key, V]], roots: dict[Key, str]) -> None:
        self._parts = parts
        self._roots = roots
        self._len = sum(len(part) for part in parts.values())

    def __getitem__(self, key: Key) -> V:
        root = self._roots.get(key)
        if root is None or root not in self._parts:
            raise KeyError(key)
        return self._parts[root][key]

    def __iter__(self) -> Iterator[Key]:
        return itertools.chain.from_iterable(self._parts.values())

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(slots=True)
class Output:
    """What updating trees produced for the run around them."""

    wakes: list[tuple[datetime, Key]]
    exposure_wakes: list[tuple[datetime, str]]
    sessions: dict[Key, ConnectorState]


class _Writer:
    """Copy-on-write for a tree's containers: the first write to one copies it from the old tree."""

    __slots__ = ("owned", "tree")

    def __init__(self, tree: Tree, fresh: bool) -> None:
        self.tree = tree
        self.owned: set[str] | None = None if fresh else set()

    def __call__(self, name: str) -> Any:
        if self.owned is not None and name not in self.owned:
            setattr(self.tree, name, copy.copy(getattr(self.tree, name)))
            self.owned.add(name)
        return getattr(self.tree, name)


def update_tree(
    ctx: Context,
    state: State,
    root: str,
    old: Tree,
    keys: Iterable[Key],
    charger_ids: Iterable[str],
    out: Output,
    replay: bool = False,
) -> tuple[Tree, set[Key]]:
    """The tree after recomputing the facts of ``keys`` and the exposures of ``charger_ids`` (and of the
    chargers of ``keys``); ``replay``: its limits changed, play the whole hand-out again. Returns the tree
    and the connectors whose entries (facts, exposure, grant) may differ from the old tree's."""
    site, params, now = ctx.site, ctx.params, ctx.now
    fresh = not old.facts
    tree = copy.copy(old)
    tree.idle_reductions, tree.reductions, tree.increases, tree.pending = [], [], [], []
    tree.recovery, tree.pending_wake = [], None
    w = _Writer(tree, fresh)
    connectors, chargers = state.connectors, state.chargers
    touched: set[Key] = set()
    for key in keys:
        cs = connectors.get(key) or state.connector(key)
        f = connector_facts(ctx, key, cs, chargers.get(key[0]) or state.charger(key[0]))
        w("facts")[key] = f
        touched.add(key)
        if f.valid is not None:
            out.wakes.append((f.valid, key))
        if f.want is not None and f.want.session is not None:
            out.sessions[key] = replace(cs, session=f.want.session)
    offline_after = timedelta(seconds=params.offline_release_after_s)
    for charger_id in {*charger_ids, *(key[0] for key in touched)}:
        charger = site.charger_by_id[charger_id]
        ch = state.charger(charger_id)
        valid = None
        for connector in charger.connectors:
            for _old, until in state.connector(connector.key).settling:
                if until > now and (valid is None or until < valid):
                    valid = until
        if params.offline_release_after_s > 0 and not ch.connected and ch.since is not None:
            release = ch.since + offline_after
            if release > now and (valid is None or release < valid):
                valid = release
        if charger_id not in tree.charger_valid or tree.charger_valid[charger_id] != valid:
            w("charger_valid")[charger_id] = valid
        if valid is not None:
            out.exposure_wakes.append((valid, charger_id))
        for key, value in charger_exposures(site, state, charger, params, now).items():
            if tree.exposures.get(key) != value:
                w("exposures")[key] = value
                touched.add(key)
    changed = _account(tree, w, touched, site.index, fresh, params.min_allocation_a)
    if replay or changed is None or len(tree.handout.room) != len(ctx.counters.by_root.get(root, ())):
        regranted = _hand_out(ctx, root, tree)
    elif not changed:
        regranted = set()
    else:
        tree.handout, regranted = hand_out_again(
            tree.claims, params.min_allocation_a, tree.handout, changed, _free(tree, params.min_allocation_a)
        )
    grants, facts = tree.handout.grants, tree.facts
    touched |= regranted
    for key in touched:
        claim = tree.claim_of.get(key)
        if claim is not None and grants[key] != facts[key].cs.sent_value:
            if tree.candidates.get(key) != claim:
                w("candidates")[key] = claim
        elif key in tree.candidates:
            del w("candidates")[key]
    for key in touched:
        f = facts[key]
        if f.pinned is not None:
            if tree.pinned_reasons.get(key) != f.pinned:
                w("pinned_reasons")[key] = f.pinned
            if key in tree.targets:
                del w("targets")[key]
            if key in tree.wants:
                del w("wants")[key]
            continue
        if key in tree.pinned_reasons:
            del w("pinned_reasons")[key]
        target = grants[key] if f.active and f.want is not None else 0
        if tree.targets.get(key) != target:
            w("targets")[key] = target
        if f.active and f.want is not None:
            if tree.wants.get(key) != f.want.amps:
                w("wants")[key] = f.want.amps
        elif key in tree.wants:
            del w("wants")[key]
    _diff(ctx, tree)
    return tree, touched


def _account(
    tree: Tree, w: _Writer, touched: set[Key], index: dict[Key, int], fresh: bool, minimum: int
) -> list[ClaimChange] | None:
    """Exposure sums, claims, pinned exposures, held amounts and idle offers of the touched connectors.
    Returns the changed claims — None: play the whole hand-out again (a fresh tree, or a pinned exposure or
    a held amount moved the room every level starts from)."""
    facts, exposures = tree.facts, tree.exposures
    changed: list[ClaimChange] | None = None if fresh else []
    pinned_moved = False
    for key in touched:
        f = facts[key]
        exposure = exposures[key]
        ids = f.ids
        entry = (exposure, ids) if exposure else None
        before = tree.contrib.get(key)
        if entry != before:
            used = w("used")
            if before is not None:
                for k in before[1]:
                    used[k] -= before[0]
            if entry is not None:
                for k in ids:
                    used[k] = used.get(k, 0) + exposure
                w("contrib")[key] = entry
            else:
                del w("contrib")[key]
        claim = (-f.priority, f.order, key, f.want.amps, ids) if f.want is not None and f.active else None
        old_claim = tree.claim_of.get(key)
        if claim != old_claim:
            if changed is not None:
                changed.append((old_claim, claim))
            claims = w("claims")
            if not fresh and old_claim is not None:
                del claims[bisect.bisect_left(claims, old_claim)]
            if claim is not None:
                if fresh:
                    claims.append(claim)
                else:
                    bisect.insort(claims, claim)
                w("claim_of")[key] = claim
            else:
                del w("claim_of")[key]
        pin = (exposure, ids) if f.pinned is not None else None
        held = f.held
        if 0 < held < minimum and f.active and f.want is not None and f.want.amps >= minimum:
            # it gets the minimum anyway (free, see ``handout``): the reserve covers it
            held = minimum
        hold = (held, ids) if held and f.pinned is None else None
        if pin != tree.pinned.get(key) or hold != tree.held.get(key):
            _reserve(w, "pinned", tree.pinned, key, pin)
            _reserve(w, "held", tree.held, key, hold)
            pinned_moved = True
        if f.pinned is None and not f.active and f.cs.sent_value != 0:
            if key not in tree.idle:
                w("idle")[key] = index[key]
        elif key in tree.idle:
            del w("idle")[key]
    if fresh:
        tree.claims.sort()
    return None if pinned_moved else changed


def _reserve(
    w: _Writer,
    name: str,
    current: dict[Key, tuple[int, tuple[int, ...]]],
    key: Key,
    entry: tuple[int, tuple[int, ...]] | None,
) -> None:
    """Set (or with None drop) one amount the hand-out takes from the room first."""
    if entry == current.get(key):
        return
    if entry is None:
        del w(name)[key]
    else:
        w(name)[key] = entry


def _hand_out(ctx: Context, root: str, tree: Tree) -> set[Key]:
    """R15 for the whole tree: room = limits − headroom − pinned exposures − held amounts, then level by
    level. Returns the keys whose grant differs from the tree's previous hand-out.

    A held amount (a charger's floor, or current seen taken above the limit) is there whatever the
    connector is offered (idle, paused, or short of room), so it is taken from the room before any level,
    like a pinned exposure; a claim holding at least the minimum then starts from it.
    """
    counters = ctx.counters
    limit, headroom = counters.limit, counters.headroom
    room = {k: limit[k] - headroom[k] for k in counters.by_root.get(root, ())}
    for exposure, ids in (*tree.pinned.values(), *tree.held.values()):
        for k in ids:
            room[k] -= exposure
    old = tree.handout.grants
    minimum = ctx.params.min_allocation_a
    tree.handout = hand_out(tree.claims, room, minimum, _free(tree, minimum))
    return {key for key, grant in tree.handout.grants.items() if old.get(key) != grant}


def _free(tree: Tree, minimum: int) -> dict[Key, int]:
    """The held amounts that cover a claim's minimum (see ``handout``)."""
    return {key: amps for key, (amps, _ids) in tree.held.items() if amps >= minimum}


def _diff(ctx: Context, tree: Tree) -> None:
    """R16–R18 for the tree: idle offers to 0, reductions, and increases released in R15 order while every
    counter still has room counting every exposure; the rest waits (``pending``)."""
    counters = ctx.counters
    limit, labels = counters.limit, counters.labels
    facts, exposures, used = tree.facts, tree.exposures, tree.used
    for key, index in sorted(tree.idle.items(), key=lambda item: item[1]):
        cs = facts[key].cs
        reason = f"connector idle (status {cs.status})"
        tree.idle_reductions.append((index, Change(key, 0, cs.sent_value, exposures[key], "R21", reason)))
    consumed: dict[int, int] = {}
    for claim in sorted(tree.candidates.values()):
        negative, order, key, amps, ids = claim
        f = facts[key]
        target = tree.handout.grants[key]
        sent = f.cs.sent_value
        exposure = exposures[key]
        assert f.want is not None
        rule, reason = _explain(f, amps, target, ids, tree.handout.room, labels)
        change = Change(key, target, sent, exposure, rule, reason)
        sort_key = (negative, order)
        if target < exposure:
            tree.reductions.append((sort_key, change))
            continue
        extra = target - exposure
        rooms = [limit[k] - used.get(k, 0) - consumed.get(k, 0) for k in ids]
        if all(room >= extra for room in rooms):
            for k in ids:
                consumed[k] = consumed.get(k, 0) + extra
            tree.increases.append((sort_key, change))
        else:
            blocked = min(range(len(ids)), key=lambda i: rooms[i])
            label = labels[ids[blocked]]
            tree.pending.append(
                (
                    sort_key,
                    replace(
                        change,
                        reason=f"{reason}; waits: {label} has {rooms[blocked]} A "
                        f"free counting unconfirmed and settling offers (R17)",
                    ),
                )
            )
    tree.recovery = [
        f"{labels[k]}: exposures exceed the limit {limit[k]} A by {u - limit[k]} A"
        for k, u in used.items()
        if u > limit[k]
    ]
    if tree.pending:
        valid = [v for v in tree.charger_valid.values() if v is not None]
        tree.pending_wake = min(valid) if valid else None


def _explain(
    f: Facts, want_amps: int, grant: int, ids: tuple[int, ...], room: dict[int, int], labels: list[str]
) -> tuple[str, str]:
    """The rule behind a target: the connector's own want, or the constraint that stopped it."""
    w = f.want
    assert w is not None
    if grant >= want_amps or not ids:
        return w.rule, w.reason
    # Ties go by label: counter indexes depend on the order counters were created, which differs between a
    # full and an incremental run, while labels name the constraint itself.
    binding = min(ids, key=lambda k: (room[k], labels[k]))
    label = labels[binding]
    if label.startswith("charger "):
        rule = "R8"
    elif "quota" in label:
        rule = "R7"
    elif "external" in label:
        rule = "R5"
    elif "override" in label:
        rule = "R22"
    else:
        rule = "R15"
    return rule, f"wants {want_amps} A, gets {grant} A: {label} is full ({w.reason})"
