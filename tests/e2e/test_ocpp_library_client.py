"""The ``ocpp`` library's own asyncio ChargePoint boots against balanz, and answers balanz's CALL.

The library ships no websocket client and ``websockets`` is not a dependency here, so the charger talks
through a small asyncio adapter over ``wsproto`` (already installed with trio-websocket). The server runs
in a subprocess: asyncio and trio cannot share this test's thread, and threads would break virtual time.
The wall-clock bounds below only stop a hung run; nothing waits for time to pass.
"""

from __future__ import annotations

import asyncio
import select
import subprocess
import sys
import textwrap

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, ConfigurationStatus, RegistrationStatus
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request, TextMessage

BOUND_S = 120  # only stops a hung run; never a duration the test expects

SERVER = textwrap.dedent(
    """
    import sys, trio
    from ocpp.v16 import call
    from balanz.config.schema import ChargerConfig, Config, ServerConfig
    from balanz.csms.core_handlers import CoreHandlers
    from balanz.server import OcppServer
    from balanz.wire import Registry

    async def main():
        server_config = ServerConfig(host="127.0.0.1", port=0)
        config = Config(server=server_config, charger=(ChargerConfig("LIB1", "site"),))
        registry = Registry()
        CoreHandlers(config).register(registry)

        @registry.after("BootNotification")
        async def configure(conn, **_):
            result = await conn.call(call.ChangeConfiguration(key="HeartbeatInterval", value="60"))
            print("server got", result.status, flush=True)

        server = OcppServer(config, registry)
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            print(server.port, flush=True)

    trio.run(main)
    """
)


class WsprotoClient:
    """Just enough of a websocket client for ``ocpp.ChargePoint``: ``recv()`` and ``send()``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.parts: list[str] = []
        self.pending: list[str] = []
        self.subprotocol: str | None = None

    async def handshake(self, host: str, path: str) -> None:
        self.writer.write(self.ws.send(Request(host=host, target=path, subprotocols=["ocpp1.6"])))
        while True:
            for event in await self._events():
                if isinstance(event, AcceptConnection):
                    self.subprotocol = event.subprotocol
                    return

    async def _events(self) -> list:
        data = await self.reader.read(65536)
        self.ws.receive_data(data or None)
        return list(self.ws.events())

    async def recv(self) -> str:
        while not self.pending:
            for event in await self._events():
                if isinstance(event, Ping):
                    self.writer.write(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    raise ConnectionError(f"closed {event.code}")
                elif isinstance(event, TextMessage):
                    self.parts.append(event.data)
                    if event.message_finished:
                        self.pending.append("".join(self.parts))
                        self.parts = []
        return self.pending.pop(0)

    async def send(self, text: str) -> None:
        self.writer.write(self.ws.send(Message(data=text)))
        await self.writer.drain()


class LibraryCharger(ChargePoint):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configured = asyncio.Event()

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value):
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @after(Action.change_configuration)
    def after_change_configuration(self, key, value):
        self.configured.set()


async def boot_with_library(port: int) -> tuple[str | None, object, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = WsprotoClient(reader, writer)
    await client.handshake(f"127.0.0.1:{port}", "/LIB1")
    charger = LibraryCharger("LIB1", client)
    serving = asyncio.create_task(charger.start())
    try:
        boot = await charger.call(call.BootNotification(charge_point_vendor="Lib", charge_point_model="CP"))
        beat = await charger.call(call.Heartbeat())
        await charger.configured.wait()
    finally:
        serving.cancel()
        writer.close()
    return client.subprotocol, boot, beat


def read_line(proc: subprocess.Popen) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], BOUND_S)
    assert ready, "the server subprocess printed nothing"
    return proc.stdout.readline().strip()


def test_ocpp_library_charge_point_boots():
    with subprocess.Popen(
        [sys.executable, "-c", SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            port = int(read_line(proc))
            subprotocol, boot, beat = asyncio.run(asyncio.wait_for(boot_with_library(port), BOUND_S))
            server_saw = read_line(proc)
        finally:
            proc.terminate()
            proc.communicate(timeout=BOUND_S)
    assert subprotocol == "ocpp1.6"
    assert boot.status == RegistrationStatus.accepted
    assert beat.current_time.endswith("Z")
    assert server_saw == "server got Accepted"
