"""Smart charging end to end: balanz (CSMS + allocator) and simulated chargers over real websockets, in
virtual time. The safety check is made on the CHARGER side — what each simulated charger allows from the
profiles it holds (its own composite, ``SimCharger.limit``) — as well as on balanz's own view (the
allocation invariant checker over its exposures).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio

from balanz.allocation.invariant import violations
from balanz.clock import SiteClock
from balanz.config.schema import (
    AllocatorConfig,
    ChargerConfig,
    Config,
    GroupConfig,
    ServerConfig,
    StoreConfig,
    TagConfig,
)
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EventLog, LimitChanged, Record
from balanz.sim.eventlog import TransactionStarted as SimTransactionStarted
from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.spec import SimChargerSpec

from .csms_charger import RunningDaemon, start_daemon

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
SUPPLY_A = 32
TAGS = ("ALICE", "BOB", "CAROL", "DAVE")


def smart_config(tmp_path: Path, n: int, supply: str = str(SUPPLY_A), **allocator: object) -> Config:
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0, ping_interval_s=0),
        allocator=dataclasses.replace(AllocatorConfig(first_wait_s=0, timezone="UTC"), **allocator),
        store=StoreConfig(path=str(tmp_path / "balanz.sqlite")),
        group=(GroupConfig(id="site", max_allocation=supply),),
        charger=tuple(ChargerConfig(id=f"CP{i}", group="site", max_current_a=32) for i in range(1, n + 1)),
        tag=tuple(TagConfig(id=t) for t in TAGS),
    )


@dataclasses.dataclass
class WatchedLog(EventLog):
    """The simulators' event log, which also keeps each connector's latest applied limit and hands every
    limit change and transaction start to ``watch`` at the instant it happens."""

    latest: dict[tuple[str, int], float] = dataclasses.field(default_factory=dict)
    watch: SafetyWatch | None = None

    def emit(self, record: Record) -> None:
        super().emit(record)
        if isinstance(record, LimitChanged):
            self.latest[(record.charger, record.connector)] = record.amps
        if self.watch is not None and isinstance(record, LimitChanged | SimTransactionStarted):
            self.watch.on_record(record)


class SafetyWatch:
    """At every limit change and transaction start of any simulated charger (the instants the
    charger-side sum can grow), after each step of a test (``check()``) and every 0.5 s: the sum of what the
    chargers allow to connectors in a transaction, and balanz's own exposures, within the supply."""

    def __init__(
        self,
        daemon: object,
        chargers: list[SimCharger],
        supply_a: float = SUPPLY_A,
        log: EventLog | None = None,
    ) -> None:
        self.daemon = daemon
        self.supply_a = supply_a
        self.chargers = chargers
        self.checks = 0
        self.record_checks = 0
        self.worst_charger_side = 0.0
        self.problems: list[str] = []
        self.log = log if isinstance(log, WatchedLog) else None

    def on_record(self, record: Record) -> None:
        """Inside the simulator's own step: its limits are read from the log, not by advancing it again."""
        assert self.log is not None
        latest = self.log.latest
        allowed = sum(latest.get((c.id, n), 0.0) for c in self.chargers for n in c.transactions())
        self.record_checks += 1
        self._judge(allowed, f"{record.type} of {record.charger}")

    def check(self) -> None:
        allowed = sum(c.limit(n).amps for c in self.chargers for n in c.transactions())
        self._judge(allowed, "check")

    def _judge(self, allowed: float, why: str) -> None:
        # A disconnected charger keeps enforcing what it holds; balanz counts it at its exposure.
        allocator = self.daemon.allocator
        now = allocator.clock.now()
        self.worst_charger_side = max(self.worst_charger_side, allowed)
        if allowed > self.supply_a:
            self.problems.append(
                f"{now} ({why}): chargers allow {allowed} A to running sessions > {self.supply_a} A"
            )
        found = violations(allocator.site, allocator.state, allocator.params, now)
        self.problems.extend(f"{now} ({why}): balanz view: {v}" for v in found)
        self.checks += 1

    async def run(self) -> None:
        """Watches from now on: limit changes as they happen, and every 0.5 s."""
        if self.log is not None:
            self.log.watch = self
        while True:
            self.check()
            await trio.sleep(0.5)


@dataclasses.dataclass
class SmartSite:
    running: RunningDaemon
    chargers: list[SimCharger]
    log: EventLog
    clock: SimClock


async def start_site(nursery: trio.Nursery, config: Config, specs: list[SimChargerSpec]) -> SmartSite:
    running = await start_daemon(nursery, config, SiteClock(T0))
    assert running.daemon.allocator is not None
    log = WatchedLog()
    sim_clock = SimClock.starting(T0)
    chargers = []
    for spec in specs:
        charger = SimCharger(spec, running.url, clock=sim_clock, events=log)
        await nursery.start(charger.run)
        chargers.append(charger)
    for charger in chargers:
        await charger.wait_booted()
    return SmartSite(running, chargers, log, sim_clock)


