"""The allocator's fields in the monitor snapshot, over the control socket of a running daemon with simulated
chargers, on virtual time: what the operator reads must follow what the allocator decides."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import trio

from balanz.config.schema import (
    AllocatorConfig,
    ChargerConfig,
    Config,
    GroupConfig,
    MonitorConfig,
    ServerConfig,
    StoreConfig,
    TagConfig,
)
from balanz.control.snapshot import Connector, Snapshot
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.spec import SimChargerSpec
from tests.control.server_harness import Client, Running, close_clients, short_dir, start
from tests.e2e.csms_charger import T0

CAR = EvSpec(max_current_a=32, target_wh=200_000)
STAFF = "Mon-Fri 07:00-17:59>0=16:3=32; *>0=32"


def smart_monitor_config(tmp_path: Path, **allocator: object) -> Config:
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0, ping_interval_s=0),
        allocator=dataclasses.replace(AllocatorConfig(first_wait_s=0, timezone="UTC"), **allocator),
        store=StoreConfig(path=str(tmp_path / "balanz.sqlite")),
        monitor=MonitorConfig(socket=os.path.join(short_dir(), "c.sock")),
        group=(
            GroupConfig(id="site", max_allocation="40"),
            GroupConfig(id="staff", parent="site", max_allocation=STAFF),
        ),
        charger=(
            ChargerConfig(id="CP1", group="staff", max_current_a=32),
            ChargerConfig(id="CP2", group="staff", max_current_a=32),
        ),
        tag=(TagConfig(id="ALICE", priority=3), TagConfig(id="BOB", priority=1)),
    )


@dataclasses.dataclass
class Site:
    running: Running
    chargers: list[SimCharger]
    client: Client

    def snapshot(self) -> Snapshot:
        assert self.client.snapshot is not None
        return self.client.snapshot

    def connector(self, charger_id: str) -> Connector:
        charger = self.snapshot().charger(charger_id)
        assert charger is not None
        return charger.connectors[0]

    async def settle(self, seconds: float) -> None:
        """Let virtual time pass while reading every push, so the client's snapshot follows the deltas."""
        with trio.move_on_after(seconds):
            while True:
                await self.client.next_push("delta")


@pytest.fixture
async def site(nursery, tmp_path):
    running = await start(nursery, smart_monitor_config(tmp_path))
    sim_clock = SimClock.starting(running.clock.now())
    chargers = []
    for cid in ("CP1", "CP2"):
        charger = SimCharger(SimChargerSpec(id=cid), running.url, clock=sim_clock)
        await nursery.start(charger.run)
        chargers.append(charger)
    for charger in chargers:
        await charger.wait_booted()
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["state", "events"]})
    await client.next_push("snapshot")
    yield Site(running, chargers, client)
    await close_clients()
    await running.stop()


async def test_group_limits_slot_and_next_change(autojump_clock, site):
    await site.settle(30)
    staff = site.snapshot().group("staff")
    assert staff is not None
    assert T0.hour == 6, "the test day starts before the 07:00 staff slot"
    assert staff.limit_a == 32
    assert staff.slot is not None
    assert staff.slot.label == "*>0=32"
    assert staff.next_change is not None
    assert staff.next_change.at.startswith("2025-03-04T07:00")
    assert [q.amps for q in staff.next_change.slot.quotas] == [16, 32]
    assert staff.rules == ('slot 2 "*>0=32"',)
    top = site.snapshot().group("site")
    assert top is not None
    assert top.limit_a == 40
    assert staff.offered_a == (0.0, 0.0, 0.0)
    assert staff.exposure_a == (0.0, 0.0, 0.0), "both chargers re-asserted at 0 A"
    for cid in ("CP1", "CP2"):
        conn = site.connector(cid)
        assert (conn.target_a, conn.offer_a, conn.exposure_a, conn.pinned) == (0, 0, 0, "")


