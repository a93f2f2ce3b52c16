"""Hypothesis: the safety invariant and the utilisation of the hand-out over random sites and events.

Sites: up to 50 groups nested up to 4 deep, up to 500 connectors, 1- and 3-phase chargers with phase
maps, charger caps, external limits, quotas in both modes. Events: arrivals, departures, usage,
status changes, rejections, lost answers, slot changes (schedules change every few minutes inside the
simulated hour), external-limit changes, operator suspensions (groups and single connectors), priority
overrides and group-limit overrides (with and without expiry), disconnects and reboots. A fifth of the
chargers hold a floor (profiles.md §5.4: 6 or 8 A whatever they are offered) from the start — in
cooperating runs only where the floors fit every limit their groups ever have — and the other runs also
set and clear floors as they go.

Properties checked after every run of the shell loop:
- the incremental plan (``previous=``) equals a full plan, run after run (a third of the examples of the
  first property);
- a plan's sends never make any S/Q constraint worse over the look-ahead window (``window_violations``
  before vs after sending) — for every event sequence, including the ones balanz cannot control;
- in well-behaved sequences (chargers answer Accepted within 2 s, EVs draw at most their offer,
  external limits and group-limit overrides only rise or expire with notice, no priority overrides)
  invariant S/Q holds at every instant the loop visits, and the loop visits every schedule boundary (it
  is a wake-up);
- utilisation: every active connector whose target is below its want is blocked by a constraint with
  less room than the next step (the minimum for a connector at 0, else 1 A) — so with demand above
  supply no group and phase keeps the minimum allocation unused.

Sizes are skewed small (most examples have a handful of groups and connectors) so that 2,000 examples
per property fit the test budget; ``make soak`` runs 20,000.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from balanz.allocation import events
from balanz.allocation.constraints import rules_at, window_rules
from balanz.allocation.exposure import all_exposures
from balanz.allocation.invariant import constraints, excesses, violations, window_violations
from balanz.allocation.model import Charger, Connector, Group, Params, Site
from balanz.allocation.planner import Plan, plan
from balanz.allocation.schedule import schedule_from_slots
from balanz.allocation.state import State

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 5, 5, 10, 0, tzinfo=CPH)
PERMUTATIONS = list(itertools.permutations((0, 1, 2)))
EXAMPLES = max(2000, settings.default.max_examples or 0)
"""2,000 examples per property in ``make test``; the soak profile's 20,000 under ``make soak``."""


def random_schedule(rnd: random.Random):
    """Slots changing every few minutes during 10:00–11:00, default slot otherwise."""
    slots = []
    minute = 600 + rnd.randrange(0, 10)
    while minute < 660 and rnd.random() < 0.8:
        length = rnd.randrange(1, 15)
        end = min(minute + length, 700)
        slots.append(
            (
                f"{minute // 60:02d}:{minute % 60:02d}-{(end - 1) // 60:02d}:{(end - 1) % 60:02d}",
                "",
                quotas(rnd),
            )
        )
        minute = end + rnd.randrange(0, 3)
    slots.append(("*", "", quotas(rnd)))
    return schedule_from_slots(slots)


def quotas(rnd: random.Random) -> dict[int, int]:
    count = rnd.choice((1, 1, 2, 3))
    thresholds = sorted(rnd.sample(range(0, 7), count))
    if rnd.random() < 0.7:
        thresholds[0] = 0
    amps = sorted(rnd.randrange(0, 80) for _ in thresholds)
    return dict(zip(thresholds, amps, strict=True))