async def test_a_smart_day_on_four_chargers(nursery, tmp_path, autojump_clock):
    config = smart_config(tmp_path, 4)
    site = await start_site(nursery, config, [SimChargerSpec(id=f"CP{i}") for i in range(1, 5)])
    running, chargers, log, sim_clock = site.running, site.chargers, site.log, site.clock
    daemon = running.daemon
    await trio.sleep(30)
    for charger in chargers:
        assert charger.limit(1).amps == 0, f"{charger.id}: idle connector must be blocked (fail closed)"
    # From here on every charger is re-asserted: balanz's view has no unknown limits left (before, the
    # exposures of never-confirmed connectors count at their maximum and exceed the supply by design).
    assert not any(ch.reasserting for ch in daemon.allocator.state.chargers.values())
    watch = SafetyWatch(daemon, chargers, log=log)
    nursery.start_soon(watch.run)

    car = EvSpec(max_current_a=32, target_wh=200_000)
    for i, charger in enumerate(chargers):
        charger.plug(1, car, tag=TAGS[i])
        watch.check()
        await trio.sleep(120)
        watch.check()
    await trio.sleep(3600)
    watch.check()
    shares = [c.limit(1).amps for c in chargers]
    assert all(s >= 6 for s in shares), f"every session gets at least min_allocation_a: {shares}"
    assert sum(shares) <= SUPPLY_A

    # A car leaves: the freed current goes to the others within the rules.
    left_at = sim_clock.now()
    before = {c.id: c.limit(1).amps for c in chargers[1:]}
    chargers[0].unplug(1)
    watch.check()
    await trio.sleep(600)
    watch.check()
    raised = [
        r
        for r in log.records
        if isinstance(r, LimitChanged)
        and r.at >= left_at
        and r.charger in before
        and r.amps > before[r.charger]
    ]
    assert raised, "the freed current was offered to the waiting cars"
    first = min(r.at for r in raised) - left_at
    bound = timedelta(seconds=config.allocator.wait_after_reduce_s + config.allocator.debounce_s + 1.0)
    assert first <= bound, f"freed current offered after {first}, bound {bound}"
    assert sum(c.limit(1).amps for c in chargers[1:]) > sum(before.values())

    assert watch.checks > 1000
    assert watch.record_checks > 20, "the watch saw the chargers' limit changes as they happened"
    assert watch.problems == []
    await running.stop()


CAR = EvSpec(max_current_a=32, target_wh=200_000)


async def test_rejecting_and_silent_chargers_cost_only_their_own_offer(nursery, tmp_path, autojump_clock):
    """CP2 rejects the blocking 0 A default, CP3 never answers a CALL. CP2's strategy ladder ends at a 6 A
    floor (P9); CP3 stays counted at its maximum (32 A); CP1 and CP4 are still served; nothing exceeds the
    supply on the chargers' side."""
    config = smart_config(tmp_path, 4, supply="96")
    specs = [
        SimChargerSpec(id="CP1"),
        SimChargerSpec(id="CP2", quirks=QuirkFlags(rejects_zero=True)),
        SimChargerSpec(id="CP3", quirks=QuirkFlags(never_answers=True)),
        SimChargerSpec(id="CP4"),
    ]
    site = await start_site(nursery, config, specs)
    allocator = site.running.daemon.allocator
    watch = SafetyWatch(site.running.daemon, site.chargers, supply_a=96, log=site.log)
    for i, charger in enumerate(site.chargers):
        charger.plug(1, CAR, tag=TAGS[i])
    await trio.sleep(120)
    nursery.start_soon(watch.run)
    await trio.sleep(1800)
    assert allocator.onboarding.findings("CP2").strategy.endswith("/floor6"), "0 A refused: 6 A floor"
    assert allocator.state.charger("CP3").reasserting, "an unanswered re-assertion leaves CP3 pinned"
    served = [site.chargers[0].limit(1).amps, site.chargers[3].limit(1).amps]
    assert all(amps >= 6 for amps in served), served
    assert sum(c.limit(1).amps for c in site.chargers) <= 96
    assert watch.problems == []