async def test_offers_follow_sessions_and_priorities(autojump_clock, site):
    await site.settle(30)
    site.chargers[0].plug(1, CAR, tag="ALICE")
    await site.settle(300)
    cp1 = site.connector("CP1")
    assert cp1.session is not None
    assert cp1.session.id_tag == "ALICE"
    assert cp1.target_a is not None
    assert cp1.target_a >= 6
    assert cp1.offer_a == cp1.target_a == cp1.sent_a, "acknowledged by the simulated charger"
    assert cp1.exposure_a is not None
    assert cp1.exposure_a >= cp1.target_a
    assert cp1.want_a is not None
    assert cp1.want_a >= cp1.target_a
    assert (cp1.priority, cp1.priority_source) == (3, "tag")
    assert "R" in cp1.last_change
    assert "→" in cp1.last_change
    assert cp1.offer_history
    assert cp1.offer_history[-1] == cp1.target_a
    staff = site.snapshot().group("staff")
    assert staff is not None
    assert staff.offered_a == (cp1.target_a,) * 3, "a 3-phase car loads every supply phase"

    site.chargers[1].plug(1, CAR, tag="BOB")
    await site.settle(600)
    cp1, cp2 = site.connector("CP1"), site.connector("CP2")
    assert cp1.target_a is not None
    assert cp1.target_a > 6
    assert cp2.target_a == 0, "ALICE's priority 3 comes first; BOB's 1 gets what is left"
    assert cp2.want_a is not None
    assert cp2.want_a >= 6
    assert "R" in cp2.last_change, cp2.last_change
    staff = site.snapshot().group("staff")
    assert staff is not None
    assert staff.offered_a[0] == cp1.target_a + cp2.target_a <= 32
    assert staff.exposure_a[0] <= 32

    await site.client.ok("set-priority", {"charger": "CP2", "connector": 1, "priority": 9})
    await site.settle(900)
    cp1, cp2 = site.connector("CP1"), site.connector("CP2")
    assert (cp2.priority, cp2.priority_source) == (9, "operator")
    assert cp2.target_a is not None
    assert cp2.target_a > 6, "the higher priority moved current to CP2"
    assert cp1.target_a is not None
    assert cp1.target_a < cp2.target_a
    assert cp1.last_change
    assert "R" in cp1.last_change


async def test_allocation_decisions_reach_the_event_log(autojump_clock, site):
    await site.settle(30)
    site.client.pushes.clear()
    site.chargers[0].plug(1, CAR, tag="ALICE")
    decisions = []
    with trio.move_on_after(300):
        while not decisions:
            push = await site.client.next_push("event")
            if push["data"]["kind"] == "allocation":
                decisions.append(push["data"])
    assert decisions, "an increase for the new session was announced"
    first = decisions[0]
    assert (first["charger"], first["connector"]) == ("CP1", 1)
    assert first["rule"].startswith("R")
    assert "→" in first["text"]


async def test_suspending_a_connector_withdraws_its_offer_until_resumed(autojump_clock, site):
    site.chargers[0].plug(1, CAR, tag="ALICE")
    await site.settle(300)
    assert (site.connector("CP1").target_a or 0) >= 6
    result = await site.client.ok("suspend-connector", {"charger": "CP1", "connector": 1})
    assert result["applied"] is True
    assert "withdrawn" in result["note"]
    await site.settle(60)
    cp1 = site.connector("CP1")
    assert cp1.suspended
    assert cp1.target_a == 0
    assert cp1.offer_a == 0, "the charger acknowledged the withdrawal"
    assert site.chargers[0].limit(1).amps == 0
    assert "R22" in cp1.last_change
    await site.client.ok("resume-connector", {"charger": "CP1", "connector": 1})
    await site.settle(300)
    cp1 = site.connector("CP1")
    assert not cp1.suspended
    assert (cp1.target_a or 0) >= 6


