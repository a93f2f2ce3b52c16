"""The database locked while a StopTransaction is being recorded: no acknowledgement until the session is
durable, and exactly one session whatever the charger retries."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3

import pytest
import trio

from balanz.clock import SiteClock
from balanz.store import SessionFilter
from balanz.wire import CallErrorReceived

from .csms_charger import T0, scripted_charger, site_config, start_daemon


def lock_database(path: str) -> sqlite3.Connection:
    """Another process holding the write lock (as a backup tool or a second daemon would)."""
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    return locker


async def open_session(nursery, tmp_path):
    config = site_config(tmp_path)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, ping_interval_s=0))
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    return config, clock, daemon


async def test_stop_waits_until_the_lock_is_released(nursery, tmp_path, autojump_clock, caplog):
    config, clock, daemon = await open_session(nursery, tmp_path)
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 100))["transactionId"]
        await cp1.meter(1, tx, 2100, 16)
        locker = lock_database(config.store.path)

        async def release_after(seconds: float) -> None:
            await trio.sleep(seconds)
            locker.rollback()

        nursery.start_soon(release_after, 3)
        sent = trio.current_time()
        with caplog.at_level(logging.ERROR, logger="balanz.csms.service"):
            assert await cp1.stop(tx, 5100) == {}
        assert trio.current_time() - sent >= 3, "answered before the session could be written"
        assert any("STORE FAILING" in r.getMessage() for r in caplog.records)
        assert await cp1.stop(tx, 5100) == {}
    locker.close()
    sessions = daemon.store.sessions(SessionFilter())
    assert [(s.transaction_id, s.energy_wh) for s in sessions] == [(tx, 5000)]
    assert daemon.store.live_transactions() == []


async def test_stop_not_acknowledged_while_store_stays_locked_then_retried(nursery, tmp_path, autojump_clock):
    config, clock, daemon = await open_session(nursery, tmp_path)
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 100))["transactionId"]
        locker = lock_database(config.store.path)
        with pytest.raises(CallErrorReceived) as refused:
            await cp1.stop(tx, 900)
        assert refused.value.code == "InternalError"
        assert daemon.store.sessions(SessionFilter()) == []
        assert daemon.csms.service.connector("CP1", 1).transaction is not None, "still open: nothing was lost"
        heartbeat = await cp1.send("Heartbeat", {})
        assert "currentTime" in heartbeat, "other messages are still served while the store is locked"
        locker.rollback()
        locker.close()
        await trio.sleep(60)  # the charger's TransactionMessageRetryInterval
        assert await cp1.stop(tx, 900) == {}
    sessions = daemon.store.sessions(SessionFilter())
    assert [(s.transaction_id, s.energy_wh) for s in sessions] == [(tx, 800)]


async def test_start_not_acknowledged_while_store_locked(nursery, tmp_path, autojump_clock):
    config, clock, daemon = await open_session(nursery, tmp_path)
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        locker = lock_database(config.store.path)
        with pytest.raises(CallErrorReceived):
            await cp1.start(1, "ALICE", 100)
        locker.rollback()
        locker.close()
        assert (await cp1.start(1, "ALICE", 100))["transactionId"] >= 1
    assert len(daemon.store.live_transactions()) == 1


async def test_meter_values_kept_in_memory_and_flushed_after_lock(nursery, tmp_path, autojump_clock):
    config, clock, daemon = await open_session(nursery, tmp_path)
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 100))["transactionId"]
        locker = lock_database(config.store.path)
        assert await cp1.meter(1, tx, 4100, 16) == {}, "meter values are answered (progress kept in memory)"
        assert daemon.csms.service.connector("CP1", 1).transaction.last_register_wh == 4100
        locker.rollback()
        locker.close()
        await trio.sleep(config.csms.transaction_check_interval_s + 1)
        assert daemon.store.live_transaction("CP1", 1).last_register_wh == 4100
