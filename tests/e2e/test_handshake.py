"""Upgrade-time decisions: charger id from the path, HTTP Basic auth, subprotocol negotiation."""

from __future__ import annotations

import base64
import dataclasses
import logging

import pytest
import trio
from ocpp.v16 import call
from trio_websocket import ConnectionClosed

from balanz.config.schema import AuthConfig, ModelConfig
from balanz.wire.client import open_charger_connection, open_websocket

from .conftest import make_config, raw_handshake


def basic(user: str, password: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_unknown_charger_refused_with_404(site, autojump_clock, caplog):
    status, _, stream = await raw_handshake(site.port, "/NOPE", "Sec-WebSocket-Protocol: ocpp1.6")
    await stream.aclose()
    assert " 404 " in status
    assert "unknown charger id" in caplog.text


async def test_autoregister_accepts_any_id(start_site, autojump_clock):
    config = dataclasses.replace(make_config(), model=ModelConfig(charger_autoregister=True))
    site = await start_site(config)
    async with open_charger_connection(site.url, "NEW-ONE") as conn:
        await conn.call(call.Heartbeat())
        assert site.server.connection("NEW-ONE") is conn_on_server(site, "NEW-ONE")


def conn_on_server(site, charger_id):
    return site.server.connection(charger_id)


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/ocpp/CP1", "ocpp", True),
        ("/ocpp/CP1?token=x", "/ocpp/", True),
        ("/CP1", "ocpp", False),
        ("/other/CP1", "ocpp", False),
    ],
)
async def test_path_prefix(start_site, autojump_clock, path, prefix, expected):
    site = await start_site(make_config(path_prefix=prefix))
    status, _, stream = await raw_handshake(site.port, path, "Sec-WebSocket-Protocol: ocpp1.6")
    await stream.aclose()
    assert (" 101 " in status) is expected


async def test_percent_encoded_id(start_site, autojump_clock):
    config = dataclasses.replace(make_config(), model=ModelConfig(charger_autoregister=True))
    site = await start_site(config)
    async with open_charger_connection(site.url, "site a/CP 1") as conn:
        await conn.call(call.Heartbeat())
        assert site.server.connection("site a/CP 1") is not None


async def test_basic_auth_accepts_right_password(site, autojump_clock):
    site.credentials.set_password("CP1", "0123456789abcdef")
    async with open_charger_connection(site.url, "CP1", password="0123456789abcdef") as conn:
        await conn.call(call.Heartbeat())


@pytest.mark.parametrize(
    "header",
    [
        None,
        basic("CP1", "wrong"),
        basic("CP2", "0123456789abcdef"),
        "Authorization: Bearer 0123456789abcdef",
        "Authorization: Basic !!!notbase64",
    ],
)
async def test_basic_auth_refuses_with_401(site, autojump_clock, caplog, header):
    site.credentials.set_password("CP1", "0123456789abcdef")
    site.credentials.set_password("CP2", "0123456789abcdef")
    headers = ["Sec-WebSocket-Protocol: ocpp1.6"] + ([header] if header else [])
    with caplog.at_level(logging.WARNING, logger="balanz.server"):
        status, fields, stream = await raw_handshake(site.port, "/CP1", *headers)
    await stream.aclose()
    assert " 401 " in status
    assert fields["www-authenticate"].startswith("Basic")
    assert "refused charger CP1" in caplog.text


async def test_no_stored_credential_is_accepted(site, autojump_clock):
    async with open_charger_connection(site.url, "CP1", password="anything") as conn:
        await conn.call(call.Heartbeat())


async def test_auth_off_ignores_stored_credential(start_site, autojump_clock):
    config = dataclasses.replace(make_config(), auth=AuthConfig(http_basic=False))
    site = await start_site(config)
    site.credentials.set_password("CP1", "secret-secret")
    async with open_charger_connection(site.url, "CP1") as conn:
        await conn.call(call.Heartbeat())


async def test_only_other_subprotocols_handshake_then_close(site, autojump_clock):
    status, fields, stream = await raw_handshake(site.port, "/CP1", "Sec-WebSocket-Protocol: ocpp2.0.1")
    await stream.aclose()
    assert " 101 " in status
    assert "sec-websocket-protocol" not in fields
    async with open_websocket(f"{site.url}/CP1", subprotocols=["ocpp2.0.1"]) as ws:
        assert ws.subprotocol is None
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
    assert closed.value.reason.code == 1002
    assert site.server.connection("CP1") is None


async def test_missing_subprotocol_accepted_when_allowed(site, autojump_clock):
    async with open_charger_connection(site.url, "CP1", subprotocols=()) as conn:
        await conn.call(call.Heartbeat())


async def test_missing_subprotocol_refused_when_not_allowed(start_site, autojump_clock):
    site = await start_site(make_config(allow_missing_subprotocol=False))
    async with open_websocket(f"{site.url}/CP1", subprotocols=()) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
    assert closed.value.reason.code == 1002


async def test_wildcard_listener_not_needed_for_tests(site):
    assert site.port > 0
    assert trio.current_time() >= 0


async def test_store_backs_the_credential_lookup(nursery, tmp_path, autojump_clock):
    from datetime import UTC, datetime

    from balanz.server import OcppServer
    from balanz.store import Store
    from balanz.wire import Registry
    from balanz.wire.client import HandshakeRefused

    with Store(tmp_path / "balanz.sqlite") as store:
        store.set_pending_credential("CP1", ["provisioned-key-1"], datetime(2026, 1, 1, tzinfo=UTC))
        server = OcppServer(make_config(), Registry(), credentials=store)
        await nursery.start(server.run)
        url = f"ws://127.0.0.1:{server.port}"
        async with open_charger_connection(url, "CP1", password="provisioned-key-1") as conn:
            assert not conn.closed
        with pytest.raises(HandshakeRefused) as refused:
            async with open_charger_connection(url, "CP1", password="guess"):
                pass
        assert refused.value.status_code == 401
