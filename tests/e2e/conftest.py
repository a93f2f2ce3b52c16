"""A real balanz server on 127.0.0.1, an ephemeral port, in the test's own nursery (virtual time)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import trio

from balanz.config.schema import ChargerConfig, Config, ServerConfig
from balanz.credentials import InMemoryCredentials
from balanz.csms.core_handlers import CoreHandlers
from balanz.server import OcppServer
from balanz.wire import Registry

CHARGERS = ("CP1", "CP2", "CP3")


@dataclass
class Site:
    server: OcppServer
    core: CoreHandlers
    registry: Registry
    credentials: InMemoryCredentials

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}"


def make_config(**server: Any) -> Config:
    chargers = tuple(ChargerConfig(id=cid, group="site") for cid in CHARGERS)
    base = ServerConfig(host="127.0.0.1", port=0)
    return Config(server=dataclasses.replace(base, **server), charger=chargers)


StartSite = Callable[..., Awaitable[Site]]


@pytest.fixture
def start_site(nursery: trio.Nursery) -> StartSite:
    async def start(config: Config | None = None, registry: Registry | None = None) -> Site:
        config = config or make_config()
        registry = registry or Registry()
        core = CoreHandlers(config)
        core.register(registry)
        credentials = InMemoryCredentials()
        server = OcppServer(config, registry, credentials=credentials)
        await nursery.start(server.run)
        return Site(server, core, registry, credentials)

    return start


@pytest.fixture
async def site(start_site: StartSite) -> Site:
    return await start_site()


async def raw_handshake(port: int, path: str, *headers: str) -> tuple[str, dict[str, str], trio.SocketStream]:
    """A websocket upgrade sent by hand, to see the raw HTTP status and headers of a refusal."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *headers,
    ]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    status, *header_lines = head.split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return status, fields, stream
