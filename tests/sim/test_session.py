"""A whole charging session against the scripted CSMS: plug, authorize, start, meter values, profile, stop."""

from __future__ import annotations

from datetime import timedelta

import trio
from trio.testing import MockClock

from balanz.profiles import Purpose
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EvDraw, EventLog, LimitChanged, StatusChanged
from tests.sim.conftest import Csms, StartChargers
from tests.sim.helpers import profile, sampled, set_profile


async def test_full_session_under_a_profile(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, configuration={"MeterValueSampleInterval": "10"})
    csms = scripted_csms.scripted
    assert csms is not None
    answer = await scripted_csms.conn("CP1").call_raw(
        "SetChargingProfile", set_profile(0, profile(10, start=clock.now() - timedelta(minutes=1)))
    )
    assert answer == {"status": "Accepted"}
    cp.plug(1, EvSpec(max_current_a=16, phases=3, target_wh=50_000), tag="TAG1")
    await trio.sleep(1)
    assert csms.of("Authorize") == [{"idTag": "TAG1"}]
    [start] = csms.of("StartTransaction")
    assert start["connectorId"] == 1
    assert start["meterStart"] == 0
    assert cp.connectors[1].transaction_id == 1
    await trio.sleep(3600)
    meters = [m for m in csms.of("MeterValues") if m.get("transactionId") == 1]
    assert 355 <= len(meters) <= 361
    stamps = [m["meterValue"][0]["timestamp"] for m in meters]
    assert len(set(stamps)) == len(stamps)
    last = meters[-1]
    for phase in ("L1", "L2", "L3"):
        assert sampled(last, "Current.Import", phase) == 9.8
    assert sampled(last, "Current.Offered") == 10.0
    assert sampled(last, "Power.Active.Import") == round(9.8 * 3 * 230, 1)
    energy = sampled(last, "Energy.Active.Import.Register")
    assert abs(energy - 9.8 * 3 * 230 * (len(meters) * 10 / 3600)) < 30
    statuses = [s.status for s in events.of(StatusChanged, "CP1")]
    assert statuses == ["Available", "Preparing", "Charging"]
    assert [s["status"] for s in csms.of("StatusNotification")][-2:] == ["Preparing", "Charging"]
    cp.swipe("TAG1")
    await trio.sleep(1)
    [stop] = csms.of("StopTransaction")
    assert stop["transactionId"] == 1
    assert stop["reason"] == "Local"
    assert abs(stop["meterStop"] - cp.connectors[1].meter_wh) < 1
    cp.unplug(1)
    await trio.sleep(1)
    assert [s.status for s in events.of(StatusChanged, "CP1")][-2:] == ["Finishing", "Available"]
    limits = events.of(LimitChanged, "CP1")
    assert limits[-1].amps == 10
    assert limits[-1].limited_by == Purpose.TX_DEFAULT.value


async def test_ev_never_draws_more_than_the_limit_as_profiles_change(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(
        scripted_csms, connectors=2, configuration={"MeterValueSampleInterval": "900"}
    )
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(target_wh=200_000), tag="A")
    cp.plug(2, EvSpec(target_wh=200_000, phases=1), tag="B")
    await trio.sleep(5)
    body = profile(0, start=clock.now(), periods=[(0, 20), (1800, 8), (3600, 0), (5400, 13)])
    assert (await conn.call_raw("SetChargingProfile", set_profile(0, body)))["status"] == "Accepted"
    cap = profile(24, profile_id=9, purpose="ChargePointMaxProfile", start=clock.now())
    assert (await conn.call_raw("SetChargingProfile", set_profile(0, cap)))["status"] == "Accepted"
    await trio.sleep(8 * 3600)
    limits = {(r.connector): [] for r in events.of(LimitChanged, "CP1")}
    for r in events.of(LimitChanged, "CP1"):
        limits[r.connector].append(r)
    draws = events.of(EvDraw, "CP1")
    assert draws
    for draw in draws:
        in_force = [r for r in limits[draw.connector] if r.at <= draw.at][-1]
        assert max(draw.amps) <= in_force.amps + 1e-9
    assert any(max(d.amps) == 11.8 for d in draws)
    assert any(d.ev_status == "SuspendedEVSE" for d in draws)
    assert cp.draw(2) == (11.8, 0.0, 0.0)


async def test_get_composite_schedule_answers_what_the_charger_applies(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    conn = scripted_csms.conn("CP1")
    now = clock.now().replace(microsecond=0)
    body = profile(0, start=now, periods=[(0, 16), (600, 6)])
    await conn.call_raw("SetChargingProfile", set_profile(1, body))
    answer = await conn.call_raw("GetCompositeSchedule", {"connectorId": 1, "duration": 1200})
    assert answer["status"] == "Accepted"
    periods = answer["chargingSchedule"]["chargingSchedulePeriod"]
    assert [(p["startPeriod"], p["limit"]) for p in periods] == [(0, 16), (600, 6)]
    assert cp.limit(1).amps == 16
    await trio.sleep(601)
    assert cp.limit(1).amps == 6
    rejected = await conn.call_raw("GetCompositeSchedule", {"connectorId": 5, "duration": 60})
    assert rejected == {"status": "Rejected"}