def build_site(rnd: random.Random, n_groups: int, n_connectors: int, well_behaved: bool) -> Site:
    groups: list[Group] = []
    depth: dict[str, int] = {}
    for i in range(n_groups):
        parent = None
        if i and rnd.random() < 0.7:
            candidate = groups[rnd.randrange(i)].id
            if depth[candidate] < 3:
                parent = candidate
        gid = f"g{i}"
        depth[gid] = 0 if parent is None else depth[parent] + 1
        schedule = random_schedule(rnd) if rnd.random() < 0.75 else None
        external = rnd.randrange(0, 60) if rnd.random() < 0.15 else None
        headroom = rnd.choice((0, 0, 0, 0, 1.5))
        groups.append(Group(gid, parent, schedule, headroom, external))
    chargers: list[Charger] = []
    made = 0
    while made < n_connectors:
        cid = f"c{len(chargers)}"
        count = min(rnd.choice((1, 1, 1, 2)), n_connectors - made)
        phases = rnd.choice((1, 3, 3))
        phase_map = PERMUTATIONS[rnd.randrange(6)]
        connectors = tuple(
            Connector(cid, n + 1, rnd.randrange(6, 33), rnd.choice((None, None, 0, 2, 5)), phases, phase_map)
            for n in range(count)
        )
        chargers.append(
            Charger(
                cid,
                groups[rnd.randrange(n_groups)].id,
                connectors,
                charger_max_a=rnd.choice((None, None, None, rnd.randrange(6, 64))),
                priority=rnd.choice((None, 1, 3, 5)),
                smart_charging=rnd.random() < 0.97 or well_behaved,
            )
        )
        made += count
    tags = {"T0": 0, "T5": 5, "T9": 9}
    return Site(tuple(groups), tuple(chargers), tags, CPH)


