"""Wall-clock time from a StopTransaction to the freed current offered to a waiting car (loopback).

N simulated chargers share a supply of 6 A x (N - 1): every car but one runs at the 6 A minimum, the last
one waits at 0 A. Then one car leaves; measured is the time from the moment the simulated charger sends
its StopTransaction to the moment the waiting charger installs a profile above 0 A — the whole path:
websocket, CSMS handlers, event bus, debounce, plan, reduction of the leaving connector and its answer,
then the increase and its answer. ``wait_after_reduce_s`` and ``profiles.min_interval_s`` are set to 0 so
the figure is balanz's own latency (with the defaults the increase would wait 5 s by rule, R17, and a
connector raised less than 10 s before would wait for its interval, R18).

    .venv/bin/python bench/freed_current.py [N] [repeats] [--trace]

``--trace`` prints, per round, where the time went: the allocator's events, its runs (with their
duration) and each offer's CALL from send to answer, in ms after the StopTransaction left the charger.
"""

from __future__ import annotations

import logging
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import trio

from balanz.charging.allocator_task import AllocatorService
from balanz.charging.dispatch import Dispatcher
from balanz.clock import SiteClock
from balanz.config.schema import (
    AllocatorConfig,
    ChargerConfig,
    Config,
    GroupConfig,
    ProfilesConfig,
    ServerConfig,
    StoreConfig,
    TagConfig,
)
from balanz.daemon import build_daemon
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EventLog, LimitChanged
from balanz.sim.spec import SimChargerSpec
from balanz.store import Store

CAR = EvSpec(max_current_a=6, min_current_a=6, target_wh=1_000_000)
TRACE: list[tuple[float, str]] = []


def trace_allocator() -> None:
    """Wrap the allocator's entry points to record when events arrive, runs happen and CALLs answer."""
    on_event, run_once, send_change = (
        AllocatorService.on_event,
        AllocatorService.run_once,
        Dispatcher._send_change,
    )

    def traced_event(self: AllocatorService, event: object) -> None:
        TRACE.append(
            (time.perf_counter(), f"event {type(event).__name__} {getattr(event, 'charger_id', '')}")
        )
        on_event(self, event)

    def traced_run(self: AllocatorService) -> object:
        began = time.perf_counter()
        result = run_once(self)
        changes = len(result.reductions) + len(result.increases)  # type: ignore[attr-defined]
        TRACE.append((began, f"run ({(time.perf_counter() - began) * 1000:.1f} ms, {changes} change(s))"))
        return result

    async def traced_send(self: Dispatcher, change: object, reduction: bool = False) -> None:
        began = time.perf_counter()
        await send_change(self, change, reduction)  # type: ignore[arg-type]
        key, value = change.key, change.value  # type: ignore[attr-defined]
        ms = (time.perf_counter() - began) * 1000
        TRACE.append((began, f"offer {key[0]}:{key[1]} {value} A sent, answered after {ms:.1f} ms"))

    AllocatorService.on_event = traced_event  # type: ignore[method-assign]
    AllocatorService.run_once = traced_run  # type: ignore[method-assign]
    Dispatcher._send_change = traced_send  # type: ignore[method-assign]


def print_trace(started: float, chargers: tuple[str, ...]) -> None:
    for at, what in sorted(TRACE):
        words = what.replace(":", " ").split()
        if at >= started and (words[0] == "run" or any(c in words for c in chargers)):
            print(f"  {(at - started) * 1000:8.1f} ms  {what}")
    TRACE.clear()


def site_config(n: int, folder: Path) -> Config:
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0, ping_interval_s=0),
        allocator=AllocatorConfig(first_wait_s=0, wait_after_reduce_s=0, timezone="UTC"),
        profiles=ProfilesConfig(min_interval_s=0),
        store=StoreConfig(path=str(folder / "balanz.sqlite")),
        group=(GroupConfig(id="site", max_allocation=str(6 * (n - 1))),),
        charger=tuple(ChargerConfig(id=f"CP{i}", group="site", max_current_a=32) for i in range(1, n + 1)),
        tag=tuple(TagConfig(id=f"T{i}") for i in range(1, n + 1)),
    )


async def until(predicate: object, timeout_s: float) -> None:
    with trio.fail_after(timeout_s):
        while not predicate():  # type: ignore[operator]
            await trio.sleep(0.05)


async def measure(n: int, repeats: int, trace: bool) -> list[float]:
    results: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        config = site_config(n, Path(folder))
        daemon = build_daemon(config, store=Store(config.store.path), clock=SiteClock())
        log = EventLog()
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            url = f"ws://127.0.0.1:{daemon.server.port}"
            clock = SimClock.starting(datetime.now(UTC))
            chargers = []
            for i in range(1, n + 1):
                spec = SimChargerSpec(id=f"CP{i}", boot_delay_s=0.1)
                charger = SimCharger(spec, url, clock=clock, events=log)
                await nursery.start(charger.run)
                chargers.append(charger)
            for charger in chargers:
                await charger.wait_booted()
            for i, charger in enumerate(chargers):
                charger.plug(1, CAR, tag=f"T{i + 1}")
            served = lambda: sum(c.limit(1).amps >= 6 for c in chargers) == n - 1  # noqa: E731
            await until(served, 120)
            for round_ in range(repeats):
                waiting = next(c for c in chargers if c.limit(1).amps < 6 and c.transactions())
                leaving = next(c for c in chargers if c.limit(1).amps >= 6 and c.transactions())
                mark = len(log.records)
                TRACE.clear()
                started = time.perf_counter()
                left_at = clock.now()
                leaving.unplug(1)
                await until(lambda w=waiting: w.limit(1).amps >= 6, 60)
                got = [
                    r
                    for r in log.records[mark:]
                    if isinstance(r, LimitChanged) and r.charger == waiting.id and r.amps >= 6
                ]
                assert got, "the waiting charger's limit change is in its event log"
                # The charger's own record of the instant (its clock runs at wall speed): exact, unlike
                # the 50 ms polling above.
                elapsed = (got[0].at - left_at).total_seconds()
                results.append(elapsed)
                ms = elapsed * 1000
                print(f"round {round_ + 1}: {leaving.id} left, {waiting.id} offered 6 A after {ms:.0f} ms")
                if trace:
                    print_trace(started, (leaving.id, waiting.id))
                leaving.plug(1, CAR, tag=f"T{chargers.index(leaving) + 1}")
                await until(lambda lv=leaving: bool(lv.transactions()), 30)
                await trio.sleep(1)
            nursery.cancel_scope.cancel()
    return results


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    trace = "--trace" in sys.argv
    n = int(args[0]) if args else 200
    repeats = int(args[1]) if len(args) > 1 else 5
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {n} chargers, loopback")
    if trace:
        trace_allocator()
    times = trio.run(measure, n, repeats, trace)
    median_ms, max_ms = statistics.median(times) * 1000, max(times) * 1000
    print(
        f"StopTransaction -> freed current installed elsewhere: median {median_ms:.0f} ms, "
        f"max {max_ms:.0f} ms over {len(times)} rounds"
    )


if __name__ == "__main__":
    main()