async def test_charger_dropping_mid_reduction_stays_counted_until_reasserted(
    nursery, tmp_path, autojump_clock
):
    """CP1 loses its network just as a new session forces its reduction: balanz keeps counting CP1 at its
    old offer (the charger indeed keeps it), serves CP2 only within the rest, and after the reconnection
    re-asserts CP1 before raising anything."""
    config = smart_config(tmp_path, 2)
    site = await start_site(nursery, config, [SimChargerSpec(id="CP1"), SimChargerSpec(id="CP2")])
    cp1, cp2 = site.chargers
    await trio.sleep(30)
    watch = SafetyWatch(site.running.daemon, site.chargers, log=site.log)
    nursery.start_soon(watch.run)
    cp1.plug(1, CAR, tag="ALICE")
    await trio.sleep(1800)
    high = cp1.limit(1).amps
    assert high > 16
    cp2.plug(1, CAR, tag="BOB")
    cp1.drop_network(120)
    await trio.sleep(60)
    assert cp1.limit(1).amps == high, "the charger keeps its profile while offline"
    assert cp2.limit(1).amps <= SUPPLY_A - high
    await trio.sleep(1800)
    assert cp1.limit(1).amps + cp2.limit(1).amps <= SUPPLY_A
    assert cp2.limit(1).amps >= 6, "after the reconnection and re-assertion CP2 is served"
    assert watch.problems == []


async def test_schedule_slot_lowering_the_limit_while_ramps_are_pending(nursery, tmp_path, autojump_clock):
    """At 09:00 the site drops from 32 A to 16 A while the cars are still ramping up: the reductions are
    sent schedule_lead_s ahead, so at no instant do the chargers allow more than the slot in force."""
    config = smart_config(tmp_path, 3, supply="00:00-08:59>0=32;*>0=16")
    site = await start_site(nursery, config, [SimChargerSpec(id=f"CP{i}") for i in range(1, 4)])
    await trio.sleep(57 * 60)
    for i, charger in enumerate(site.chargers):
        charger.plug(1, CAR, tag=TAGS[i])
    await trio.sleep(90)
    ramping = sum(c.limit(1).amps for c in site.chargers)
    assert 0 < ramping < 32, f"at 08:58:30 the cars are still ramping up: {ramping} A allowed"
    allowed_at_nine: list[float] = []

    async def watch_slot() -> None:
        while True:
            now = site.clock.now()
            allowed = sum(c.limit(n).amps for c in site.chargers for n in c.transactions())
            limit = 32 if now.hour < 9 else 16
            assert allowed <= limit, f"{now}: chargers allow {allowed} A, slot {limit} A"
            if now.hour == 9:
                allowed_at_nine.append(allowed)
            await trio.sleep(0.5)

    nursery.start_soon(watch_slot)
    await trio.sleep(timedelta(minutes=30).total_seconds())
    assert allowed_at_nine, "the watch ran across the slot change"
    assert (
        site.chargers[0].limit(1).amps + site.chargers[1].limit(1).amps + site.chargers[2].limit(1).amps <= 16
    )


@pytest.mark.soak
async def test_forty_chargers_in_nested_groups_with_a_schedule(nursery, tmp_path, autojump_clock):
    """site 96 A (64 A from 09:00) ⊃ garage 40 A: 20 chargers in the garage, 20 in the yard directly under
    the site; at every instant the chargers allow no more than each group's limit in force."""
    chargers = tuple(
        ChargerConfig(id=f"CP{i}", group="garage" if i <= 20 else "site", max_current_a=32)
        for i in range(1, 41)
    )
    config = dataclasses.replace(
        smart_config(tmp_path, 0),
        group=(
            GroupConfig(id="site", max_allocation="00:00-08:59>0=96;*>0=64"),
            GroupConfig(id="garage", parent="site", max_allocation="40"),
        ),
        charger=chargers,
        tag=tuple(TagConfig(id=f"T{i}") for i in range(1, 41)),
    )
    site = await start_site(nursery, config, [SimChargerSpec(id=f"CP{i}") for i in range(1, 41)])
    problems: list[str] = []

    async def watch() -> None:
        while True:
            now = site.clock.now()
            garage = sum(c.limit(1).amps for c in site.chargers[:20] if c.transactions())
            total = garage + sum(c.limit(1).amps for c in site.chargers[20:] if c.transactions())
            if garage > 40:
                problems.append(f"{now}: garage chargers allow {garage} A > 40 A")
            if total > (96 if now.hour < 9 else 64):
                problems.append(f"{now}: site chargers allow {total} A")
            await trio.sleep(1)

    await trio.sleep(30)
    nursery.start_soon(watch)
    for i, charger in enumerate(site.chargers):
        charger.plug(1, CAR, tag=f"T{i + 1}")
        await trio.sleep(20)
    await trio.sleep(timedelta(hours=1).total_seconds())
    for i in (3, 17, 25, 33):
        site.chargers[i].unplug(1)
    await trio.sleep(1800)
    served = [c.limit(1).amps for c in site.chargers if c.transactions()]
    assert len(served) == 36
    assert sum(served) > 48, f"the site's 64 A are used, not left idle: {sum(served)} A"
    assert problems == []
