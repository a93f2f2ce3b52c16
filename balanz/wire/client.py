"""The charge-point end: open a websocket to a central system as charger X and run a connection on it.

Used by the simulator and by tests; the connection object is the same one the server uses.

``open_websocket`` owns the TCP stream and closes it itself: trio-websocket 0.12's client never closes its
socket when the server closes first or refuses the upgrade (stack.md pitfall 4), which leaks a file
descriptor per reconnect in a long-running simulator.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import quote, urlsplit

import trio
from trio_websocket import ConnectionRejected, WebSocketConnection, wrap_client_stream

from balanz.wire.connection import OcppConnection
from balanz.wire.errors import WireError
from balanz.wire.registry import Registry

SUBPROTOCOL = "ocpp1.6"
CLOSE_TIMEOUT_S = 5.0
DEFAULT_MAX_MESSAGE = 1024 * 1024


class HandshakeRefused(WireError):
    """The server answered the upgrade with an HTTP error (401 bad credentials, 404 unknown id, ...)."""

    def __init__(self, url: str, status_code: int) -> None:
        super().__init__(f"{url}: upgrade refused with HTTP {status_code}")
        self.url = url
        self.status_code = status_code


def basic_auth_header(user: str, password: str) -> tuple[bytes, bytes]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return (b"Authorization", f"Basic {token}".encode("ascii"))


def charger_url(base_url: str, charger_id: str) -> str:
    """``base_url`` is the central system's endpoint without the id (``ws://host:port/ocpp``)."""
    return f"{base_url.rstrip('/')}/{quote(charger_id, safe='')}"


@contextmanager
def _single_errors() -> Iterator[None]:
    """Re-raise a lone exception out of a nursery group, so callers can ``except CallTimeout`` as usual."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise


@asynccontextmanager
async def open_websocket(
    url: str,
    *,
    subprotocols: Sequence[str] = (SUBPROTOCOL,),
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    ssl_context: ssl.SSLContext | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE,
) -> AsyncIterator[WebSocketConnection]:
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
    if secure:
        context = ssl_context or ssl.create_default_context()
        stream = await trio.open_ssl_over_tcp_stream(host, port, ssl_context=context, https_compatible=True)
    else:
        stream = await trio.open_tcp_stream(host, port)
    try:
        with _single_errors():
            async with trio.open_nursery() as nursery:
                try:
                    ws = await wrap_client_stream(
                        nursery,
                        stream,
                        f"{host}:{port}",
                        resource,
                        subprotocols=list(subprotocols),
                        extra_headers=list(extra_headers),
                        max_message_size=max_message_size,
                    )
                except ConnectionRejected as refused:
                    raise HandshakeRefused(url, refused.status_code) from None
                try:
                    yield ws
                finally:
                    with trio.move_on_after(CLOSE_TIMEOUT_S) as closing:
                        closing.shield = True
                        await ws.aclose()
                    nursery.cancel_scope.cancel()
    except ConnectionRejected as refused:
        raise HandshakeRefused(url, refused.status_code) from None
    finally:
        await trio.aclose_forcefully(stream)


@asynccontextmanager
async def open_charger_connection(
    base_url: str,
    charger_id: str,
    registry: Registry | None = None,
    *,
    password: str | None = None,
    subprotocols: Sequence[str] = (SUBPROTOCOL,),
    call_timeout_s: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE,
) -> AsyncIterator[OcppConnection]:
    """Connect as ``charger_id`` and serve ``registry``'s handlers until the block exits.

    Leaving the block closes the websocket with 1000. If the server closes first, the connection's
    ``close_code`` says why and ``call`` raises ``ConnectionLost``.
    """
    headers = [basic_auth_header(charger_id, password)] if password is not None else []
    async with open_websocket(
        charger_url(base_url, charger_id),
        subprotocols=subprotocols,
        extra_headers=headers,
        ssl_context=ssl_context,
        max_message_size=max_message_size,
    ) as ws:
        conn = OcppConnection(ws, registry or Registry(), charger_id, call_timeout_s=call_timeout_s)
        with _single_errors():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(conn.serve)
                yield conn
                nursery.cancel_scope.cancel()
