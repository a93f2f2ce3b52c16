"""Ten simulated days in about a second: daily sessions, heartbeats, energy that adds up."""

from __future__ import annotations

import itertools
from datetime import timedelta

import trio
from trio.testing import MockClock

from balanz.server import OcppServer
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EventLog, TransactionStopped
from balanz.sim.spec import SimChargerSpec
from balanz.sim.testcsms import ScriptedCsms, csms_config
from tests.sim.helpers import profile, set_profile

DAYS = 10


async def test_ten_days_of_evening_sessions_under_a_daily_profile(
    nursery: trio.Nursery, clock: SimClock, events: EventLog, autojump_clock: MockClock
) -> None:
    csms = ScriptedCsms(now=clock.now, heartbeat_interval_s=3600)
    server = OcppServer(csms_config(ping_interval_s=0, charger_stale_s=10_000), csms.registry())
    await nursery.start(server.run)
    spec = SimChargerSpec("CP1", configuration={"MeterValueSampleInterval": "900"})
    cp = SimCharger(spec, f"ws://127.0.0.1:{server.port}", clock=clock, events=events)
    await nursery.start(cp.run)
    await cp.wait_booted()
    conn = server.connection("CP1")
    assert conn is not None
    daily = profile(0, start=clock.now(), kind="Recurring", periods=[(0, 10), (3 * 3600, 16)])
    daily["recurrencyKind"] = "Daily"
    assert (await conn.call_raw("SetChargingProfile", set_profile(1, daily)))["status"] == "Accepted"
    wall = trio.current_time()
    for _day in range(DAYS):
        cp.plug(1, EvSpec(max_current_a=16, target_wh=200_000), tag="T")
        await trio.sleep(4 * 3600)
        cp.unplug(1)
        await trio.sleep(20 * 3600)
    assert trio.current_time() - wall == DAYS * 24 * 3600
    stops = events.of(TransactionStopped)
    assert len(stops) == DAYS
    per_session_wh = 9.8 * 3 * 230 * 3 + 15.8 * 3 * 230 * 1
    used = [b.meter_stop_wh - a.meter_stop_wh for a, b in itertools.pairwise(stops)]
    assert all(abs(u - per_session_wh) < 3 for u in used)
    assert abs(len(csms.of("Heartbeat")) - DAYS * 24) <= 1
    assert clock.now() - clock.start >= timedelta(days=DAYS)
