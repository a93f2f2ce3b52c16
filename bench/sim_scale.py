"""How many simulated chargers one process carries: CPU share and memory per charger.

Starts a minimal central system (balanz's `OcppServer` with the scripted handlers of balanz.sim.testcsms)
in a subprocess on 127.0.0.1, then N simulated chargers in this process, each with an EV charging under a
10 s MeterValueSampleInterval, and measures this process's CPU time and RSS over a bounded wall-clock window.
Loopback only. A figure, not a test: run `python bench/sim_scale.py [--chargers N] [--seconds S]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EventLog, read_jsonl
from balanz.sim.spec import SimChargerSpec

logger = logging.getLogger(__name__)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: str = "self") -> float:
    """utime + stime of a process from /proc (no psutil needed)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve_csms() -> None:
    """Subprocess entry: the scripted CSMS on an ephemeral port, printed on stdout."""
    from balanz.sim.testcsms import ScriptedCsms, csms_config, scripted_server

    raise_fd_limit()

    async def main() -> None:
        csms = ScriptedCsms(keep=False)
        server = scripted_server(csms, csms_config(ping_interval_s=0, charger_stale_s=3600))
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            print(server.port, flush=True)
            await trio.sleep_forever()

    trio.run(main)


async def start_chargers(
    nursery: trio.Nursery, url: str, chargers: int, clock: SimClock, events: EventLog, boot_s: float = 120
) -> list[SimCharger]:
    """Chargers SIM00000… with a 10 s meter interval, 50 at a time; returns once all booted (or after
    ``boot_s``). Also used by bench/allocator_load.py."""
    sims = []
    for i in range(chargers):
        spec = SimChargerSpec(id=f"SIM{i:05d}", call_timeout_s=60,
                              configuration={"MeterValueSampleInterval": "10"})  # fmt: skip
        sim = SimCharger(spec, url, clock=clock, events=events)
        await nursery.start(sim.run)
        sims.append(sim)
        if i % 50 == 49:
            await trio.sleep(0.25)
    with trio.move_on_after(boot_s):
        for sim in sims:
            await sim.wait_booted()
    return sims


async def simulate(url: str, chargers: int, seconds: float, events: EventLog) -> dict[str, Any]:
    clock = SimClock.starting()
    async with trio.open_nursery() as nursery:
        sims = await start_chargers(nursery, url, chargers, clock, events)
        booted = sum(s.boot_accepted for s in sims)
        for sim in sims:
            sim.plug(1, EvSpec(target_wh=1e9), tag="BENCH")
        await trio.sleep(15)
        cpu0, wall0, sent0, at0 = cpu_seconds(), time.monotonic(), events.emitted, clock.now()
        await trio.sleep(seconds)
        cpu1, wall1, at1 = cpu_seconds(), time.monotonic(), clock.now()
        charging = sum(s.connectors[1].transaction_id is not None for s in sims)
        records = events.emitted - sent0
        nursery.cancel_scope.cancel()
    return {
        "from": at0.isoformat(),
        "to": at1.isoformat(),
        "booted": booted,
        "charging": charging,
        "cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
        "rss_mib": rss_mib(),
        "records": records,
        "window_s": wall1 - wall0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--csms", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.csms:
        serve_csms()
        return
    logging.basicConfig(level=logging.ERROR)
    raise_fd_limit()
    csms = subprocess.Popen([sys.executable, __file__, "--csms"], stdout=subprocess.PIPE, text=True)
    try:
        assert csms.stdout is not None
        port = int(csms.stdout.readline())
        csms_cpu0 = cpu_seconds(str(csms.pid))
        base_rss = rss_mib()
        with tempfile.TemporaryFile("w+") as log_file:
            events = EventLog(stream=log_file, keep=False)
            result = trio.run(simulate, f"ws://127.0.0.1:{port}", args.chargers, args.seconds, events)
            log_file.seek(0)
            sent = [
                r
                for r in read_jsonl(log_file)
                if r["type"] == "Sent" and result["from"] <= r["at"] < result["to"]
            ]
            in_window = [r for r in sent if r["action"] == "MeterValues"]
            answered = sum(1 for r in in_window if r["answer"] is not None)
        csms_cpu = cpu_seconds(str(csms.pid)) - csms_cpu0
    finally:
        csms.terminate()
        csms.wait(10)
    n = args.chargers
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "chargers": n,
        "booted": result["booted"],
        "charging": result["charging"],
        "window_s": round(result["window_s"], 1),
        "sim_cpu_share": round(result["cpu_share"], 3),
        "sim_cpu_ms_per_charger_per_s": round(result["cpu_share"] * 1000 / n, 4),
        "sim_rss_mib": round(result["rss_mib"], 1),
        "sim_rss_kib_per_charger": round((result["rss_mib"] - base_rss) * 1024 / n, 1),
        "meter_values_per_s": round(len(in_window) / result["window_s"], 1),
        "meter_values_per_s_expected": n / 10,
        "meter_values_answered_share": round(answered / max(1, len(in_window)), 3),
        "sim_cpu_ms_per_message_sent": round(
            result["cpu_share"] * result["window_s"] * 1000 / max(1, len(sent)), 2
        ),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "event_records_in_window": result["records"],
        "csms_cpu_s_total": round(csms_cpu, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