@dataclass
class Driver:
    """The shell loop under test: events in, plan, send, answers later; checks after every run."""

    site: Site
    params: Params
    rnd: random.Random
    well_behaved: bool
    now: datetime = START
    state: State | None = None
    next_instant: datetime | None = None
    previous: Plan | None = None
    compare_full: bool = False
    floors: dict[str, int] | None = None

    def __post_init__(self) -> None:
        self.queue: list[tuple[datetime, int, str, tuple]] = []
        self.seq = itertools.count()
        self.keys = [c.key for ch in self.site.chargers for c in ch.connectors]
        state = State(started_at=self.now - timedelta(hours=1))
        for charger in self.site.chargers:
            state = events.charger_connected(state, self.site, charger.id, self.now, booted=False)
            state = events.charger_floor(state, self.site, charger.id, (self.floors or {}).get(charger.id, 0))
            for connector in charger.connectors:
                state = events.status_changed(state, connector.key, "Available", self.now)
                state = events.offer_sent(state, connector.key, 0, self.now)
                state = events.offer_accepted(state, connector.key, 0, self.now, self.params)
            state = events.charger_reasserted(state, self.site, charger.id, self.now)
        self.state = state
        self.run()

    # one run of the shell loop ---------------------------------------------------------------------------
    def run(self) -> Plan:
        site, params, now = self.site, self.params, self.now
        result = plan(site, self.state, params, now, self.previous)
        if self.compare_full:
            full = plan(site, self.state, params, now)
            for field in ("targets", "wants", "reductions", "increases", "pending", "pinned", "next_instant"):
                assert getattr(result, field) == getattr(full, field), f"incremental plan differs in {field}"
        self.previous = result
        minimum = params.min_allocation_a
        if any(result.targets[key] < want and want >= minimum for key, want in result.wants.items()):
            check_utilisation(site, self.state, params, result)
        sends = (*result.reductions, *result.increases)
        before = excesses(window_violations(site, result.state, params, now)) if sends else {}
        self.state = result.state
        for change in sends:
            self.state = events.offer_sent(self.state, change.key, change.value, now)
            if self.well_behaved:
                outcome = "accept"
            else:
                outcome = self.rnd.choice(("accept", "accept", "accept", "reject", "lose"))
            delay = (
                timedelta(seconds=30) if outcome == "lose" else timedelta(seconds=self.rnd.uniform(0.05, 2))
            )
            heapq.heappush(self.queue, (now + delay, next(self.seq), outcome, (change.key, change.value)))
        if sends:
            after = excesses(window_violations(site, self.state, params, now))
            for constraint, excess in after.items():
                assert excess <= before.get(constraint, 0), f"{now}: sends worsened {constraint}: {excess}"
        self.next_instant = result.next_instant
        self.check_now()
        return result

    def check_now(self) -> None:
        if self.well_behaved:
            found = violations(self.site, self.state, self.params, self.now)
            assert not found, f"{self.now}: {[str(v) for v in found]}"
            self.check_floors()

    def check_floors(self) -> None:
        """The chargers' own view, independent of the exposure rules: a connector holds at least its
        charger's floor whatever it was told."""
        site, state, now = self.site, self.state, self.now
        exposures = all_exposures(site, state, self.params, now)
        held = {key: max(value, state.charger(key[0]).floor_a) for key, value in exposures.items()}
        for constraint in constraints(site, state, self.params, rules_at(site, state, self.params, now)):
            used = sum(held.get(key, 0) for key in constraint.members)
            assert used <= constraint.limit, (
                f"{now}: {constraint.label} holds {used} A > {constraint.limit} A"
            )

    def advance(self, target: datetime) -> None:
        while True:
            upcoming = [
                t for t in (self.next_instant, self.queue[0][0] if self.queue else None) if t is not None
            ]
            if not upcoming or min(upcoming) > target:
                break
            self.now = max(self.now, min(upcoming))
            self.check_now()
            while self.queue and self.queue[0][0] <= self.now:
                _t, _s, outcome, (key, value) = heapq.heappop(self.queue)
                if outcome == "accept":
                    self.state = events.offer_accepted(self.state, key, value, self.now, self.params)
                    self.state = self.follow_status(key)
                elif outcome == "reject":
                    self.state = events.offer_rejected(self.state, key, value, self.now)
                else:
                    self.state = events.offer_timed_out(self.state, key, value, self.now)
                    # the retry with back-off eventually gets an answer
                    heapq.heappush(
                        self.queue, (self.now + timedelta(seconds=10), next(self.seq), "accept", (key, value))
                    )
            self.run()
        self.now = max(self.now, target)

    def group_override(self, s: State, pick: int, value: int) -> State:
        """Set, raise, lower or clear an operator override of a group's limit, with or without expiry.

        Like an external limit, an override lowered without notice cannot be anticipated: the group is in
        recovery until the reductions are confirmed, and invariant S fails meanwhile. Cooperating runs
        (which assert S at every instant) therefore only clear overrides or set them no lower than the
        tightest total in force now, as they only raise external limits.
        """
        rnd, now = self.rnd, self.now
        group = self.site.groups[pick % len(self.site.groups)]
        if rnd.random() < 0.25:
            return events.set_group_override(s, group.id, None, None)
        until = None if rnd.random() < 0.4 else now + timedelta(seconds=rnd.randrange(1, 900))
        amps = value * 2
        if self.well_behaved:
            in_force = window_rules(self.site, s, self.params, now, now).get(group.id)
            if not in_force:
                return s
            amps = max(amps, min(rule.quotas[-1][1] for rule in in_force))
        return events.set_group_override(s, group.id, amps, until)

    def follow_status(self, key) -> State:
        cs = self.state.connector(key)
        if cs.session is None:
            return self.state
        status = "Charging" if cs.acked else "SuspendedEVSE"
        if cs.status == "SuspendedEV" and cs.acked:
            return self.state
        return events.status_changed(self.state, key, status, self.now) if status != cs.status else self.state

    # events ----------------------------------------------------------------------------------------------
    def event(self, kind: str, pick: int, value: int) -> None:
        rnd, s, site, params, now = self.rnd, self.state, self.site, self.params, self.now
        key = self.keys[pick % len(self.keys)]
        cs = s.connector(key)
        charger = site.charger_by_id[key[0]]
        if kind == "plug" and cs.session is None:
            s = events.status_changed(s, key, "Preparing", now)
            tag = rnd.choice((None, None, "T0", "T5", "t9"))
            s = events.transaction_started(s, site, key, pick, now, float(value), tag)
            s = events.status_changed(s, key, "SuspendedEVSE", now)
        elif kind == "unplug" and cs.session is not None:
            s = events.transaction_stopped(s, key, now)
            s = events.status_changed(s, key, rnd.choice(("Finishing", "Available")), now)
        elif kind == "meter" and cs.session is not None:
            offer = cs.acked or 0
            amps = min(offer, value) * rnd.random() if self.well_behaved else rnd.uniform(0, 40)
            one_phase = rnd.random() < 0.3
            currents = (amps, 0.0, 0.0) if one_phase else (amps, amps, amps)
            offered = None if self.well_behaved else rnd.choice((None, float(offer), rnd.uniform(0, 40)))
            energy = cs.session.meter_start_wh + value * 150.0
            s = events.meter_values(s, key, now, currents, params, energy, offered)
        elif kind == "status" and cs.session is not None:
            s = events.status_changed(s, key, rnd.choice(("Charging", "SuspendedEV", "SuspendedEVSE")), now)
        elif kind == "external":
            groups = [g for g in site.groups if g.external_fallback_a is not None]
            if groups:
                group = groups[pick % len(groups)]
                lead = timedelta(seconds=params.schedule_lead_s)
                valid = now + lead + timedelta(seconds=rnd.randrange(1, 900))
                amps = value
                if self.well_behaved:
                    current = s.group(group.id).external
                    floor = current.amps if current is not None and current.valid_until > now else 0
                    floor = max(floor, group.external_fallback_a or 0)
                    amps = max(amps, floor)
                s = events.set_external_limit(s, group.id, amps, valid)
        elif kind == "suspend":
            group = site.groups[pick % len(site.groups)]
            s = events.set_group_suspended(s, group.id, not s.group(group.id).suspended)
        elif kind == "suspend_connector":
            s = events.suspend_connector(s, key, not cs.suspended_by_operator)
        elif kind == "group_override":
            s = self.group_override(s, pick, value)
        elif kind == "override" and not self.well_behaved:
            s = events.set_override(s, key, value % 7)
        elif kind == "disconnect" and not self.well_behaved:
            if s.charger(charger.id).connected:
                s = events.charger_disconnected(s, site, charger.id, now)
            else:
                s = events.charger_connected(s, site, charger.id, now, booted=rnd.random() < 0.5)
                for connector in charger.connectors:
                    status = "Charging" if s.connector(connector.key).session else "Available"
                    s = events.status_changed(s, connector.key, status, now)
                s = events.charger_reasserted(s, site, charger.id, now)
        self.state = s


