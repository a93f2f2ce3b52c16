"""Connection lifetimes: replacement, keepalive pings, stale watchdog, daemon shutdown and services."""

from __future__ import annotations

import dataclasses
import struct

import pytest
import trio
from ocpp.v16 import call

from balanz.daemon import build_daemon, connect_url
from balanz.wire import ConnectionLost
from balanz.wire.client import open_charger_connection

from .conftest import make_config, raw_handshake


async def test_second_connection_replaces_first_cleanly(site, autojump_clock):
    gone = []
    site.server.on_disconnected.append(lambda conn: gone.append(conn.generation))
    async with open_charger_connection(site.url, "CP1") as first:
        await first.call(call.Heartbeat())
        old = site.server.connection("CP1")
        async with open_charger_connection(site.url, "CP1") as second:
            await first.wait_closed()
            assert first.close_code == 1000
            await second.call(call.Heartbeat())
            await trio.sleep(1)
            new = site.server.connection("CP1")
            assert new is not old
            assert new.generation > old.generation
            assert gone == [old.generation], "only the old connection was cleaned up"
            await second.call(call.Heartbeat())
        with pytest.raises(ConnectionLost):
            await first.call(call.Heartbeat())


def close_code_in(data: bytes) -> int | None:
    """The status code of the first unmasked close frame (opcode 8) in raw server bytes."""
    i = 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        if opcode == 8 and length >= 2:
            return struct.unpack("!H", data[i + 2 : i + 4])[0]
        i += 2 + length
    return None


async def test_no_pong_closes_after_interval_plus_timeout(start_site, autojump_clock):
    site = await start_site(make_config(ping_interval_s=20, ping_timeout_s=60, charger_stale_s=10_000))
    status, _, stream = await raw_handshake(site.port, "/CP1", "Sec-WebSocket-Protocol: ocpp1.6")
    assert " 101 " in status
    received = b""
    closed_at = None
    with trio.move_on_after(200):
        while (chunk := await stream.receive_some(4096)) and close_code_in(received + chunk) is None:
            received += chunk
        received += chunk
        closed_at = trio.current_time()
    await stream.aclose()
    assert close_code_in(received) == 1011
    assert closed_at == 80


async def test_answered_pings_and_heartbeats_keep_charger_connected(site, autojump_clock):
    async with open_charger_connection(site.url, "CP1") as conn:
        for _ in range(10):
            await trio.sleep(120)
            await conn.call(call.Heartbeat())
        assert not conn.closed
        assert site.server.connection("CP1") is not None


async def test_silent_charger_closed_by_stale_watchdog(site, autojump_clock):
    async with open_charger_connection(site.url, "CP1") as conn:
        await conn.wait_closed()
        assert trio.current_time() == 600
        assert conn.close_code == 1001


async def test_daemon_shutdown_closes_chargers_and_runs_hooks(autojump_clock):
    events = []

    async def service(daemon, *, task_status):
        events.append(("service started", daemon.server.port))
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            events.append(("service cancelled", None))

    async def flush():
        events.append(("flushed", len(daemon.server.connections())))

    daemon = build_daemon(make_config(), services=[service], shutdown_hooks=[flush])
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        url = f"ws://127.0.0.1:{daemon.server.port}"
        async with open_charger_connection(url, "CP1") as one, open_charger_connection(url, "CP2") as two:
            await one.call(call.Heartbeat())
            await two.call(call.Heartbeat())
            daemon.request_shutdown()
            await one.wait_closed()
            await two.wait_closed()
            assert (one.close_code, two.close_code) == (1001, 1001)
    assert events == [("service started", 0), ("flushed", 0), ("service cancelled", None)]
    assert trio.current_time() < 1


def test_connect_url_names_prefix_and_scheme():
    config = make_config(host="127.0.0.1", path_prefix="/ocpp/")
    assert connect_url(config, 9999) == "ws://127.0.0.1:9999/ocpp/<charger_id>"
    tls = dataclasses.replace(config.server, tls_cert_chain="c.pem", tls_key="k.pem", path_prefix="")
    assert connect_url(dataclasses.replace(config, server=tls), 443) == "wss://127.0.0.1:443/<charger_id>"
