"""Allocator speed: one full pass over 10,000 connectors in 200 groups nested 3 deep, and the pass after
one event. Prints figures (median of 50); docs/benchmarks.md records them. Not a test.

Site: 8 roots (feeders, constant 2,000 A), each with 4 areas (RR1-like three-threshold schedules that
change during the day), each with 5 car parks (constant 240 A), 50 connectors per car park: 8 + 32 +
160 = 200 groups, 160 × 62.5 ≈ 10,000 connectors, a third 1-phase, priorities 1/3/5, phase-aware
accounting, every connector in a charging session with usage samples. Then the same figures for a mix
with a quarter of the connectors in a session (the rest idle at 0 A), in addition. Last, the feeders
also take an external limit (a site meter's headroom, 1,900 A) and one feeder's value moves to 1,800 A:
the pass after that push, full and incremental.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from balanz.allocation import events
from balanz.allocation.model import Charger, Connector, Group, Params, Site
from balanz.allocation.planner import Plan, plan
from balanz.allocation.schedule import parse_schedule
from balanz.allocation.state import ChargerState, ConnectorState, Sample, Session, State

TZ = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)  # 10:00 in Copenhagen; the core keeps instants in UTC
AREA = "00:00-05:59>0=600;06:00-16:59>0=200:3=400:5=600;17:00-20:59>0=0:5=600;21:00-23:59>0=400:5=600"
RUNS = int(os.environ.get("BENCH_RUNS", "50"))


def build(in_session: float = 1.0, external: bool = False) -> tuple[Site, State, Params]:
    """The site; ``in_session``: the fraction of connectors with a car (the rest idle at 0 A);
    ``external``: the feeders also take an external limit (fallback 1,500 A, pushed at 1,900 A)."""
    rnd = random.Random(1)
    groups, chargers = [], []
    connectors: dict = {}
    charger_states: dict = {}
    count = 0
    for r in range(8):
        root = f"feeder{r}"
        groups.append(
            Group(root, schedule=parse_schedule("2000"), external_fallback_a=1500 if external else None)
        )
        for a in range(4):
            area = f"{root}.area{a}"
            groups.append(Group(area, parent=root, schedule=parse_schedule(AREA)))
            for p in range(5):
                park = f"{area}.park{p}"
                groups.append(Group(park, parent=area, schedule=parse_schedule("240")))
                for c in range(63 if (r + a + p) % 2 else 62):
                    cid = f"{park}.cp{c}"
                    phases = 1 if c % 3 == 0 else 3
                    connector = Connector(cid, 1, 32, None, phases, (c % 3, (c + 1) % 3, (c + 2) % 3))
                    chargers.append(Charger(cid, park, (connector,), priority=rnd.choice((1, 3, 5))))
                    charger_states[cid] = ChargerState(connected=True, since=NOW - timedelta(hours=2))
                    if in_session < 1 and rnd.random() >= in_session:
                        connectors[connector.key] = ConnectorState(
                            status="Available", acked=0, changed_at=NOW - timedelta(hours=3)
                        )
                        count += 1
                        continue
                    acked = rnd.choice((0, 6, 8, 10, 16))
                    samples = tuple(
                        Sample(NOW - timedelta(seconds=30 * i), (acked - 0.3,) * 3) for i in range(5, 0, -1)
                    )
                    session = Session(count, NOW - timedelta(hours=1), 0.0, rnd.uniform(0, 20000))
                    connectors[connector.key] = ConnectorState(
                        status="Charging" if acked else "SuspendedEVSE",
                        session=session,
                        acked=acked,
                        changed_at=NOW - timedelta(seconds=rnd.randrange(30, 400)),
                        samples=samples,
                    )
                    count += 1
    site = Site(tuple(groups), tuple(chargers), {}, TZ)
    state = State(NOW - timedelta(hours=3), connectors, charger_states, {})
    if external:
        for r in range(8):
            state = events.set_external_limit(state, f"feeder{r}", 1900, NOW + timedelta(hours=1))
    return site, state, Params(phase_aware=True)


def median_ms(function) -> str:
    """Median wall and CPU milliseconds: on a shared machine the CPU figure is the one to compare."""
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return f"{statistics.median(cpu):.1f} ms CPU ({statistics.median(wall):.1f} ms wall)"


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    measure(build(), "every connector in a session")
    measure(build(in_session=0.25), "mix: a quarter of the connectors in a session, the rest idle")
    measure_external(build(external=True))


def settle(site: Site, params: Params, first: Plan) -> tuple[Plan, datetime]:
    """The shell sends every change and the chargers accept, until the plan is quiet."""
    now, settled, last = NOW, first.state, first
    for _ in range(6):
        for change in (*last.reductions, *last.increases):
            settled = events.offer_sent(settled, change.key, change.value, now)
            settled = events.offer_accepted(settled, change.key, change.value, now, params)
        now += timedelta(seconds=10)
        last = plan(site, settled, params, now, last)
        settled = last.state
    return last, now


def measure_external(built: tuple[Site, State, Params]) -> None:
    site, state, params = built
    print("--- external limits on the feeders (settled site): one feeder's value moves")
    last, now = settle(site, params, plan(site, state, params, NOW))
    later = now + timedelta(seconds=1)
    pushed = events.set_external_limit(last.state, "feeder3", 1800, later + timedelta(hours=1))
    result = plan(site, pushed, params, later, last)
    counts = (len(result.reductions), len(result.recovery))
    print("after the push: {} reductions, {} constraints in recovery".format(*counts))
    full = median_ms(lambda: plan(site, pushed, params, later))
    print(f"full pass after the push: median {full} over {RUNS} runs")
    incremental = median_ms(lambda: plan(site, pushed, params, later, last))
    print(f"incremental pass after the push: median {incremental} over {RUNS} runs")


def measure(built: tuple[Site, State, Params], title: str) -> None:
    site, state, params = built
    sessions = sum(1 for cs in state.connectors.values() if cs.session is not None)
    print(f"--- {title}: {sessions} of {len(state.connectors)} connectors in a session")
    print(f"load average: {os.getloadavg()}")
    print(f"site: {len(site.groups)} groups, {len(site.controlled)} connectors")
    first = plan(site, state, params, NOW)
    counts = (len(first.reductions), len(first.increases), len(first.pending))
    print("first plan: {} reductions, {} increases, {} pending".format(*counts))
    full = median_ms(lambda: plan(site, state, params, NOW))
    print(f"full pass: median {full} over {RUNS} runs")

    last, now = settle(site, params, first)
    settled = last.state
    counts = (len(last.reductions), len(last.increases), len(last.pending))
    print("settled plan: {} reductions, {} increases, {} pending".format(*counts))
    steady = median_ms(lambda: plan(site, settled, params, now))
    print(f"full pass, settled site: median {steady} over {RUNS} runs")
    first = last
    middle = len(site.controlled) // 2
    key = next(k for k in site.controlled[middle:] if settled.connector(k).session is not None)
    later = now + timedelta(seconds=1)
    # within its limit: the EV uses its offer (the samples' pattern); then one above the limit by more than
    # the tolerance, which the connector then holds (over_a), so its tree's hand-out is played again
    acked = settled.connector(key).acked or 0
    samples = (("one MeterValues event", acked - 0.3), ("one MeterValues above the limit", acked + 1.7))
    for what, amps in samples:
        after = events.meter_values(settled, key, later, (amps,) * 3, params, 5000.0)
        incremental_full = median_ms(lambda after=after: plan(site, after, params, later))
        print(f"full pass after {what}: median {incremental_full} over {RUNS} runs")
        incremental = median_ms(lambda after=after: plan(site, after, params, later, first))
        print(f"incremental pass after {what}: median {incremental} over {RUNS} runs")
    cs = settled.connector(key)
    arrived = replace(settled, connectors={**settled.connectors, key: replace(cs, acked=0, session=None)})
    arrived = events.transaction_started(arrived, site, key, 99, later, 0.0, None)
    arrival = median_ms(lambda: plan(site, arrived, params, later, first))
    print(f"incremental pass after one arrival: median {arrival} over {RUNS} runs")


if __name__ == "__main__":
    main()
