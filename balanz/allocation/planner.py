"""``plan()``: one allocator run (allocation.md §3), from site, state and ``now`` to a ``Plan``.

Order: build the window's counters (R5, R7, R8, R26); charge pinned exposures (R2, R17); compute each
active connector's want (R10–R14) and cap it for the start-up window (R4), suspended groups (R22) and
forbidden priorities (R7); hand out current (R15) → targets; diff against what each charger was last told
(R16); release increases only while every constraint still holds with every exposure (R17, R18); return
the earliest instant the plan could change without a new event (R3).

The work is done per tree (``trees.py``). With ``previous`` a run redoes only what an event marked
(``State.changed``) or what time expired (two heaps of validity instants: per connector and per charger),
so its cost follows the change, not the site. A change of limits that keeps the window's ``structure`` (an
external limit or an operator cap moving to another value) re-plays the hand-out of the trees it touches
and keeps every connector's facts; any other change of the limits in force runs in full.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from balanz.allocation.constraints import Counters, Rule, next_limit_change, structure, window_rules
from balanz.allocation.demand import _earliest
from balanz.allocation.facts import Context
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import GroupState, State
from balanz.allocation.trees import Change, Output, Tree, TreeMap, empty_tree, update_tree

logger = logging.getLogger(__name__)

__all__ = ["Change", "Plan", "plan"]

_SEQ = itertools.count()


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of one run.

    ``reductions`` are to be sent at once; ``increases`` passed the exposure check and may be sent now,
    in this order; ``pending`` increases wait (for confirmations, settle time or capacity) and are
    re-evaluated by the next run. ``state`` carries what the run decided about sessions (learnt EV caps,
    suspensions) and must replace the shell's state. ``recovery`` names every constraint currently
    exceeded by exposures (the monitor shows it). ``next_instant``: run again then if no event came first.
    ``targets`` (the grant of every unpinned connector, 0 when idle), ``wants`` and ``pinned`` are
    read-only mappings assembled from the trees' own dicts.
    """

    now: datetime
    targets: Mapping[Key, int]
    wants: Mapping[Key, int]
    reductions: tuple[Change, ...]
    increases: tuple[Change, ...]
    pending: tuple[Change, ...]
    pinned: Mapping[Key, str]
    recovery: tuple[str, ...]
    next_instant: datetime | None
    state: State
    memo: _Memo | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class _Window:
    """The limits in force during ``[now, now + lead]``; the same until ``changes`` (or a group event).
    ``signature``: their ``structure``."""

    groups: dict[str, GroupState]
    rules: dict[str, tuple[Rule, ...]]
    signature: tuple[object, ...]
    changes: datetime | None
    suspended: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Memo:
    """One run's work, for the next: nothing here is changed after the plan holding it was returned."""

    site: Site
    params: Params
    now: datetime
    started_at: datetime
    in_first_wait: bool
    window: _Window
    counters: Counters
    trees: dict[str, Tree]
    heap: list[tuple[datetime, int, Key]]
    exposure_heap: list[tuple[datetime, int, str]]
    carry: frozenset[Key]
    outputs: tuple[tuple[Change, ...], tuple[Change, ...], tuple[Change, ...], tuple[str, ...]]
    releases: tuple[dict[str, object], list[datetime]]


