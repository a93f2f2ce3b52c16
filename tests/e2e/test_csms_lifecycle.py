"""Chargers that go silent or away, autoregistration, and charger passwords kept in the store."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta

import pytest
import trio

from balanz.clock import SiteClock
from balanz.config.schema import AuthConfig, ModelConfig
from balanz.events import ChargerDisconnected, TransactionStopped
from balanz.store import SessionFilter
from balanz.wire.client import HandshakeRefused

from .csms_charger import T0, scripted_charger, site_config, start_daemon


def config_for(tmp_path, **server):
    config = site_config(tmp_path, transaction_timeout_s=3600, transaction_check_interval_s=60)
    return dataclasses.replace(config, server=dataclasses.replace(config.server, ping_interval_s=0, **server))


async def test_open_transaction_of_a_vanished_charger_closed_as_stale_then_amended(
    nursery, tmp_path, autojump_clock
):
    config = config_for(tmp_path)
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    events = daemon.csms.events.subscribe("test")
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 1000))["transactionId"]
        await trio.sleep(300)
        await cp1.meter(1, tx, 4000, 16)
    gone_at = clock.now()
    await trio.sleep(3600 + 120)
    (record,) = daemon.store.sessions(SessionFilter())
    assert (record.stop_reason, record.energy_wh) == ("Timeout", 3000)
    assert "timeout_stop" in record.flags
    assert record.end_time <= gone_at
    assert daemon.csms.service.connector("CP1", 1).transaction is None
    stopped = []
    while True:
        try:
            event = events.receive.receive_nowait()
        except trio.WouldBlock:
            break
        if isinstance(event, TransactionStopped):
            stopped.append(event)
    assert [e.stale for e in stopped] == [True]

    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        assert await cp1.stop(tx, 5000, "EVDisconnected") == {}
    (record,) = daemon.store.sessions(SessionFilter())
    assert (record.stop_reason, record.energy_wh) == ("EVDisconnected", 4000)
    assert {"timeout_stop", "amended"} <= record.flags


async def test_silent_charger_goes_offline(nursery, tmp_path, autojump_clock):
    config = config_for(tmp_path, charger_stale_s=500, watchdog_interval_s=100)
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    events = daemon.csms.events.subscribe("test")
    async with scripted_charger(daemon.url, "CP2", clock) as cp2:
        await cp2.boot()
        assert daemon.csms.service.charger("CP2").connected
        await cp2.conn.wait_closed()
    view = daemon.csms.service.charger("CP2")
    assert not view.connected
    assert view.disconnected_since - T0 == timedelta(seconds=600)
    kinds = []
    while True:
        try:
            kinds.append(type(events.receive.receive_nowait()))
        except trio.WouldBlock:
            break
    assert ChargerDisconnected in kinds


async def test_unknown_charger_autoregistered_in_default_group(nursery, tmp_path, autojump_clock):
    config = dataclasses.replace(
        config_for(tmp_path), model=ModelConfig(charger_autoregister=True, charger_autoregister_group="site")
    )
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    async with scripted_charger(daemon.url, "NEW-1", clock) as new:
        assert (await new.boot(vendor="Zeta"))["status"] == "Accepted"
        await new.status(2, "Available")
        tx = (await new.start(2, "BOB", 0))["transactionId"]
        assert await new.stop(tx, 1500) == {}
    stored = daemon.store.runtime_charger("NEW-1")
    assert (stored.group_id, stored.connectors) == ("site", 2)
    view = daemon.csms.service.charger("NEW-1")
    assert (view.autoregistered, view.vendor) == (True, "Zeta")
    (record,) = daemon.store.sessions(SessionFilter())
    assert (record.charger_id, record.group_id, record.energy_wh) == ("NEW-1", "site", 1500)


async def test_unknown_charger_refused_without_autoregistration(nursery, tmp_path, autojump_clock):
    daemon = await start_daemon(nursery, config_for(tmp_path), SiteClock(T0))
    with pytest.raises(HandshakeRefused) as refused:
        async with scripted_charger(daemon.url, "STRANGER", SiteClock(T0)):
            pass
    assert refused.value.status_code == 404


async def test_charger_password_checked_against_the_store(nursery, tmp_path, autojump_clock):
    config = dataclasses.replace(config_for(tmp_path), auth=AuthConfig(http_basic=True))
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    async with scripted_charger(daemon.url, "CP3", clock) as cp3:
        assert (await cp3.boot())["status"] == "Accepted", "no credential stored yet: let in"
    daemon.store.set_pending_credential("CP3", ["s3cretKey"], clock.now())
    assert daemon.store.promote_pending_credential("CP3", "s3cretKey", clock.now())
    with pytest.raises(HandshakeRefused) as refused:
        async with scripted_charger(daemon.url, "CP3", clock, password="wrong"):
            pass
    assert refused.value.status_code == 401
    async with scripted_charger(daemon.url, "CP3", clock, password="s3cretKey") as cp3:
        assert (await cp3.boot())["status"] == "Accepted"


async def test_autoregistration_answered_pending_while_store_locked(nursery, tmp_path, autojump_clock):
    config = dataclasses.replace(
        config_for(tmp_path), model=ModelConfig(charger_autoregister=True, charger_autoregister_group="site")
    )
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    locker = sqlite3.connect(config.store.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    async with scripted_charger(daemon.url, "NEW-2", clock) as new:
        answer = await new.boot()
        assert (answer["status"], answer["interval"]) == ("Pending", 60)
        locker.rollback()
        locker.close()
        await trio.sleep(60)
        assert (await new.boot())["status"] == "Accepted"
    assert daemon.store.runtime_charger("NEW-2") is not None


async def test_transaction_resumed_after_restart_times_out_if_charger_never_returns(
    nursery, tmp_path, autojump_clock
):
    config = config_for(tmp_path)
    clock = SiteClock(T0)
    first = await start_daemon(nursery, config, clock)
    async with scripted_charger(first.url, "CP2", clock) as cp2:
        tx = (await cp2.start(1, "DAVE", 0))["transactionId"]
        await cp2.meter(1, tx, 700, 10)
    await first.stop()
    await trio.sleep(120)
    second = await start_daemon(nursery, config, clock)
    assert [t.transaction_id for t in second.csms.service.live_transactions()] == [tx]
    await trio.sleep(3600 - 60)
    assert second.store.sessions(SessionFilter()) == [], "the timeout counts from the restart"
    await trio.sleep(3 * 60)
    (record,) = second.store.sessions(SessionFilter())
    assert (record.transaction_id, record.stop_reason, record.energy_wh) == (tx, "Timeout", 700)
