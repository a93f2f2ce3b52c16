"""The allocator under load: passes per second and its CPU share with N chargers at a 10 s meter interval.

A balanz daemon (CSMS mode, smart charging on, store in a temporary folder) runs in a subprocess on
127.0.0.1 with N chargers configured in 20 groups of N/20 under one site (each group 4 A per charger, so
cars compete for the minimum and the allocator has work); this process runs the N simulated chargers
(`balanz.sim`, as `bench/sim_scale.py` does), each with MeterValueSampleInterval 10 s and an EV plugged in.
After every charger has booted and a settling time, the daemon reports once a second: allocator passes
(``AllocatorService.runs``), CPU time spent inside the allocator's synchronous code (events applied,
plans, resyncs — ``time.process_time`` around them; the senders' payload building is not included) and
the daemon's whole CPU time. Loopback only; wall clock.

    .venv/bin/python bench/allocator_load.py [--chargers N] [--seconds S] [--settle S]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

# This folder is on sys.path when the bench runs as a script.
from sim_scale import cpu_seconds, raise_fd_limit, start_chargers

GROUPS = 20


def site_config(n: int, folder: Path) -> Any:
    from balanz.config.schema import (
        AllocatorConfig,
        ChargerConfig,
        Config,
        GroupConfig,
        ServerConfig,
        StoreConfig,
        TagConfig,
    )

    per_group = max(1, n // GROUPS)
    groups = [GroupConfig(id="site", max_allocation=str(4 * n))]
    groups += [
        GroupConfig(id=f"g{g:02d}", parent="site", max_allocation=str(4 * per_group)) for g in range(GROUPS)
    ]
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0, ping_interval_s=0),
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        store=StoreConfig(path=str(folder / "balanz.sqlite")),
        group=tuple(groups),
        charger=tuple(
            ChargerConfig(id=f"SIM{i:05d}", group=f"g{i % GROUPS:02d}", max_current_a=32) for i in range(n)
        ),
        tag=tuple(TagConfig(id=f"T{i:05d}") for i in range(n)),
    )


def serve_daemon(n: int) -> None:
    """Subprocess entry: the daemon, its port on the first stdout line, then a JSON sample a second."""
    import logging

    from balanz.charging.allocator_task import AllocatorService
    from balanz.clock import SiteClock
    from balanz.daemon import build_daemon
    from balanz.store import Store

    logging.basicConfig(level=logging.ERROR)
    raise_fd_limit()
    spent = {"cpu": 0.0}

    def timed(method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent["cpu"] += time.process_time() - began

        return wrapper

    for name in ("run_once", "on_event", "resync"):
        method = getattr(AllocatorService, name, None)
        # Older trees (for before/after figures) lack resync and await answers inside run_once: only
        # synchronous code can be timed this way.
        if method is not None and not inspect.iscoroutinefunction(method):
            setattr(AllocatorService, name, timed(method))
    if os.environ.get("BENCH_PROFILE"):
        # Where the daemon's time goes: cProfile of the whole daemon, written when the bench ends it.
        import cProfile
        import signal

        profiler = cProfile.Profile()

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        profiler.enable()

    async def main() -> None:
        with tempfile.TemporaryDirectory() as folder:
            config = site_config(n, Path(folder))
            daemon = build_daemon(config, store=Store(config.store.path), clock=SiteClock())
            async with trio.open_nursery() as nursery:
                await nursery.start(daemon.run)
                print(daemon.server.port, flush=True)
                allocator = daemon.allocator
                assert allocator is not None
                while True:
                    sample = {
                        "t": time.monotonic(),
                        "runs": allocator.runs,
                        "allocator_cpu_s": spent["cpu"],
                        "daemon_cpu_s": cpu_seconds(),
                        "resyncs": getattr(allocator, "resyncs", None),
                        "dropped": sum(
                            sub.dropped for sub in allocator.bus._subscribers if sub.name == "allocator"
                        ),
                        "published": daemon.allocator.bus.published,
                    }
                    print(json.dumps(sample), flush=True)
                    await trio.sleep(1)

    trio.run(main)


async def simulate(url: str, chargers: int, settle_s: float, seconds: float) -> dict[str, Any]:
    from balanz.sim.clock import SimClock
    from balanz.sim.ev import EvSpec
    from balanz.sim.eventlog import EventLog

    clock = SimClock.starting()
    events = EventLog(keep=False)
    async with trio.open_nursery() as nursery:
        sims = await start_chargers(nursery, url, chargers, clock, events, boot_s=180)
        for i, sim in enumerate(sims):
            sim.plug(1, EvSpec(target_wh=1e9), tag=f"T{i:05d}")
        await trio.sleep(settle_s)
        start = time.monotonic()
        await trio.sleep(seconds)
        end = time.monotonic()
        result = {
            "booted": sum(s.boot_accepted for s in sims),
            "charging": sum(s.connectors[1].transaction_id is not None for s in sims),
            "offered": sum(s.limit(1).amps >= 6 for s in sims),
            "start": start,
            "end": end,
        }
        nursery.cancel_scope.cancel()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=30.0)
    parser.add_argument("--daemon", action="store_true", help=argparse.SUPPRESS)
    # BENCH_PROFILE=file in the environment: the daemon writes a cProfile there (pstats to read it).
    args = parser.parse_args()
    if args.daemon:
        serve_daemon(args.chargers)
        return
    raise_fd_limit()
    command = [sys.executable, __file__, "--daemon", "--chargers", str(args.chargers)]
    daemon = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout is not None
        port = int(daemon.stdout.readline())
        result = trio.run(simulate, f"ws://127.0.0.1:{port}", args.chargers, args.settle, args.seconds)
        time.sleep(1.5)
    finally:
        daemon.terminate()
        out, _ = daemon.communicate(timeout=10)
    samples = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    first = min(samples, key=lambda s: abs(s["t"] - result["start"]))
    last = min(samples, key=lambda s: abs(s["t"] - result["end"]))
    wall = last["t"] - first["t"]
    runs = last["runs"] - first["runs"]
    allocator_cpu = last["allocator_cpu_s"] - first["allocator_cpu_s"]
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "chargers": args.chargers,
        "booted": result["booted"],
        "charging": result["charging"],
        "offered_at_least_6_a": result["offered"],
        "window_s": round(wall, 1),
        "allocator_passes_per_s": round(runs / wall, 2),
        "allocator_cpu_ms_per_pass": round(allocator_cpu * 1000 / max(1, runs), 2),
        "allocator_cpu_share": round(allocator_cpu / wall, 3),
        "daemon_cpu_share": round((last["daemon_cpu_s"] - first["daemon_cpu_s"]) / wall, 3),
        "events_published_per_s": round((last["published"] - first["published"]) / wall, 1),
        "resyncs": last["resyncs"],
        "events_lost_by_the_allocator": last["dropped"] - first["dropped"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