def plan(site: Site, state: State, params: Params, now: datetime, previous: Plan | None = None) -> Plan:
    """One allocator run at ``now`` (timezone-aware).

    Pass the previous plan as ``previous`` to take the incremental path: ``state`` must then derive from
    ``previous.state`` through ``events`` (which record what they touch in ``State.changed``; a state
    built otherwise must set ``changed_all``). The result is identical to a full run (the property tests
    compare both).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"plan() needs a timezone-aware now, got {now!r}")
    now = now.astimezone(UTC)
    memo = previous.memo if previous is not None else None
    if memo is not None and (
        memo.site is not site or memo.params is not params or now < memo.now or state.changed_all
    ):
        memo = None
    window = _window(site, state, params, now, memo.window if memo is not None else None)
    first_wait_end = state.started_at + timedelta(seconds=params.first_wait_s)
    in_first_wait = now < first_wait_end
    if memo is not None and (
        memo.window.signature != window.signature
        or memo.window.suspended != window.suspended
        or memo.in_first_wait != in_first_wait
        or memo.started_at != state.started_at
    ):
        memo = None
    replay: set[str] = set()
    if memo is None:
        counters = Counters(window.rules, params.quota_mode)
    elif memo.window.rules != window.rules:
        counters, replay = memo.counters.revalued(window.rules, site)
    else:
        counters = memo.counters
    ctx = Context(site, params, now, counters, in_first_wait, window.suspended)
    out = Output([], [], {})
    if memo is None:
        trees, heap, exposure_heap, dirty_trees = _full(ctx, state, out)
    else:
        trees, heap, exposure_heap, dirty_trees = _incremental(ctx, state, memo, out, replay)
    heap = _pushed(heap, out.wakes, lambda key: trees[site.roots[key]].facts[key].valid)
    exposure_heap = _pushed(
        exposure_heap,
        out.exposure_wakes,
        lambda cid: trees[site.roots[site.charger_by_id[cid].connectors[0].key]].charger_valid[cid],
    )
    outputs = memo.outputs if memo is not None and not dirty_trees else _outputs(site, trees)
    wake = heap[0][0] if heap else None
    for tree in trees.values():
        if tree.pending and tree.pending_wake is not None:
            wake = _earliest(wake, tree.pending_wake)
    if in_first_wait:
        wake = _earliest(wake, first_wait_end)
    wake = _earliest(wake, window.changes)
    releases = _releases(state, params, memo.releases if memo is not None else None)
    at = bisect.bisect_right(releases[1], now)
    if at < len(releases[1]):
        wake = _earliest(wake, releases[1][at])

    connectors = state.connectors
    if out.sessions:
        connectors = {**connectors, **out.sessions}
    new_state = replace(state, connectors=connectors, changed=frozenset(), changed_all=False)
    new_memo = _Memo(
        site,
        params,
        now,
        state.started_at,
        in_first_wait,
        window,
        counters,
        trees,
        heap,
        exposure_heap,
        frozenset(out.sessions),
        outputs,
        releases,
    )
    reductions, increases, pending, recovery = outputs
    return Plan(
        now=now,
        targets=TreeMap({root: tree.targets for root, tree in trees.items()}, site.roots),
        wants=TreeMap({root: tree.wants for root, tree in trees.items()}, site.roots),
        reductions=reductions,
        increases=increases,
        pending=pending,
        pinned=TreeMap({root: tree.pinned_reasons for root, tree in trees.items()}, site.roots),
        recovery=recovery,
        next_instant=wake,
        state=new_state,
        memo=new_memo,
    )


def _window(site: Site, state: State, params: Params, now: datetime, old: _Window | None) -> _Window:
    if old is not None and old.groups is state.groups and (old.changes is None or now < old.changes):
        return old
    lead = timedelta(seconds=params.schedule_lead_s)
    rules = window_rules(site, state, params, now, now + lead)
    suspended = frozenset(gid for gid, gs in state.groups.items() if gs.suspended)
    return _Window(
        state.groups, rules, structure(rules), next_limit_change(site, state, params, now), suspended
    )


def _full(
    ctx: Context, state: State, out: Output
) -> tuple[
    dict[str, Tree], list[tuple[datetime, int, Key]], list[tuple[datetime, int, str]], dict[str, tuple]
]:
    site = ctx.site
    trees: dict[str, Tree] = {}
    dirty: dict[str, tuple] = {}
    for root, keys in site.trees.items():
        chargers = [charger.id for charger in site.tree_chargers[root]]
        tree, touched = update_tree(ctx, state, root, empty_tree(), keys, chargers, out)
        trees[root] = tree
        dirty[root] = (tree, touched)
    return trees, [], [], dirty


def _incremental(
    ctx: Context, state: State, memo: _Memo, out: Output, replay: set[str]
) -> tuple[
    dict[str, Tree], list[tuple[datetime, int, Key]], list[tuple[datetime, int, str]], dict[str, tuple]
]:
    """Only the trees holding a changed connector, an expired fact or an expired exposure are updated, and
    those in ``replay`` (their limits changed) play their whole hand-out again."""
    site, now = ctx.site, ctx.now
    roots = site.roots
    keys_by_root: dict[str, set[Key]] = {}
    chargers_by_root: dict[str, set[str]] = {}
    for key in (*state.changed, *memo.carry):
        root = roots.get(key)
        if root is not None:
            keys_by_root.setdefault(root, set()).add(key)
    heap, exposure_heap = memo.heap, memo.exposure_heap
    if heap and heap[0][0] <= now:
        heap = list(heap)
        while heap and heap[0][0] <= now:
            valid, _seq, key = heapq.heappop(heap)
            root = roots[key]
            if memo.trees[root].facts[key].valid == valid:
                keys_by_root.setdefault(root, set()).add(key)
    if exposure_heap and exposure_heap[0][0] <= now:
        exposure_heap = list(exposure_heap)
        while exposure_heap and exposure_heap[0][0] <= now:
            valid, _seq, charger_id = heapq.heappop(exposure_heap)
            root = roots[site.charger_by_id[charger_id].connectors[0].key]
            if memo.trees[root].charger_valid.get(charger_id) == valid:
                chargers_by_root.setdefault(root, set()).add(charger_id)
    replay = replay & memo.trees.keys()
    if not keys_by_root and not chargers_by_root and not replay:
        return memo.trees, heap, exposure_heap, {}
    trees = dict(memo.trees)
    dirty: dict[str, tuple] = {}
    for root in {*keys_by_root, *chargers_by_root, *replay}:
        keys, charger_ids = keys_by_root.get(root, ()), chargers_by_root.get(root, ())
        result = update_tree(ctx, state, root, trees[root], keys, charger_ids, out, replay=root in replay)
        trees[root] = result[0]
        dirty[root] = result
    return trees, heap, exposure_heap, dirty


def _pushed(heap: list, entries: list, current: object) -> list:
    """``heap`` with ``entries`` added and stale tops dropped, copied before any change (the previous plan
    keeps its own). Rebuilt from the live entries when stale ones outnumber them."""
    if not entries and (not heap or current(heap[0][2]) == heap[0][0]):  # type: ignore[operator]
        return heap
    heap = list(heap)
    if len(heap) > 2 * len(entries) + 4096 and len(heap) > 4 * len(entries):
        heap = [e for e in heap if current(e[2]) == e[0]]  # type: ignore[operator]
        heapq.heapify(heap)
    if len(entries) > len(heap):
        heap.extend((valid, next(_SEQ), ident) for valid, ident in entries)
        heapq.heapify(heap)
    else:
        for valid, ident in entries:
            heapq.heappush(heap, (valid, next(_SEQ), ident))
    while heap and current(heap[0][2]) != heap[0][0]:  # type: ignore[operator]
        heapq.heappop(heap)
    return heap


def _outputs(
    site: Site, trees: dict[str, Tree]
) -> tuple[tuple[Change, ...], tuple[Change, ...], tuple[Change, ...], tuple[str, ...]]:
    """The trees' changes in one order: idle connectors (site order), then R15 order across trees."""
    ordered = [trees[root] for root in site.trees]
    idle = [c for _k, c in heapq.merge(*(t.idle_reductions for t in ordered if t.idle_reductions))]
    reductions = [c for _k, c in heapq.merge(*(t.reductions for t in ordered if t.reductions))]
    increases = [c for _k, c in heapq.merge(*(t.increases for t in ordered if t.increases))]
    pending = [c for _k, c in heapq.merge(*(t.pending for t in ordered if t.pending))]
    recovery = sorted(label for t in ordered for label in t.recovery)
    return (*idle, *reductions), tuple(increases), tuple(pending), tuple(recovery)


def _releases(
    state: State, params: Params, old: tuple[dict[str, object], list[datetime]] | None
) -> tuple[dict[str, object], list[datetime]]:
    """Sorted instants at which a disconnected charger's offline release (R27) starts."""
    if old is not None and old[0] is state.chargers:
        return old
    instants: list[datetime] = []
    if params.offline_release_after_s > 0:
        after = timedelta(seconds=params.offline_release_after_s)
        instants = sorted(
            ch.since + after for ch in state.chargers.values() if not ch.connected and ch.since is not None
        )
    return state.chargers, instants  # type: ignore[return-value]