KINDS = (
    "plug",
    "plug",
    "unplug",
    "meter",
    "meter",
    "meter",
    "status",
    "external",
    "suspend",
    "suspend_connector",
    "group_override",
    "override",
    "disconnect",
)


@st.composite
def scenarios(draw, well_behaved: bool):
    # sizes skewed small: a quarter of the examples are mid-sized, few reach the maxima
    scale = draw(st.integers(0, 1000)) / 1000
    n_groups = 1 + int(49 * scale**14) + draw(st.integers(0, 3))
    n_connectors = 1 + int(499 * scale**14) + draw(st.integers(0, 6))
    n_events = max(2, int(draw(st.integers(3, 12)) / (1 + n_connectors / 10)))
    seed = draw(st.integers(0, 2**32))
    # the events come from the seed too: drawing four values per event through Hypothesis cost a fifth of
    # the budget; sizes, seed and parameters still shrink
    ops = n_events
    params = Params(
        quota_mode=draw(st.sampled_from(("cumulative", "band"))),
        phase_aware=draw(st.booleans()),
        first_wait_s=0,
    )
    return seed, n_groups, n_connectors, params, ops


def floors_fit(site: Site, floors: dict[str, int]) -> bool:
    """Whether the floors alone stay within every limit their groups can ever have (every quota of every
    slot, the external fallback; cooperating runs never set a limit lower) and every charger cap."""
    for charger in site.chargers:
        held = floors.get(charger.id, 0) * len(charger.connectors)
        if charger.charger_max_a is not None and held > charger.charger_max_a:
            return False
    for group in site.groups:
        limits = [a for slot in group.schedule.slots for _t, a in slot.quotas] if group.schedule else []
        if group.external_fallback_a is not None:
            limits.append(group.external_fallback_a)
        held = sum(
            floors.get(c.id, 0) * len(c.connectors) for c in site.chargers if group.id in site.paths[c.group]
        )
        if limits and held > min(limits):
            return False
    return True