async def test_a_temporary_group_limit_caps_the_group_until_it_expires(autojump_clock, site):
    site.chargers[0].plug(1, CAR, tag="ALICE")
    await site.settle(900)
    assert (site.connector("CP1").target_a or 0) > 10
    result = await site.client.ok("set-group-limit", {"group": "staff", "limit_a": 10, "for_s": 600})
    assert result["applied"] is True
    await site.settle(60)
    staff = site.snapshot().group("staff")
    assert staff is not None
    assert staff.override is not None
    assert staff.override.limit_a == 10
    assert staff.limit_a == 10
    assert "operator override 10 A" in staff.rules
    assert site.connector("CP1").target_a == 10
    assert site.chargers[0].limit(1).amps <= 10
    await site.settle(600)
    staff = site.snapshot().group("staff")
    assert staff is not None
    assert staff.override is None
    assert staff.limit_a == 32, "the schedule alone again"
    await site.settle(600)
    assert (site.connector("CP1").target_a or 0) > 10, "ramps up again once the limit expired"


async def test_intents_survive_a_restart(autojump_clock, nursery, tmp_path):
    config = smart_monitor_config(tmp_path)
    first = await start(nursery, config)
    client = await Client.connect(first.path)
    await client.ok("suspend-connector", {"charger": "CP2", "connector": 1})
    await client.ok("set-group-limit", {"group": "staff", "limit_a": 12.7, "for_s": 3600})
    await close_clients()
    await first.stop()
    first.store.close()
    second = await start(nursery, config)
    allocator = second.daemon.allocator
    assert allocator is not None
    assert allocator.state.connector(("CP2", 1)).suspended_by_operator
    override = allocator.state.group("staff").override
    assert override is not None
    assert override.amps == 12
    client = await Client.connect(second.path)
    snap = Snapshot.from_json(await client.ok("snapshot"))
    staff = snap.group("staff")
    assert staff is not None
    assert staff.override is not None
    assert staff.limit_a == 12
    charger = snap.charger("CP2")
    assert charger is not None
    assert charger.connectors[0].suspended
    await close_clients()
    await second.stop()


async def test_what_a_connector_holds_whatever_it_is_offered_is_flagged(autojump_clock, site):
    """A charger's floor (it refuses 0 A, or a non-zero idle limit) and a report above the limit in force
    (the charger does not apply it) are what the allocator keeps room for: the operator sees both."""
    from balanz.allocation import events as tr

    allocator = site.running.daemon.allocator
    await site.settle(30)
    allocator.update(lambda s: tr.charger_floor(s, allocator.site, "CP2", 6))
    site.chargers[0].plug(1, CAR, tag="ALICE")
    await site.settle(300)
    key = ("CP1", 1)
    at = allocator.clock.now()
    allocator.update(lambda s: tr.meter_values(s, key, at, (30.0,) * 3, allocator.params, None, 32.0))
    await site.settle(5)
    assert "floor 6 A" in site.connector("CP2").flags
    assert site.connector("CP2").exposure_a == 6
    assert "seen 32 A over its limit" in site.connector("CP1").flags
    assert site.connector("CP1").exposure_a == 32


async def test_a_release_outlives_a_restart_until_reasserted(autojump_clock, nursery, tmp_path, site):
    """release-profiles over the control socket: CP2 loses balanz's profiles, the store remembers it, and
    a restarted daemon counts CP2 at its maximum and installs nothing on it until reassert-profiles."""
    await site.settle(30)
    assert site.chargers[1].told.installed
    result = await site.client.ok("release-profiles", {"charger": "CP2"})
    assert result["note"].startswith("profiles cleared"), result
    assert site.chargers[1].told.installed == ()
    assert set(site.running.store.released_chargers()) == {"CP2"}
    await close_clients()
    await site.running.stop()
    site.running.store.close()
    second = await start(nursery, smart_monitor_config(tmp_path))
    allocator = second.daemon.allocator
    assert allocator is not None
    assert allocator.dispatcher.released == {"CP2"}
    assert allocator.state.charger("CP2").uncontrollable
    assert not allocator.dispatcher.sends_profiles("CP2")
    client = await Client.connect(second.path)
    await client.ok("reassert-profiles", {"charger": "CP2"})
    assert second.store.released_chargers() == {}
    assert allocator.dispatcher.sends_profiles("CP2")
    await close_clients()
    await second.stop()
