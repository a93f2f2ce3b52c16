"""The floor under a full allocator pass in pure Python: the cheapest loops any full pass over
``bench/allocator.py``'s 10,000 connectors must contain, with none of the rules. Prints figures (median
of 50, CPU); docs/benchmarks.md compares them with the 10 ms target. Not a test.

1. walk: look every connector's state up (a pass must at least read each one);
2. want: read the handful of fields the cheapest possible want needs (status, session, confirmed offer,
   the latest sample), compute a ramped want and store it per connector;
3. claims: the same, building one sortable claim per connector and sorting them (R15 serves claims in
   priority and fairness order, so some order over all of them is unavoidable);
4. usage window: only R9's window (samples after the last change, within the monitoring interval).

Each loop is written out in full: a shared helper would add a call per connector to the floor it measures.
Everything the real pass adds (R2 pinning, R6 priorities, R7/R8/R26 counters, R10–R14, R17 exposures,
the hand-out over nested per-phase counters, the diff and the reasons) comes on top of these.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from allocator import NOW, build  # type: ignore[import-not-found]

from balanz.allocation.model import Key
from balanz.allocation.state import ConnectorState

RUNS = int(os.environ.get("BENCH_RUNS", "50"))


def median_cpu_ms(function: Callable[[], object]) -> float:
    cpu = []
    for _ in range(RUNS):
        start = time.process_time()
        function()
        cpu.append((time.process_time() - start) * 1000)
    return statistics.median(cpu)


def walk(keys: list[Key], connectors: dict[Key, ConnectorState]) -> None:
    for key in keys:
        connectors[key]


def wants(keys: list[Key], connectors: dict[Key, ConnectorState]) -> dict[Key, int]:
    result = {}
    for key in keys:
        cs = connectors[key]
        if cs.status is None or cs.session is None:
            continue
        acked = cs.acked or 0
        peak = cs.samples[-1].max_a if cs.samples else 0.0
        result[key] = min(acked + 3, 32) if acked - peak < 1 else acked
    return result


def claims(keys: list[Key], connectors: dict[Key, ConnectorState]) -> list[tuple[object, ...]]:
    result: list[tuple[object, ...]] = []
    for key in keys:
        cs = connectors[key]
        if cs.status is None or cs.session is None:
            continue
        acked = cs.acked or 0
        peak = cs.samples[-1].max_a if cs.samples else 0.0
        amps = min(acked + 3, 32) if acked - peak < 1 else acked
        result.append((-1, cs.session.energy_wh, key, amps))
    result.sort()
    return result


def windows(keys: list[Key], connectors: dict[Key, ConnectorState]) -> None:
    oldest = NOW - timedelta(seconds=300)
    for key in keys:
        cs = connectors[key]
        changed = cs.changed_at
        after = changed if changed is not None and changed >= oldest else oldest
        [s for s in cs.samples if s.at >= after]


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    print(f"load average: {os.getloadavg()}")
    site, state, _params = build()
    keys, connectors = list(site.controlled), state.connectors
    print(f"{len(keys)} connectors, all in a session; median of {RUNS}, CPU")
    for name, loop in (
        ("walk (one lookup per connector)", walk),
        ("want (five fields read, one store)", wants),
        ("claims (want + one sorted claim each)", claims),
        ("usage window only (R9)", windows),
    ):
        print(f"{name}: {median_cpu_ms(lambda loop=loop: loop(keys, connectors)):.2f} ms")


if __name__ == "__main__":
    main()