def drive(scenario, well_behaved: bool) -> None:
    seed, n_groups, n_connectors, params, ops = scenario
    rnd = random.Random(seed)
    site = build_site(rnd, n_groups, n_connectors, well_behaved)
    # floors come from their own stream, so that the sites and events of a seed stay what they were
    floors_rnd = random.Random(seed ^ 0xF1002)
    floors: dict[str, int] = {}
    for charger in site.chargers:
        if floors_rnd.random() < 0.2:
            amps = floors_rnd.choice((6, 6, 8))
            if not well_behaved or floors_fit(site, {**floors, charger.id: amps}):
                floors[charger.id] = amps
    driver = Driver(
        site, params, rnd, well_behaved, compare_full=not well_behaved and seed % 3 == 0, floors=floors
    )
    events_rnd = random.Random(seed ^ 0x5EED)
    for _ in range(ops):
        dt, kind = events_rnd.randrange(0, 241), events_rnd.choice(KINDS)
        pick, value = events_rnd.randrange(0, 10_001), events_rnd.randrange(0, 41)
        driver.advance(driver.now + timedelta(seconds=dt))
        driver.event(kind, pick, value)
        if not well_behaved and floors_rnd.random() < 0.1:
            charger = site.chargers[floors_rnd.randrange(len(site.chargers))]
            driver.state = events.charger_floor(driver.state, site, charger.id, floors_rnd.choice((0, 6, 8)))
        driver.run()
    driver.advance(driver.now + timedelta(seconds=70))


def check_utilisation(site: Site, state: State, params: Params, result: Plan) -> None:
    """Every connector short of its want is blocked by a constraint with room below its next step. A
    connector holds at least its charger's floor, and what it was seen taking above its limit, whatever
    its target."""
    now = result.now
    rules = window_rules(site, state, params, now, now + timedelta(seconds=params.schedule_lead_s))
    found = constraints(site, state, params, rules)
    exposures = all_exposures(site, state, params, now)
    amounts = {key: exposures[key] for key in result.pinned}
    for key, target in result.targets.items():
        over = state.connector(key).over_a
        seen = 0 if over is None else math.ceil(over - 1e-9)
        amounts[key] = max(target, state.charger(key[0]).floor_a, seen)
    rooms = []
    for constraint in found:
        headroom = 0
        if constraint.group is not None:
            headroom = -int(-site.group_by_id[constraint.group].headroom_a // 1)
        used = sum(amounts.get(key, 0) for key in constraint.members)
        rooms.append((constraint, constraint.limit - headroom - used))
    for key, want in result.wants.items():
        target = result.targets[key]
        assert target <= want, f"{key}: target {target} above want {want}"
        assert target == 0 or target >= params.min_allocation_a, f"{key}: sub-minimum target {target}"
        if target >= want or want < params.min_allocation_a:
            continue
        step = params.min_allocation_a if target == 0 else 1
        blocking = [c.label for c, room in rooms if key in c.members and room < step]
        assert blocking, f"{now} {key}: target {target} < want {want} with room everywhere"


@settings(max_examples=EXAMPLES)
@given(scenarios(well_behaved=False))
# A connector pinned at the same amperes moved to another priority band: the incremental run reused grants
# computed with its old counters.
@example(
    (
        94863,
        1,
        3,
        Params(
            first_wait_s=0,
            min_allocation_a=6,
            min_offer_increase_interval_s=115,
            max_offer_increase_a=3,
            quota_mode="band",
            phase_aware=False,
        ),
        5,
    )
)
# A three-phase connector first created the L1 quota counter and labelled it without "L1"; a fresh run, where
# a one-phase connector created it, labelled it "L1": the incremental run's reason named it differently.
@example(
    (
        282,
        4,
        1,
        Params(
            first_wait_s=0,
            min_allocation_a=6,
            min_offer_increase_interval_s=115,
            max_offer_increase_a=3,
            quota_mode="cumulative",
            phase_aware=True,
        ),
        9,
    )
)
def test_property_sends_never_worsen_any_constraint(scenario):
    drive(scenario, well_behaved=False)


@settings(max_examples=EXAMPLES)
@given(scenarios(well_behaved=True))
def test_property_invariant_holds_at_every_instant_when_chargers_cooperate(scenario):
    drive(scenario, well_behaved=True)
