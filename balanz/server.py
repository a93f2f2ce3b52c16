"""The websocket listener and the per-charger tasks.

Each accepted charger runs in its own task under its own cancel scope: replacing, watchdog-closing or
crashing one charger never reaches the others or the listener. trio-websocket lets a handler exception
escape into the listener's nursery and stop the whole server (stack.md pitfall 1), so ``_handle`` catches
everything, including exception groups (pitfall 2).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import unquote, urlsplit

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from balanz.config.schema import Config
from balanz.credentials import CredentialLookup, InMemoryCredentials, refusal
from balanz.wire.connection import OcppConnection
from balanz.wire.registry import Registry

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
CLOSE_GRACE_S = 5.0
CODE_NORMAL, CODE_GOING_AWAY, CODE_PROTOCOL_ERROR, CODE_KEEPALIVE = 1000, 1001, 1002, 1011

ConnectionHook = Callable[[OcppConnection], None]


class ListenError(Exception):
    """The listener could not be opened (address in use, no permission, bad TLS files)."""


@dataclass(eq=False, slots=True)
class _Session:
    charger_id: str
    ws: WebSocketConnection
    conn: OcppConnection
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)


def charger_id_from_path(path: str, prefix: str) -> str | None:
    """The charger id: the one path segment after ``prefix``, percent-decoded; None if the path does not fit.

    Segments are split before decoding so an id containing an encoded ``/`` stays one id.
    """
    segments = urlsplit(path).path.strip("/").split("/")
    wanted = [s for s in prefix.strip("/").split("/") if s]
    if len(segments) != len(wanted) + 1 or segments[: len(wanted)] != wanted:
        return None
    charger_id = unquote(segments[-1])
    return charger_id or None


def known_from_config(config: Config) -> Callable[[str], bool]:
    """Chargers listed in the configuration are known; with autoregistration every id is."""
    if config.model.charger_autoregister:
        return lambda _charger_id: True
    ids = frozenset(c.id for c in config.charger)
    return ids.__contains__


class OcppServer:
    def __init__(
        self,
        config: Config,
        registry: Registry,
        *,
        credentials: CredentialLookup | None = None,
        is_known: Callable[[str], bool] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.credentials = credentials or InMemoryCredentials()
        self.is_known = is_known or known_from_config(config)
        self._lenient = {c.id: c.lenient_validation for c in config.charger}
        self.on_connected: list[ConnectionHook] = []
        self.on_disconnected: list[ConnectionHook] = []
        self.port = 0
        self._sessions: dict[str, _Session] = {}
        self._generation = 0
        self._nursery: trio.Nursery | None = None

    def connection(self, charger_id: str) -> OcppConnection | None:
        session = self._sessions.get(charger_id)
        return session.conn if session else None

    def connections(self) -> list[OcppConnection]:
        return [s.conn for s in self._sessions.values()]

    async def run(self, *, task_status: trio.TaskStatus[OcppServer] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled; ``nursery.start(server.run)`` returns once the port is bound."""
        cfg = self.config.server
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                listener = await nursery.start(
                    partial(
                        serve_websocket,
                        self._handle,
                        cfg.host,
                        cfg.port,
                        self._ssl_context(),
                        max_message_size=cfg.max_frame_kib * 1024,
                    )
                )
            except OSError as exc:
                raise ListenError(f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}") from exc
            self.port = listener.port
            nursery.start_soon(self._watchdog)
            task_status.started(self)

    def _ssl_context(self) -> ssl.SSLContext | None:
        cfg = self.config.server
        if not (cfg.tls_cert_chain and cfg.tls_key):
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cfg.tls_cert_chain, cfg.tls_key)
        return context

    async def close_all(self, code: int = CODE_GOING_AWAY, reason: str = "server shutting down") -> None:
        """Close every charger connection with ``code`` and wait until their tasks have cleaned up.

        Returns within about twice ``CLOSE_GRACE_S`` even if peers never answer the close.
        """
        sessions = list(self._sessions.values())
        async with trio.open_nursery() as nursery:
            for session in sessions:
                nursery.start_soon(self._retire, session, code, reason)
        with trio.move_on_after(CLOSE_GRACE_S):
            for session in sessions:
                await session.done.wait()

    # ---- handshake -----------------------------------------------------------------------------------

    async def _handle(self, request: WebSocketRequest) -> None:
        try:
            await self._handle_request(request)
        except* ConnectionClosed:
            pass
        except* Exception:
            log.exception("connection from %s failed (path %r)", request.remote, request.path)

    async def _handle_request(self, request: WebSocketRequest) -> None:
        charger_id = charger_id_from_path(request.path, self.config.server.path_prefix)
        if charger_id is None or not self.is_known(charger_id):
            log.warning("refused %s: unknown charger id in path %r (HTTP 404)", request.remote, request.path)
            await request.reject(404, body=b"unknown charger id\n")
            return
        if self.config.auth.http_basic and not self._authorized(charger_id, request):
            await request.reject(401, extra_headers=[(b"WWW-Authenticate", b'Basic realm="balanz"')])
            return
        offered = request.proposed_subprotocols
        if SUBPROTOCOL in offered:
            ws = await request.accept(subprotocol=SUBPROTOCOL)
        elif not offered and self.config.server.allow_missing_subprotocol:
            log.warning("charger %s offered no subprotocol; accepted as %s", charger_id, SUBPROTOCOL)
            ws = await request.accept()
        else:
            # OCPP-J 1.6 §3.2: finish the handshake without the header, then close at once.
            log.warning(
                "charger %s offered %s, not %s: closing", charger_id, list(offered) or "none", SUBPROTOCOL
            )
            ws = await request.accept()
            await ws.aclose(CODE_PROTOCOL_ERROR, f"this server speaks {SUBPROTOCOL} only")
            return
        await self._serve_charger(charger_id, ws)

    def _authorized(self, charger_id: str, request: WebSocketRequest) -> bool:
        state = self.credentials.credential(charger_id)
        if state is None or state.state == "none":
            log.info("charger %s has no stored password yet: accepted without checking", charger_id)
            return True
        header = next((v for k, v in request.headers if k.lower() == b"authorization"), None)
        problem = refusal(state, charger_id, header)
        if problem is None:
            return True
        log.warning("refused charger %s from %s: %s (HTTP 401)", charger_id, request.remote, problem)
        return False

    # ---- connected chargers --------------------------------------------------------------------------

    async def _serve_charger(self, charger_id: str, ws: WebSocketConnection) -> None:
        self._generation += 1
        conn = OcppConnection(
            ws,
            self.registry,
            charger_id,
            call_timeout_s=self.config.server.call_timeout_s,
            generation=self._generation,
            lenient=self._lenient.get(charger_id, False),
        )
        session = _Session(charger_id, ws, conn)
        old = self._sessions.get(charger_id)
        self._sessions[charger_id] = session
        if old is not None and self._nursery is not None:
            log.info("charger %s reconnected: closing its previous connection", charger_id)
            self._nursery.start_soon(self._retire, old, CODE_NORMAL, "replaced by a newer connection")
        log.info("charger %s connected from %s (connection #%d)", charger_id, ws.remote, conn.generation)
        try:
            with session.scope:
                self._notify(self.on_connected, conn)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._keepalive, session)
                    await conn.serve()
                    nursery.cancel_scope.cancel()
        finally:
            if self._sessions.get(charger_id) is session:
                del self._sessions[charger_id]
            self._notify(self.on_disconnected, conn)
            log.info(
                "charger %s disconnected (connection #%d, code %s)",
                charger_id,
                conn.generation,
                conn.close_code,
            )
            session.done.set()

    def _notify(self, hooks: list[ConnectionHook], conn: OcppConnection) -> None:
        for hook in hooks:
            try:
                hook(conn)
            except Exception:
                log.exception("charger %s: connection hook %s failed", conn.charger_id, hook)

    async def _retire(self, session: _Session, code: int, reason: str) -> None:
        with trio.move_on_after(CLOSE_GRACE_S):
            await session.ws.aclose(code, reason)
        session.scope.cancel()

    async def _keepalive(self, session: _Session) -> None:
        cfg = self.config.server
        if cfg.ping_interval_s <= 0:
            return
        while True:
            await trio.sleep(cfg.ping_interval_s)
            with trio.move_on_after(cfg.ping_timeout_s) as waiting:
                try:
                    await session.ws.ping()
                except ConnectionClosed:
                    return
            if waiting.cancelled_caught:
                log.warning(
                    "charger %s: no pong within %g s: closing", session.charger_id, cfg.ping_timeout_s
                )
                await self._retire(session, CODE_KEEPALIVE, "no pong")
                return

    async def _watchdog(self) -> None:
        cfg = self.config.server
        while True:
            await trio.sleep(cfg.watchdog_interval_s)
            now = trio.current_time()
            for session in list(self._sessions.values()):
                silent = now - session.conn.last_frame_at
                if silent > cfg.charger_stale_s and self._nursery is not None:
                    log.warning("charger %s: no OCPP message for %.0f s: closing", session.charger_id, silent)
                    self._nursery.start_soon(
                        self._retire, session, CODE_GOING_AWAY, "stale: no OCPP messages"
                    )
