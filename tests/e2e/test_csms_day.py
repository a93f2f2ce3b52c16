"""A whole day at a three-charger site with five tags, over real sockets in virtual time, ending with the
CSV export checked value by value. The daemon is restarted at 13:00 with two sessions open."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta

import trio

from balanz.clock import SiteClock
from balanz.events import TransactionStarted, TransactionStopped
from balanz.store import SessionFilter
from balanz.store.export import export_sessions
from balanz.store.tags import tag_block, tag_view

from .csms_charger import T0, scripted_charger, site_config, start_daemon


def at(hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return T0.replace(hour=hours, minute=minutes)


async def until(clock: SiteClock, hhmm: str) -> None:
    await trio.sleep_until(clock.trio_time_at(at(hhmm)))


EXPECTED_CSV = [
    {
        "session_id": "CP1/1/1/20250304T070000Z",
        "charger_id": "CP1",
        "charger_alias": "Garage",
        "group_id": "site",
        "id_tag": "ALICE",
        "user_name": "Alice",
        "stop_id_tag": "ALICE",
        "start_time": "2025-03-04T07:00:00Z",
        "end_time": "2025-03-04T14:00:00Z",
        "duration": "07:00:00",
        "energy_wh": "29000",
        "stop_reason": "EVDisconnected",
        "history": "2025-03-04T07:15:00Z=/16A;2025-03-04T08:00:00Z=/10A",
        "connector_id": "1",
        "transaction_id": "1",
    },
    {
        "session_id": "CP3/1/2/20250304T090000Z",
        "charger_id": "CP3",
        "charger_alias": "",
        "group_id": "site",
        "id_tag": "BOB",
        "user_name": "Bob",
        "stop_id_tag": "",
        "start_time": "2025-03-04T09:00:00Z",
        "end_time": "2025-03-04T11:00:00Z",
        "duration": "02:00:00",
        "energy_wh": "8000",
        "stop_reason": "Remote",
        "history": "2025-03-04T09:30:00Z=/12A",
        "connector_id": "1",
        "transaction_id": "2",
    },
    {
        "session_id": "CP2/1/3/20250304T100000Z",
        "charger_id": "CP2",
        "charger_alias": "Yard",
        "group_id": "site",
        "id_tag": "DAVE",
        "user_name": "Dave",
        "stop_id_tag": "",
        "start_time": "2025-03-04T10:00:00Z",
        "end_time": "2025-03-04T15:00:00Z",
        "duration": "05:00:00",
        "energy_wh": "8800",
        "stop_reason": "HardReset",
        "history": "2025-03-04T12:45:00Z=/16A",
        "connector_id": "1",
        "transaction_id": "3",
    },
]


async def test_a_day_at_the_site(nursery, tmp_path, autojump_clock):
    config = site_config(tmp_path)
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, ping_interval_s=0, charger_stale_s=100_000)
    )
    clock = SiteClock(T0)
    first = await start_daemon(nursery, config, clock)
    events = first.csms.events.subscribe("test")
    svc = first.csms.service

    async with (
        scripted_charger(first.url, "CP1", clock) as cp1,
        scripted_charger(first.url, "CP2", clock) as cp2,
        scripted_charger(first.url, "CP3", clock) as cp3,
    ):
        for charger in (cp1, cp2, cp3):
            answer = await charger.boot()
            assert answer == {
                "status": "Accepted",
                "currentTime": "2025-03-04T06:00:00.000Z",
                "interval": 120,
            }
            await charger.status(0, "Available")
            await charger.status(1, "Available")
        await cp1.status(2, "Available")
        assert svc.charger("CP1").vendor == "ACME"
        assert svc.connector("CP1", 2).status.status == "Available"

        await until(clock, "07:00")
        assert await cp1.authorize("alice") == {"status": "Accepted", "parentIdTag": "FLEET"}
        await cp1.status(1, "Preparing")
        started = await cp1.start(1, "alice", 1000)
        assert started == {"transactionId": 1, "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}
        await cp1.status(1, "Charging")
        await until(clock, "07:15")
        await cp1.meter(1, 1, 3000, 16)
        await until(clock, "07:30")
        await cp1.meter(1, 1, 5000, 16.2)
        assert await cp2.authorize("ALICE") == {"status": "ConcurrentTx"}
        await until(clock, "08:00")
        await cp1.meter(1, 1, 9000, 10)
        assert await cp3.authorize("carol") == {"status": "Blocked"}
        meter = svc.connector("CP1", 1).meter
        assert (meter.usage_a.value, meter.usage_phases_a, meter.offered_a.value) == (10, (10, 10, 10), 16)
        assert [s.value for s in meter.usage_history] == [16, 16.2, 10]
        assert svc.connector("CP1", 1).transaction.energy_wh == 8000

        await until(clock, "09:00")
        assert (await cp3.authorize("bob"))["status"] == "Accepted"
        assert (await cp3.start(1, "bob", 50000))["transactionId"] == 2
        await until(clock, "09:30")
        await cp3.meter(1, 2, 53000, 12)

        await until(clock, "10:00")
        remote = await first.csms.operator.remote_start("CP2", "dave", 1)
        assert remote.status == "Accepted"
        assert cp2.received[-1] == ("RemoteStartTransaction", {"id_tag": "DAVE", "connector_id": 1})
        started = await cp2.start(1, "DAVE", 200)
        assert started == {
            "transactionId": 3,
            "idTagInfo": {"status": "Accepted", "expiryDate": "2025-03-04T12:00:00.000Z"},
        }

        await until(clock, "11:00")
        assert (await first.csms.operator.remote_stop("CP3", 1)).status == "Accepted"
        assert cp3.received[-1] == ("RemoteStopTransaction", {"transaction_id": 2})
        assert await cp3.stop(2, 58000, "Remote") == {}
        assert svc.connector("CP3", 1).transaction is None

        await until(clock, "12:30")
        assert await cp3.authorize("dave") == {"status": "Expired", "expiryDate": "2025-03-04T12:00:00.000Z"}
        await until(clock, "12:45")
        await cp1.meter(1, 1, 20000, 10)
        await cp2.meter(1, 3, 4200, 16)
        await until(clock, "13:00")
        await first.stop()

    kinds = []
    while True:
        try:
            kinds.append(type(events.receive.receive_nowait()).__name__)
        except trio.WouldBlock:
            break
    assert kinds.count(TransactionStarted.__name__) == 3
    assert kinds.count(TransactionStopped.__name__) == 1
    assert events.dropped == 0

    await until(clock, "13:05")
    second = await start_daemon(nursery, config, clock)
    svc = second.csms.service
    resumed = {tx.transaction_id: tx for tx in svc.live_transactions()}
    assert sorted(resumed) == [1, 3]
    assert resumed[1].last_register_wh == 20000
    assert resumed[3].id_tag == "DAVE"

    async with (
        scripted_charger(second.url, "CP1", clock) as cp1,
        scripted_charger(second.url, "CP2", clock) as cp2,
        scripted_charger(second.url, "CP3", clock) as cp3,
    ):
        await until(clock, "13:10")
        await cp1.meter(1, 1, 21000, 10)
        await until(clock, "14:00")
        stopped = await cp1.stop(1, 30000, "EVDisconnected", tag="alice")
        assert stopped == {"idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}

        await until(clock, "15:00")
        assert (await second.csms.operator.reset("CP2", "hard")).status == "Accepted"
        assert cp2.received[-1] == ("Reset", {"type": "Hard"})
        assert await cp2.stop(3, 9000, "HardReset") == {}
        await cp2.conn.aclose()
        async with scripted_charger(second.url, "CP2", clock) as rebooted:
            assert (await rebooted.boot(firmware="1.1"))["status"] == "Accepted"
            await rebooted.status(1, "Available")
        assert svc.charger("CP2").firmware == "1.1"

        await until(clock, "17:00")
        store = second.store
        change = tag_block(tag_view(config.tag, store.runtime_tags()), "FLEET", clock.now())
        store.apply_tag_change(change)
        assert await cp3.authorize("bob") == {"status": "Blocked"}
        assert await cp3.authorize("FLEET") == {"status": "Blocked"}
        assert await cp1.authorize("alice") == {"status": "Blocked"}
        await until(clock, "18:00")
        await second.stop()

    out = io.StringIO()
    assert export_sessions(config.store.path, SessionFilter(), "csv", out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == EXPECTED_CSV
    assert clock.now() - T0 == timedelta(hours=12)
