"""The control socket of a running daemon: the snapshot on subscribe, deltas after charger events (within
250 ms of virtual time), event and log pushes."""

from __future__ import annotations

import logging

import pytest
import trio

from balanz.control.snapshot import Snapshot
from tests.control.server_harness import Client, close_clients, control_config, start
from tests.e2e.csms_charger import scripted_charger


@pytest.fixture
async def running(nursery, tmp_path):
    yield await start(nursery, control_config(tmp_path))
    await close_clients()


async def test_hello_names_the_daemon_and_the_access(autojump_clock, running):
    client = await Client.connect(running.path, hello=False)
    hello = await client.ok("hello", {"protocol": 1, "client": "test"})
    assert hello["protocol"] == 1
    assert hello["mode"] == "csms"
    assert hello["access"] == "control"
    assert hello["version"]


async def test_subscribe_sends_the_whole_site(autojump_clock, running):
    client = await Client.connect(running.path)
    assert await client.ok("subscribe", {"topics": ["state"]}) == {"topics": ["state"], "level": "INFO"}
    push = await client.next_push("snapshot")
    assert push["seq"] == 1
    snapshot = Snapshot.from_json(push["data"])
    assert snapshot.at.startswith("2025-03-04T")  # the site clock, not the wall clock
    assert snapshot.site.mode == "csms"
    assert snapshot.site.smart_charging
    assert [g.id for g in snapshot.groups] == ["site"]
    assert snapshot.groups[0].allocation
    assert not snapshot.groups[0].suspended
    assert [c.id for c in snapshot.chargers] == ["CP1", "CP2", "CP3"]
    cp1 = snapshot.charger("CP1")
    assert (cp1.alias, cp1.group, cp1.connected) == ("Garage", "site", False)
    assert [c.id for c in cp1.connectors] == [1, 2]
    assert snapshot.charger("CP3").priority == 3
    assert Snapshot.from_json(await client.ok("snapshot")).chargers == snapshot.chargers


async def test_a_session_shows_in_a_delta_within_250_ms(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["state", "events"]})
    await client.next_push("snapshot")
    async with scripted_charger(running.url, "CP1", running.clock) as cp1:
        await cp1.boot()
        await cp1.status(1, "Preparing")
        await trio.sleep(5)
        answer = await cp1.start(1, "alice", 1000)
        started = trio.current_time()
        tx = answer["transactionId"]
        while True:
            await client.next_push("delta")
            conn = client.snapshot.charger("CP1").connectors[0]
            if conn.session is not None:
                break
        assert trio.current_time() - started <= 0.25
        assert client.snapshot.charger("CP1").connected
        assert client.snapshot.charger("CP1").vendor == "ACME"
        assert conn.session.transaction_id == tx
        assert conn.session.id_tag == "ALICE"
        assert conn.session.user == "Alice"
        await cp1.status(1, "Charging")
        await cp1.meter(1, tx, 3500, 10.5)
        metered = trio.current_time()
        while True:
            await client.next_push("delta")
            conn = client.snapshot.charger("CP1").connectors[0]
            if conn.usage_a:
                break
        assert trio.current_time() - metered <= 0.25
        assert conn.status == "Charging"
        assert conn.usage_a == (10.5, 10.5, 10.5)
        assert conn.session.energy_wh == 2500
        assert conn.meter.offered_a == 16
        assert client.snapshot.group("site").used_a == (10.5, 10.5, 10.5)
        fresh = Snapshot.from_json(await client.ok("snapshot"))
        assert fresh.charger("CP1").connectors == client.snapshot.charger("CP1").connectors


async def test_deltas_are_coalesced_to_one_per_250_ms(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["state"]})
    await client.next_push("snapshot")
    async with scripted_charger(running.url, "CP2", running.clock) as cp2:
        await cp2.boot()
        began = trio.current_time()
        for n in range(40):
            await cp2.status(1, "Preparing" if n % 2 else "Available")
            await trio.sleep(0.01)
        await trio.sleep(0.3)
        window = trio.current_time() - began
        await client.ok("status")  # every push sent before this reply has arrived
    deltas = [p for p in client.pushes if p["event"] == "delta"]
    assert 1 <= len(deltas) <= window / 0.25 + 2  # 40 changes, a handful of deltas
    while client.pushes:
        await client.next_push("delta")
    assert client.snapshot.charger("CP2").connectors[0].status == "Preparing"


async def test_events_and_logs_are_pushed(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["events", "logs"], "level": "WARNING"})
    async with scripted_charger(running.url, "CP2", running.clock) as cp2:
        await cp2.boot()
        event = await client.next_push("event")
        assert event["data"]["kind"] == "connection"
        assert event["data"]["charger"] == "CP2"
        boot = await client.next_push("event")
        assert boot["data"]["kind"] == "boot"
        assert "ACME Wallbox" in boot["data"]["text"]
    logging.getLogger("balanz.test").info("quiet line")
    logging.getLogger("balanz.test").warning("loud line for the monitor")
    # The allocator may log warnings about the scripted charger (it answers SetChargingProfile with
    # NotSupported) before ours: those are pushed too.
    log = await client.next_push("log")
    while log["data"]["logger"] != "balanz.test":
        log = await client.next_push("log")
    assert log["data"]["message"] == "loud line for the monitor"
    assert log["data"]["level"] == "WARNING"
    assert log["data"]["logger"] == "balanz.test"
    seqs = [p["seq"] for p in client.pushes]
    assert seqs == sorted(seqs)


async def test_unsubscribe_stops_pushes(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["logs"], "level": "DEBUG"})
    await client.ok("unsubscribe")
    client.pushes.clear()
    logging.getLogger("balanz.test").warning("nobody hears this")
    await client.ok("status")
    assert client.pushes == []


async def test_a_parent_group_counts_its_subgroups(autojump_clock, nursery, tmp_path):
    import dataclasses

    from balanz.config.schema import ChargerConfig, GroupConfig

    config = control_config(tmp_path)
    config = dataclasses.replace(
        config,
        group=(*config.group, GroupConfig(id="garage", parent="site", max_allocation="32")),
        charger=(*config.charger, ChargerConfig(id="CP4", group="garage")),
    )
    running = await start(nursery, config)
    client = await Client.connect(running.path)
    async with (
        scripted_charger(running.url, "CP4", running.clock) as cp4,
        scripted_charger(running.url, "CP2", running.clock) as cp2,
    ):
        for cp, amps in ((cp4, 12.0), (cp2, 7.0)):
            await cp.boot()
            tx = (await cp.start(1, "bob" if cp is cp2 else "alice", 0))["transactionId"]
            await cp.meter(1, tx, 100, amps)
        snapshot = Snapshot.from_json(await client.ok("snapshot"))
    assert snapshot.group("garage").used_a == (12.0, 12.0, 12.0)
    assert snapshot.group("site").used_a == (19.0, 19.0, 19.0)
    await close_clients()
