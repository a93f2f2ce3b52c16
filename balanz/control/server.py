"""The daemon's control socket (issue 7): a daemon service that serves the monitor, ``balanz status`` and
``balanz ctl`` over NDJSON on a Unix socket.

    ControlServer.run (daemon service)
    ├── listener(s): control socket 0600, optional read-only socket 0660
    ├── builder: one site snapshot per change (at most every BUILD_GAP_S, at least every
    │   monitor.snapshot_interval_s), offered to every subscribed client
    ├── events: the CSMS event bus → ``event`` pushes (and a snapshot rebuild)
    └── one nursery per client: reader (requests), writer (bytes out), ticker (coalesced deltas, verdict)

Nothing a client does can slow the daemon: pushes are queued without awaiting, the pure ``Feed`` counts the
bytes the socket has not taken yet, and a client whose backlog grows too large or stops shrinking is
dropped. Log lines reach clients through the ``LogBuffer`` handler.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from balanz import __version__
from balanz.config.schema import Config
from balanz.control.connection import ControlConnection, LineTooLong
from balanz.control.event_text import describe
from balanz.control.executor import Executor
from balanz.control.feed import Feed, FeedPolicy
from balanz.control.intents import AllocatorHooks, GroupLimit, OperatorIntents
from balanz.control.listener import open_unix_listener, unlink_if_ours
from balanz.control.logbuffer import LogBuffer
from balanz.control.protocol import (
    Access,
    ErrorCode,
    ErrorReply,
    Event,
    LogLine,
    ProtocolError,
    Reply,
    Request,
    encode,
)
from balanz.control.site_snapshot import SiteFacts, SnapshotProvider, build_snapshot, iso
from balanz.control.snapshot import Snapshot
from balanz.control.socket_path import configured_socket
from balanz.csms.operator import CsmsOperator
from balanz.csms.service import CsmsService
from balanz.store import PriorityOverride, Store

if TYPE_CHECKING:
    from balanz.daemon import Daemon

logger = logging.getLogger(__name__)

BUILD_GAP_S = 0.1
STALL_SLACK_S = 0.01
FLUSH_S = 1.0
MAX_REPLY_BACKLOG = 8 * 1024 * 1024
MAX_CONCURRENT_REQUESTS = 16
INLINE = frozenset({"hello", "subscribe", "unsubscribe"})


class ControlServer:
    """Built by ``build_daemon`` for a daemon with a store; ``daemon.control`` is this object.

    The allocator shell plugs in with ``providers.append(fn)`` (``Snapshot -> Snapshot``: group limits,
    offers, exposure, reasons) and ``allocator = hooks`` (``AllocatorHooks``).
    """

    def __init__(self, config: Config, service: CsmsService, policy: FeedPolicy | None = None) -> None:
        self.config = config
        self.service = service
        self.store: Store = service.store
        self.clock = service.clock
        self.version = __version__
        self.policy = policy or FeedPolicy()
        self.providers: list[SnapshotProvider] = []
        self.allocator: AllocatorHooks | None = None
        self.intents = OperatorIntents()
        self.logs = LogBuffer(config.logging.buffer_lines)
        self.clients: set[_Client] = set()
        self.executor = Executor(self)
        self.started_at: datetime | None = None
        self.started_monotonic = time.monotonic()
        self._operator: CsmsOperator | None = None
        self._dirty = trio.Event()
        self._priorities: dict[tuple[str, int], PriorityOverride] = {}
        self._suspended: dict[str, datetime] = {}

    @property
    def operator(self) -> CsmsOperator:
        if self._operator is None:
            raise ProtocolError(ErrorCode.INTERNAL, "the CSMS operator is not attached")
        return self._operator

    @property
    def path(self) -> str:
        return configured_socket(self.config.monitor.socket, self.config.store.path, self.config.source)

    # ---- state -------------------------------------------------------------------------------------------

    def build(self) -> Snapshot:
        now = self.clock.now()
        for group in self.intents.expire(now):
            self.store.clear_group_limit(group)
            logger.info("group %s: operator limit expired", group)
        facts = SiteFacts(
            self.config,
            self.version,
            self.started_at,
            self._priorities,
            self._suspended,
            self.intents,
        )
        return build_snapshot(self.service.snapshot(), facts, self.providers)

    def refresh(self) -> None:
        """Something changed outside the event bus (an operator command): reread and rebuild soon."""
        self._priorities = self.store.priority_overrides()
        self._suspended = self.store.suspended_groups()
        self.intents = OperatorIntents(
            self.store.suspended_connectors(),
            {
                g: GroupLimit(limit.limit_a, limit.until, limit.set_by)
                for g, limit in self.store.group_limits().items()
                if limit.until is not None
            },
        )
        self._dirty.set()

    def changed(self) -> None:
        """The allocator decided something: rebuild soon (the builder still sends at most one delta per
        feed interval)."""
        self._dirty.set()

    def audit(self, kind: str, message: str, charger_id: str | None = None) -> None:
        self.service.audit(kind, message, charger_id)
        self.announce(Event(at=iso(self.clock.now()), kind="audit", text=message, charger=charger_id or ""))

    def announce(self, event: Event) -> None:
        now = trio.current_time()
        for client in list(self.clients):
            if client.feed is not None:
                client.push(client.feed.event(event, now))

    def _log_line(self, line: LogLine) -> None:
        try:
            now = trio.current_time()
        except RuntimeError:
            return
        for client in list(self.clients):
            if client.feed is not None:
                client.push(client.feed.log(line, now))

    # ---- service -----------------------------------------------------------------------------------------

    async def run(
        self, daemon: Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        if daemon.csms is not None:
            self._operator = daemon.csms.operator
        self.started_at = self.clock.now()
        self.refresh()
        monitor = self.config.monitor
        sockets = [(self.path, 0o600, "", Access.CONTROL)]
        if monitor.readonly_socket:
            readonly = configured_socket(monitor.readonly_socket, self.config.store.path, self.config.source)
            sockets.append((readonly, 0o660, monitor.readonly_group, Access.READONLY))
        opened: list[tuple[str, int]] = []
        root = logging.getLogger()
        try:
            async with trio.open_nursery() as nursery:
                for path, mode, group, access in sockets:
                    listener = await open_unix_listener(path, mode, group)
                    opened.append((path, os.stat(path).st_ino))
                    nursery.start_soon(
                        partial(trio.serve_listeners, partial(self._serve, access), [listener])
                    )
                    logger.info("control socket %s (%s)", path, access.value)
                self.logs.listeners.append(self._log_line)
                root.addHandler(self.logs)
                sub = self.service.events.subscribe("control-socket", capacity=4096)
                nursery.start_soon(self._events, sub)
                nursery.start_soon(self._builder)
                task_status.started()
        finally:
            root.removeHandler(self.logs)
            for path, inode in opened:
                unlink_if_ours(path, inode)

    async def _events(self, sub: Any) -> None:
        async for event in sub.receive:
            self._dirty.set()
            text = describe(event)
            if text is not None:
                self.announce(text)

    async def _builder(self) -> None:
        """Rebuild on change, and every ``snapshot_interval_s`` while someone is subscribed (the snapshot's
        time and last-seen columns move without events). Idle without subscribers: no timer at all."""
        interval = max(self.config.monitor.snapshot_interval_s, BUILD_GAP_S)
        while True:
            subscribed = any(c.feed is not None for c in self.clients)
            with trio.move_on_after(interval if subscribed else math.inf):
                await self._dirty.wait()
            self._dirty = trio.Event()
            subscribed_now = [c for c in self.clients if c.feed is not None]
            if subscribed_now:
                snapshot = self.build()
                for client in subscribed_now:
                    client.offer(snapshot)
            await trio.sleep(BUILD_GAP_S)

    async def _serve(self, access: Access, stream: trio.SocketStream) -> None:
        client = _Client(self, stream, access)
        self.clients.add(client)
        try:
            await client.run()
        except Exception:
            logger.exception("control client %s failed", client.name)
        finally:
            self.clients.discard(client)
            await trio.aclose_forcefully(stream)


class _Client:
    def __init__(self, server: ControlServer, stream: trio.SocketStream, access: Access) -> None:
        self.server = server
        self.stream = stream
        self.conn = ControlConnection(access)
        self.feed: Feed | None = None
        self.out: deque[tuple[bytes, bool]] = deque()
        self.reply_backlog = 0
        self.scope = trio.CancelScope()
        self._wake_writer = trio.Event()
        self._wake_ticker = trio.Event()
        self._flushed = trio.Event()
        self._requests = trio.Semaphore(MAX_CONCURRENT_REQUESTS)

    @property
    def name(self) -> str:
        return self.conn.client or "unnamed client"

    async def run(self) -> None:
        with self.scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer)
                nursery.start_soon(self._ticker)
                await self._reader(nursery)
                with trio.move_on_after(FLUSH_S):
                    await self._flushed.wait()
                nursery.cancel_scope.cancel()

    # ---- queueing (never awaits) -------------------------------------------------------------------------

    def push(self, lines: list[bytes]) -> None:
        for line in lines:
            self.out.append((line, True))
        if lines:
            self._queued()
            self._wake_ticker.set()
            self.check()

    def reply(self, message: Reply | ErrorReply) -> None:
        data = encode(message)
        self.out.append((data, False))
        self.reply_backlog += len(data)
        self._queued()
        self.check()

    def _queued(self) -> None:
        if self._flushed.is_set():
            self._flushed = trio.Event()
        self._wake_writer.set()

    def offer(self, snapshot: Snapshot) -> None:
        if self.feed is not None:
            self.push(self.feed.publish(snapshot, trio.current_time()))
            self._wake_ticker.set()

    def check(self) -> None:
        reason = self.feed.verdict(trio.current_time()) if self.feed is not None else None
        if reason is None and self.reply_backlog > MAX_REPLY_BACKLOG:
            reason = f"too slow: {self.reply_backlog} bytes of replies not read"
        if reason is not None and not self.scope.cancel_called:
            self.scope.cancel()
            self.out.clear()
            logger.warning("monitor client %s dropped: %s", self.name, reason)

    # ---- tasks -------------------------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            while self.out:
                data, is_push = self.out.popleft()
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.scope.cancel()
                    return
                if is_push and self.feed is not None:
                    self.feed.written(len(data), trio.current_time())
                elif not is_push:
                    self.reply_backlog -= len(data)
            self._flushed.set()
            self._wake_writer = trio.Event()
            await self._wake_writer.wait()

    async def _ticker(self) -> None:
        """Sends held deltas when due and drops the client once its backlog has stalled too long."""
        while True:
            deadline = math.inf
            if self.feed is not None:
                due = self.feed.due_at()
                if due is not None:
                    deadline = due
                if self.feed.backlog_since is not None:
                    deadline = min(
                        deadline, self.feed.backlog_since + self.feed.policy.max_stall_s + STALL_SLACK_S
                    )
            self._wake_ticker = trio.Event()
            with trio.move_on_at(deadline):
                await self._wake_ticker.wait()
            if self.feed is not None:
                self.push(self.feed.tick(trio.current_time()))
            self.check()

    async def _reader(self, nursery: trio.Nursery) -> None:
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            try:
                items = self.conn.receive(data)
            except LineTooLong as exc:
                self.reply(exc.reply())
                logger.warning("monitor client %s dropped: %s", self.name, exc.message)
                return
            for item in items:
                if isinstance(item, ErrorReply):
                    self.reply(item)
                elif item.cmd in INLINE:
                    self._session(item)
                else:
                    await self._requests.acquire()
                    nursery.start_soon(self._execute, item)

    def _session(self, request: Request) -> None:
        server = self.server
        if request.cmd == "hello":
            name = server.config.source.stem if server.config.source is not None else ""
            self.reply(self.conn.hello_reply(request, server.version, server.config.mode.kind, name))
            logger.info("monitor client %s connected (%s)", self.name, self.conn.access.value)
        elif request.cmd == "subscribe":
            self.feed = Feed(tuple(request.args["topics"]), request.args["level"], server.policy)
            self._wake_ticker.set()
            server.refresh()
            self.reply(Reply(request.id, {"topics": request.args["topics"], "level": request.args["level"]}))
            self.push(self.feed.start(server.build(), trio.current_time()))
        else:
            self.feed = None
            self.reply(Reply(request.id, {}))

    async def _execute(self, request: Request) -> None:
        try:
            result = await self.server.executor.run(request, self.name)
        except ProtocolError as exc:
            self.reply(ErrorReply(request.id, exc.code, exc.message))
        except Exception as exc:
            logger.exception("control command %s failed", request.cmd)
            self.reply(ErrorReply(request.id, ErrorCode.INTERNAL, f"{request.cmd}: internal error: {exc}"))
        else:
            try:
                self.reply(Reply(request.id, result))
            except (TypeError, ValueError) as exc:
                logger.exception("control command %s: result not JSON", request.cmd)
                self.reply(
                    ErrorReply(request.id, ErrorCode.INTERNAL, f"{request.cmd}: result not JSON: {exc}")
                )
        finally:
            self._requests.release()
