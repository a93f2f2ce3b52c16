"""A stand-in for the daemon's control socket, in asyncio, for client, CLI and monitor tests.

It speaks the real protocol through the real pure pieces the daemon will use (``ControlConnection``,
``diff``, ``encode``): requests are checked as the daemon checks them (hello first, command table, access),
and ``requests`` records them as the daemon would execute them, defaults filled in; pushes are the deltas
``diff`` computes. What the daemon would *do* with
a command is out of scope: the fake records each request and answers with a canned result or error.

The listening socket is bound synchronously (``listen``) before the app under test starts, so a client
connecting early waits in the backlog instead of failing: tests do not depend on who starts first.
"""

import asyncio
import contextlib
import os
import socket
import tempfile
from pathlib import Path

from balanz.control.connection import ControlConnection
from balanz.control.delta import diff
from balanz.control.protocol import (
    Access,
    ErrorReply,
    Event,
    LogLine,
    ProtocolError,
    Push,
    Reply,
    Request,
    as_json,
    encode,
)
from balanz.control.snapshot import Snapshot


def short_socket_path() -> str:
    """A socket path well under the 107-byte sun_path limit (pytest's tmp_path can be longer)."""
    return os.path.join(tempfile.mkdtemp(dir="/tmp", prefix="bz"), "c.sock")


def listen(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o600)
    sock.listen(16)
    sock.setblocking(False)
    return sock


class FakeDaemon:
    def __init__(self, snapshot: Snapshot, sock: socket.socket, mode: str = "csms", access: str = "control"):
        self.snapshot = snapshot
        self.sock = sock
        self.path = sock.getsockname()
        self.mode = mode
        self.access = access
        self.requests: list[Request] = []
        self.replies: dict[str, object] = {}
        self.subscribers: list[asyncio.StreamWriter] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.seq = 0
        self.connections = 0
        self.request_seen = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> "FakeDaemon":
        self.server = await asyncio.start_unix_server(self._handle, sock=self.sock)
        return self

    async def close(self) -> None:
        await self.drop_clients()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()

    async def drop_clients(self) -> None:
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.writers, self.subscribers = [], []

    async def next_request(self, cmd: str, timeout: float = 5.0) -> Request:
        """The first request named ``cmd`` not yet taken (waits for it)."""

        async def wait() -> Request:
            while True:
                for index, request in enumerate(self.requests):
                    if request.cmd == cmd:
                        return self.requests.pop(index)
                self.request_seen.clear()
                await self.request_seen.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def publish(self, snapshot: Snapshot) -> dict:
        delta = diff(self.snapshot, snapshot)
        self.snapshot = snapshot
        await self._push("delta", delta)
        return delta

    async def push_event(self, event: Event | LogLine) -> None:
        await self._push("event" if isinstance(event, Event) else "log", as_json(event))

    async def push_raw(self, line: bytes) -> None:
        for writer in list(self.subscribers):
            try:
                writer.write(line)
                await writer.drain()
            except ConnectionError:
                self._forget(writer)

    def _forget(self, writer: asyncio.StreamWriter) -> None:
        for group in (self.subscribers, self.writers):
            if writer in group:
                group.remove(writer)

    async def _push(self, kind: str, data: object) -> None:
        self.seq += 1
        await self.push_raw(encode(Push(event=kind, seq=self.seq, data=data)))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        conn = ControlConnection(Access(self.access))
        try:
            while data := await reader.read(65536):
                for item in conn.receive(data):
                    reply = item if isinstance(item, ErrorReply) else self._answer(conn, item)
                    writer.write(encode(reply))
                    await writer.drain()
                    if isinstance(item, Request) and item.cmd == "subscribe":
                        self.seq += 1
                        writer.write(
                            encode(Push(event="snapshot", seq=self.seq, data=self.snapshot.to_json()))
                        )
                        self.subscribers.append(writer)
                        await writer.drain()
        except (ConnectionError, ProtocolError):
            pass
        finally:
            self._forget(writer)
            writer.close()

    def _answer(self, conn: ControlConnection, request: Request) -> Reply | ErrorReply:
        self.requests.append(request)
        self.request_seen.set()
        if request.cmd == "hello":
            return conn.hello_reply(request, version="0.1.0", mode=self.mode, site=self.snapshot.site.name)
        if request.cmd == "subscribe":
            return Reply(request.id, {"topics": request.args["topics"]})
        if request.cmd == "snapshot":
            return Reply(request.id, self.snapshot.to_json())
        answer = self.replies.get(request.cmd, {})
        if isinstance(answer, ErrorReply):
            return ErrorReply(request.id, answer.code, answer.message)
        return Reply(request.id, answer)


async def serve_demo(path: str, site: str) -> None:
    """Serve a recorded site at ``path``, two states alternating each second (demo for the monitor)."""
    from tests.tui.sites import load_site, site4_later

    first = load_site(site)
    states = [first, site4_later()] if site == "site4.json" else [first]
    daemon = await FakeDaemon(first, listen(path)).start()
    tick = 0
    try:
        while True:
            await asyncio.sleep(1)
            tick += 1
            await daemon.publish(states[tick % len(states)])
            await daemon.push_event(
                Event(
                    at=states[tick % len(states)].at,
                    kind="allocation",
                    text=f"demo tick {tick}",
                    charger="HQ-01",
                    connector=1,
                    rule="R15",
                )
            )
    finally:
        await daemon.close()


if __name__ == "__main__":
    import sys

    asyncio.run(serve_demo(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "site4.json"))
