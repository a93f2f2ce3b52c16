"""A running daemon with its control socket, on virtual time, and a trio NDJSON client for it.

The daemon is the real one (``build_daemon(..., monitor=True)``, a store in tmp_path, OCPP on 127.0.0.1
port 0); chargers are the scripted ones of the CSMS end-to-end tests. The control socket lives in a short
/tmp path (sun_path is limited to 107 bytes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import trio

from balanz.clock import SiteClock
from balanz.config.schema import Config, GroupConfig, MonitorConfig
from balanz.control.delta import apply
from balanz.control.feed import FeedPolicy
from balanz.control.snapshot import Snapshot
from balanz.daemon import build_daemon
from balanz.store import Store
from tests.e2e.csms_charger import T0, RunningDaemon, site_config


def short_dir() -> str:
    return tempfile.mkdtemp(dir="/tmp", prefix="bzc")


def control_config(tmp_path: Path, socket_dir: str | None = None, **monitor: Any) -> Config:
    config = site_config(tmp_path)
    directory = socket_dir or short_dir()
    return dataclasses.replace(
        config,
        server=dataclasses.replace(config.server, ping_interval_s=0, call_timeout_s=30),
        monitor=MonitorConfig(socket=os.path.join(directory, "c.sock"), **monitor),
        group=(GroupConfig(id="site", description="the whole site", max_allocation="63"),),
    )


@dataclasses.dataclass
class Running(RunningDaemon):
    clock: SiteClock = dataclasses.field(default_factory=lambda: SiteClock(T0))

    @property
    def path(self) -> str:
        assert self.daemon.control is not None
        return self.daemon.control.path


async def start(nursery: trio.Nursery, config: Config, policy: FeedPolicy | None = None) -> Running:
    store = Store(config.store.path)
    clock = SiteClock(T0)
    daemon = build_daemon(config, store=store, clock=clock, monitor=True, feed_policy=policy)
    done = trio.Event()

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await daemon.run(task_status=task_status)
        finally:
            done.set()

    await nursery.start(run)
    return Running(daemon, store, done, clock)


OPEN: list[Client] = []


async def close_clients() -> None:
    """Teardown: every client a test opened (an unclosed socket is a ResourceWarning, an error here)."""
    while OPEN:
        await OPEN.pop().close()


class Client:
    """Requests and replies by id; pushes kept in arrival order (``pushes``) for ``next_push``."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""
        self.pushes: list[dict[str, Any]] = []
        self.ids = 0
        self.snapshot: Snapshot | None = None

    @classmethod
    async def connect(cls, path: str, hello: bool = True) -> Client:
        client = cls(await trio.open_unix_socket(path))
        OPEN.append(client)
        if hello:
            await client.ok("hello", {"protocol": 1, "client": "test"})
        return client

    async def close(self) -> None:
        await self.stream.aclose()

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def line(self) -> dict[str, Any] | None:
        while b"\n" not in self.buffer:
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.buffer += data
        raw, self.buffer = self.buffer.split(b"\n", 1)
        message = json.loads(raw)
        if "event" in message:
            self.pushes.append(message)
        return message

    async def reply(self, request_id: Any = None) -> dict[str, Any]:
        while True:
            message = await self.line()
            assert message is not None, "connection closed before the reply"
            if "event" not in message and (request_id is None or message["id"] == request_id):
                return message

    async def request(self, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        self.ids += 1
        await self.send_raw(json.dumps({"id": self.ids, "cmd": cmd, "args": args or {}}).encode() + b"\n")
        return await self.reply(self.ids)

    async def ok(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        reply = await self.request(cmd, args)
        assert reply["ok"], reply
        return reply["result"]

    async def error(self, cmd: str, args: dict[str, Any] | None = None) -> tuple[str, str]:
        reply = await self.request(cmd, args)
        assert not reply["ok"], reply
        return reply["error"]["code"], reply["error"]["message"]

    async def next_push(self, kind: str) -> dict[str, Any]:
        """The next push of ``kind`` (deltas and snapshots also update ``snapshot``); others are skipped."""
        with trio.fail_after(60):
            return await self._next_push(kind)

    async def _next_push(self, kind: str) -> dict[str, Any]:
        while True:
            while self.pushes:
                push = self.pushes.pop(0)
                if push["event"] == "snapshot":
                    self.snapshot = Snapshot.from_json(push["data"])
                elif push["event"] == "delta" and self.snapshot is not None:
                    self.snapshot = apply(self.snapshot, push["data"])
                if push["event"] == kind:
                    return push
            assert await self.line() is not None, "connection closed while waiting for a push"
