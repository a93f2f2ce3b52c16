"""OCPP round trips per second through balanz's wire layer: one connection, then 200.

The server runs in a subprocess (``--serve``) so its CPU time can be read from /proc; this process is the
load generator: N chargers built on the same ``balanz.wire`` client, each sending Heartbeat after
Heartbeat until the window closes. Both sides validate every payload against the schemas, as in
production. A second pass sends pre-encoded frames without client-side validation, so that the load
generator (one process, sharing 2 cores) limits less and the server is measured. Loopback only; about 10 s.

    python bench/wire_roundtrip.py [--window 2] [--connections 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time

import trio
from ocpp.v16 import call

from balanz.config.schema import AuthConfig, Config, ModelConfig, ServerConfig
from balanz.csms.core_handlers import CoreHandlers
from balanz.server import OcppServer
from balanz.wire import Registry
from balanz.wire.client import open_charger_connection, open_websocket

TICKS = os.sysconf("SC_CLK_TCK")


async def serve() -> None:
    config = Config(
        server=dataclasses.replace(ServerConfig(), host="127.0.0.1", port=0, ping_interval_s=0),
        auth=AuthConfig(http_basic=False),
        model=ModelConfig(charger_autoregister=True),
    )
    registry = Registry()
    CoreHandlers(config).register(registry)
    server = OcppServer(config, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        print(server.port, flush=True)


def server_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


async def charger(
    url: str, charger_id: str, ready: trio.Semaphore, go: trio.Event, stop: list[float], count: list[int]
) -> None:
    """A charger on balanz's own client: validates its CALLs and the answers, like the simulator will."""
    async with open_charger_connection(url, charger_id) as conn:
        await conn.call(call.BootNotification(charge_point_vendor="bench", charge_point_model="rt"))
        ready.release()
        await go.wait()
        while time.monotonic() < stop[0]:
            await conn.call(call.Heartbeat())
            count[0] += 1


async def raw_charger(
    url: str, charger_id: str, ready: trio.Semaphore, go: trio.Event, stop: list[float], count: list[int]
) -> None:
    """Pre-encoded frames, no validation here: the generator costs little, the server is measured."""
    async with open_websocket(f"{url}/{charger_id}") as ws:
        ready.release()
        await go.wait()
        n = 0
        while time.monotonic() < stop[0]:
            n += 1
            await ws.send_message(f'[2,"{n}","Heartbeat",{{}}]')
            if not (await ws.get_message()).startswith("[3,"):
                raise RuntimeError("Heartbeat was not answered with a CALLRESULT")
            count[0] += 1


async def scenario(port: int, pid: int, connections: int, window: float, raw: bool) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}"
    ready, go, stop, count = trio.Semaphore(0), trio.Event(), [0.0], [0]
    async with trio.open_nursery() as nursery:
        for i in range(connections):
            nursery.start_soon(
                raw_charger if raw else charger, url, f"b{connections}-{raw}-{i}", ready, go, stop, count
            )
        for _ in range(connections):
            await ready.acquire()
        rss = server_rss_kib(pid)
        cpu0, t0 = server_cpu_s(pid), time.monotonic()
        stop[0] = t0 + window
        go.set()
    elapsed, cpu = time.monotonic() - t0, server_cpu_s(pid) - cpu0
    return {
        "connections": connections,
        "round_trips_per_s": count[0] / elapsed,
        "server_cpu_us_per_rt": cpu * 1e6 / max(count[0], 1),
        "server_rss_kib_per_conn": rss / connections,
        "server_rss_mib": rss / 1024,
    }


async def load(port: int, pid: int, window: float, many: int) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpu, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")  # fmt: skip
    for raw in (False, True):
        client = "raw frames" if raw else "balanz client"
        for connections in (1, many):
            r = await scenario(port, pid, connections, window, raw)
            print(
                f"{client:>13}, {connections:>4} connection(s): {r['round_trips_per_s']:6.0f} round trips/s, "
                f"server {r['server_cpu_us_per_rt']:4.0f} µs CPU per round trip, "
                f"server RSS {r['server_rss_mib']:.1f} MiB"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--window", type=float, default=2.0, help="seconds of traffic per scenario")
    parser.add_argument("--connections", type=int, default=200)
    args = parser.parse_args()
    if args.serve:
        trio.run(serve)
        return 0
    with subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True) as proc:
        try:
            port = int(proc.stdout.readline())
            trio.run(load, port, proc.pid, args.window, args.connections)
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
