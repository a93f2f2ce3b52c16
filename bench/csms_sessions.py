"""Sessions completed per second end to end: a real `balanz run` daemon in a subprocess, N scripted chargers
in this process over loopback, each repeating Start → MeterValues ×M → Stop as fast as answers come.

Every StopTransaction answer means the session was committed durably first (synchronous=FULL), so the figure
is bounded by the disk's fsync rate as much as by the daemon. The run lasts a fixed time; the count is
checked against the store afterwards with `balanz sessions list`-equivalent reads.

Usage: python bench/csms_sessions.py [--chargers N] [--meters M] [--seconds S] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import tomli_w
import trio

from balanz.store import SessionFilter, Store
from balanz.wire.client import open_charger_connection

URL_LINE = re.compile(r"chargers connect to ws://[^:]+:(\d+)/")


def write_config(directory: Path, chargers: int) -> Path:
    config = {
        "mode": {"kind": "csms", "smart_charging": False},
        "server": {"host": "127.0.0.1", "port": 0},
        "auth": {"http_basic": False},
        "store": {"path": str(directory / "bench.sqlite")},
        "logging": {"level": "WARNING", "levels": {"balanz.daemon": "INFO"}},
        "group": [{"id": "site"}],
        "charger": [{"id": f"BENCH-{i:03d}", "group": "site"} for i in range(chargers)],
        "tag": [{"id": f"TAG{i:03d}"} for i in range(chargers)],
    }
    path = directory / "bench.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def start_daemon(config: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "balanz", "run", "-c", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if match := URL_LINE.search(line):
            return proc, int(match.group(1))
    proc.kill()
    raise SystemExit("daemon did not start (no 'chargers connect to' line)")


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def charger(url: str, index: int, meters: int, stop_at: float, done: list[int]) -> None:
    charger_id, tag = f"BENCH-{index:03d}", f"TAG{index:03d}"
    register = 0
    async with open_charger_connection(url, charger_id) as conn:
        await conn.call_raw("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B"})
        while trio.current_time() < stop_at:
            start = {"connectorId": 1, "idTag": tag, "meterStart": register, "timestamp": stamp()}
            tx = (await conn.call_raw("StartTransaction", start))["transactionId"]
            for _ in range(meters):
                register += 100
                sample = [
                    {"value": str(register), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "15.9", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                ]
                await conn.call_raw(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": tx,
                        "meterValue": [{"timestamp": stamp(), "sampledValue": sample}],
                    },
                )
            stop = {"transactionId": tx, "meterStop": register, "timestamp": stamp(), "reason": "Local"}
            await conn.call_raw("StopTransaction", stop)
            done[index] += 1


async def drive(port: int, chargers: int, meters: int, seconds: float) -> tuple[int, float]:
    done = [0] * chargers
    url = f"ws://127.0.0.1:{port}"
    began = trio.current_time()
    async with trio.open_nursery() as nursery:
        for i in range(chargers):
            nursery.start_soon(charger, url, i, meters, began + seconds, done)
    return sum(done), trio.current_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=20)
    parser.add_argument("--meters", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="csms-bench-", dir=args.dir))
    proc = None
    try:
        proc, port = start_daemon(write_config(directory, args.chargers))
        sessions, elapsed = trio.run(drive, port, args.chargers, args.meters, args.seconds)
        proc.terminate()
        proc.wait(timeout=30)
        with Store(directory / "bench.sqlite") as store:
            stored = len(store.sessions(SessionFilter()))
        if stored != sessions:
            raise SystemExit(f"{sessions} stops acknowledged but {stored} sessions stored")
        print(
            f"{sessions} sessions ({args.chargers} chargers, Start + {args.meters} MeterValues + Stop each) "
            f"in {elapsed:.1f} s: {sessions / elapsed:.0f} sessions/s end to end "
            f"({sessions * (args.meters + 2) / elapsed:.0f} messages/s); all {stored} in the store"
        )
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
