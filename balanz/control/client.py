"""Clients of the control socket: asyncio for the monitor, blocking for ``balanz status`` and ``balanz ctl``.

The monitor runs on Textual's asyncio loop, so its client is asyncio: one reader task per connection routes
replies to the waiting request by id and queues pushes. ``follow`` wraps that in the reconnect loop the
monitor needs to survive a daemon restart: connect, hello, subscribe, hand pushes over, and on any loss wait
with exponential back-off and start again. The one-shot commands need no loop at all, so they use a plain
socket with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from balanz.control.protocol import (
    MAX_SERVER_LINE,
    PROTOCOL_VERSION,
    ErrorCode,
    ErrorReply,
    Hello,
    LineDecoder,
    ProtocolError,
    Push,
    Reply,
    Request,
    encode,
    hello_from_json,
    parse_line,
    parse_server_message,
)

logger = logging.getLogger(__name__)

CLIENT_NAME = "balanz"


class ConnectionLost(Exception):
    """The daemon closed the socket, or it could not be reached."""


class RequestFailed(Exception):
    """The daemon answered with an error reply (or did not answer in time: code ``Timeout``)."""

    def __init__(self, cmd: str, code: str, message: str) -> None:
        super().__init__(f"{cmd}: {code}: {message}")
        self.cmd = cmd
        self.code = code
        self.message = message


@dataclass(slots=True)
class Backoff:
    """Delays between reconnect attempts: doubling from ``initial`` up to ``maximum``, reset on success."""

    initial: float = 0.5
    maximum: float = 5.0
    _next: float = 0.0

    def next(self) -> float:
        delay = self._next or self.initial
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = 0.0


class AsyncClient:
    """One connection to the daemon. Use ``await AsyncClient.connect(path)`` and ``async with``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._pending: dict[int | str, tuple[str, asyncio.Future[Any]]] = {}
        self._pushes: asyncio.Queue[Push | None] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._read_loop())
        self.hello: Hello | None = None
        self.closed_reason = ""

    @classmethod
    async def connect(cls, path: str, client: str = CLIENT_NAME, timeout: float = 10.0) -> AsyncClient:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(path, limit=MAX_SERVER_LINE), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"cannot reach the daemon at {path}: {exc}") from None
        self = cls(reader, writer, timeout)
        try:
            result = await self.request("hello", {"protocol": PROTOCOL_VERSION, "client": client})
            self.hello = hello_from_json(result)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def request(
        self, cmd: str, args: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """Send one request and wait for its reply; ``RequestFailed`` carries the daemon's error."""
        if self._task.done():
            raise ConnectionLost(self.closed_reason or "connection closed")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (cmd, future)
        try:
            self._writer.write(encode(Request(id=request_id, cmd=cmd, args=dict(args or {}))))
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout if timeout is not None else self.timeout)
        except TimeoutError:
            raise RequestFailed(cmd, ErrorCode.TIMEOUT, "no reply from the daemon in time") from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(str(exc)) from None
        finally:
            self._pending.pop(request_id, None)

    async def pushes(self) -> AsyncIterator[Push]:
        """Pushes in arrival order until the connection ends (then ``ConnectionLost``)."""
        while True:
            push = await self._pushes.get()
            if push is None:
                raise ConnectionLost(self.closed_reason or "connection closed")
            yield push

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        try:
            while line := await self._reader.readline():
                if not line.endswith(b"\n"):
                    break
                if line.strip():
                    self._dispatch(parse_server_message(parse_line(line)))
            self.closed_reason = "the daemon closed the connection"
        except (OSError, ValueError, ProtocolError) as exc:
            self.closed_reason = f"connection lost: {exc}"
        finally:
            for cmd, future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        ConnectionLost(f"{cmd}: {self.closed_reason or 'connection closed'}")
                    )
            self._pushes.put_nowait(None)

    def _dispatch(self, message: Reply | ErrorReply | Push) -> None:
        if isinstance(message, Push):
            self._pushes.put_nowait(message)
            return
        cmd, future = self._pending.get(message.id, ("", None)) if message.id is not None else ("", None)
        if future is None or future.done():
            logger.warning("reply to unknown request id %r ignored", message.id)
            return
        if isinstance(message, Reply):
            future.set_result(message.result)
        else:
            future.set_exception(RequestFailed(cmd, message.code, message.message))


class Subscriber(Protocol):
    """What ``follow`` tells its owner (the monitor app)."""

    def on_connected(self, client: AsyncClient) -> None: ...

    def on_push(self, push: Push) -> None: ...

    def on_disconnected(self, reason: str, retry_in: float) -> None: ...


async def follow(
    path: str,
    subscriber: Subscriber,
    topics: tuple[str, ...] = ("state", "events", "logs"),
    level: str = "INFO",
    backoff: Backoff | None = None,
    client: str = CLIENT_NAME,
) -> None:
    """Stay subscribed to the daemon at ``path`` until cancelled, reconnecting with back-off."""
    backoff = backoff or Backoff()
    while True:
        reason = "the daemon closed the connection"
        try:
            async with await AsyncClient.connect(path, client=client) as conn:
                subscriber.on_connected(conn)
                backoff.reset()
                await conn.request("subscribe", {"topics": list(topics), "level": level})
                async for push in conn.pushes():
                    subscriber.on_push(push)
        except (ConnectionLost, RequestFailed, ProtocolError) as exc:
            reason = str(exc)
        delay = backoff.next()
        subscriber.on_disconnected(reason, delay)
        await asyncio.sleep(delay)


class BlockingClient:
    """A one-shot connection for command-line use: hello, then requests, each with a timeout."""

    def __init__(self, path: str, timeout: float = 10.0, client: str = CLIENT_NAME) -> None:
        self.path = path
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._decoder = LineDecoder(MAX_SERVER_LINE)
        self._ready: list[Any] = []
        self._ids = itertools.count(1)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise ConnectionLost(
                f"cannot reach the daemon at {path}: {exc.strerror or exc}; is 'balanz run' running "
                "with this configuration?"
            ) from None
        try:
            self.hello = hello_from_json(
                self.request("hello", {"protocol": PROTOCOL_VERSION, "client": client})
            )
        except BaseException:
            self._sock.close()
            raise

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def request(self, cmd: str, args: Mapping[str, Any] | None = None) -> Any:
        request_id = next(self._ids)
        try:
            self._sock.sendall(encode(Request(id=request_id, cmd=cmd, args=dict(args or {}))))
            while True:
                message = parse_server_message(self._next_line(cmd))
                if isinstance(message, Push) or message.id != request_id:
                    continue
                if isinstance(message, ErrorReply):
                    raise RequestFailed(cmd, message.code, message.message)
                return message.result
        except TimeoutError:
            raise RequestFailed(cmd, ErrorCode.TIMEOUT, f"no reply within {self.timeout:g} s") from None
        except OSError as exc:
            raise ConnectionLost(f"{cmd}: connection to {self.path} lost: {exc}") from None

    def _next_line(self, cmd: str) -> Any:
        while not self._ready:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionLost(f"{cmd}: the daemon closed the connection")
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)
