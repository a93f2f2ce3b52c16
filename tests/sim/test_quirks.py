"""One test per charger quirk (balanz/sim/quirks.py): the simulator misbehaves exactly that way."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import Connected, EventLog, LimitChanged
from balanz.sim.quirks import QUIRK_NAMES, Quirks
from balanz.wire import CallTimeout
from tests.sim.conftest import Csms, StartChargers
from tests.sim.helpers import profile, set_profile


def test_every_quirk_has_a_test_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for name in QUIRK_NAMES:
        assert f"def test_{name}_" in source, f"quirk {name} has no test"


async def test_only_stack_level_0_rejects_higher_levels_though_the_key_advertises_them(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=Quirks(only_stack_level_0=True))
    conn = scripted_csms.conn("CP1")
    keys = await conn.call_raw("GetConfiguration", {"key": ["ChargeProfileMaxStackLevel"]})
    assert int(keys["configurationKey"][0]["value"]) > 0
    higher = profile(10, stack_level=1, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, higher)) == {"status": "Rejected"}
    ground = profile(10, stack_level=0, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, ground)) == {"status": "Accepted"}


async def test_only_watts_rejects_amperes(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(only_watts=True))
    conn = scripted_csms.conn("CP1")
    amps = profile(10, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, amps)) == {"status": "Rejected"}
    watts = profile(6900, start=clock.now(), unit="W", profile_id=2)
    assert await conn.call_raw("SetChargingProfile", set_profile(0, watts)) == {"status": "Accepted"}
    assert cp.limit(1).amps == pytest.approx(10)


async def test_reject_absolute_without_start_refuses_a_profile_lacking_start_schedule(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=Quirks(reject_absolute_without_start=True))
    conn = scripted_csms.conn("CP1")
    bare = profile(10)
    assert await conn.call_raw("SetChargingProfile", set_profile(0, bare)) == {"status": "Rejected"}
    anchored = profile(10, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, anchored)) == {"status": "Accepted"}


async def test_forget_profiles_loses_them_on_reconnect_and_charges_at_full_power(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(forget_profiles=True))
    conn = scripted_csms.conn("CP1")
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(8, start=clock.now())))
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(10)
    assert cp.draw(1) == (7.8, 7.8, 7.8)
    cp.drop_network(30)
    await trio.sleep(120)
    assert cp.told.installed == ()
    assert cp.draw(1) == (16.0, 16.0, 16.0)


async def test_forget_profiles_also_on_reboot_unlike_a_compliant_charger(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    forgetful, compliant = await start_chargers(scripted_csms, 2)
    forgetful.spec = forgetful.spec.__class__(
        **{**forgetful.spec.__dict__, "quirks": Quirks(forget_profiles=True)}
    )
    for cid in ("CP1", "CP2"):
        await scripted_csms.conn(cid).call_raw(
            "SetChargingProfile", set_profile(0, profile(8, start=clock.now()))
        )
    forgetful.reboot()
    compliant.reboot()
    await trio.sleep(60)
    assert forgetful.told.installed == ()
    assert len(compliant.told.installed) == 1


async def test_clear_answers_unknown_even_when_it_removed_the_profile(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(clear_answers_unknown=True))
    conn = scripted_csms.conn("CP1")
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(8, start=clock.now())))
    assert await conn.call_raw("ClearChargingProfile", {}) == {"status": "Unknown"}
    assert cp.told.installed == ()


async def test_apply_delay_s_keeps_the_old_limit_until_the_delay_passes(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(apply_delay_s=45))
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(5)
    told_at = clock.now()
    await conn.call_raw(
        "SetChargingProfile", set_profile(0, profile(8, start=told_at - timedelta(minutes=1)))
    )
    assert cp.draw(1) == (16.0, 16.0, 16.0)
    answer = await conn.call_raw("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    assert answer["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 32
    await trio.sleep(50)
    assert cp.draw(1) == (7.8, 7.8, 7.8)
    [applied] = [r for r in events.of(LimitChanged) if r.amps == 8]
    assert (applied.at - told_at).total_seconds() == pytest.approx(45, abs=0.01)


async def test_never_answers_leaves_every_call_to_time_out(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(never_answers=True))
    conn = scripted_csms.conn("CP1")
    with pytest.raises(CallTimeout):
        await conn.call_raw("GetConfiguration", {}, timeout_s=60)
    assert cp.boot_accepted, "the charger itself keeps working"


async def test_answer_delay_s_answers_after_the_delay(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=Quirks(answer_delay_s=12))
    conn = scripted_csms.conn("CP1")
    asked = trio.current_time()
    await conn.call_raw("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert trio.current_time() - asked == pytest.approx(12, abs=0.1)
    with pytest.raises(CallTimeout):
        await conn.call_raw("GetConfiguration", {}, timeout_s=5)


async def test_malformed_frames_are_sent_before_heartbeats_and_the_csms_refuses_them(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await start_chargers(scripted_csms, quirks=Quirks(malformed_frames=True))
    await trio.sleep(3 * 300 + 10)
    refused = [r for r in caplog.records if "not valid JSON" in r.getMessage()]
    assert len(refused) == 3
    assert len(events.of(Connected)) == 1, "the link survives the bad frames"
    assert scripted_csms.scripted is not None
    assert scripted_csms.scripted.counts["Heartbeat"] == 3


async def test_duplicate_frames_send_status_and_meter_values_twice(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=Quirks(duplicate_frames=True))
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(125)
    statuses = csms.of("StatusNotification")
    assert [s["status"] for s in statuses][-4:] == ["Preparing", "Preparing", "Charging", "Charging"]
    meters = csms.of("MeterValues")
    assert len(meters) == 4
    assert meters[0] == meters[1]
    assert meters[2] == meters[3]
