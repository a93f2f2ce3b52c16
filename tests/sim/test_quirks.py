"""One test per charger quirk (balanz/sim/quirks.py): the simulator misbehaves exactly that way."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import Connected, EventLog, LimitChanged
from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.quirks import Quirk, parse_quirks
from balanz.wire import CallTimeout
from tests.sim.conftest import Csms, StartChargers
from tests.sim.helpers import profile, sampled, set_profile


def test_every_quirk_has_a_test_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for quirk in Quirk:
        assert f"def test_{quirk.value}_" in source, f"quirk {quirk} has no test"


async def test_stack_level_0_only_rejects_higher_levels_though_the_key_advertises_them(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(stack_level_0_only=True))
    conn = scripted_csms.conn("CP1")
    keys = await conn.call_raw("GetConfiguration", {"key": ["ChargeProfileMaxStackLevel"]})
    assert int(keys["configurationKey"][0]["value"]) > 0
    higher = profile(10, stack_level=1, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, higher)) == {"status": "Rejected"}
    ground = profile(10, stack_level=0, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, ground)) == {"status": "Accepted"}


async def test_watts_only_rejects_amperes(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(watts_only=True))
    conn = scripted_csms.conn("CP1")
    amps = profile(10, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, amps)) == {"status": "Rejected"}
    watts = profile(6900, start=clock.now(), unit="W", profile_id=2)
    assert await conn.call_raw("SetChargingProfile", set_profile(0, watts)) == {"status": "Accepted"}
    assert cp.limit(1).amps == pytest.approx(10)


async def test_absolute_needs_start_refuses_a_profile_lacking_start_schedule(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(absolute_needs_start=True))
    conn = scripted_csms.conn("CP1")
    bare = profile(10)
    assert await conn.call_raw("SetChargingProfile", set_profile(0, bare)) == {"status": "Rejected"}
    anchored = profile(10, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, anchored)) == {"status": "Accepted"}


async def test_forgets_profiles_loses_them_on_reconnect_and_charges_at_full_power(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(forgets_profiles=True))
    conn = scripted_csms.conn("CP1")
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(8, start=clock.now())))
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(10)
    assert cp.draw(1) == (7.8, 7.8, 7.8)
    cp.drop_network(30)
    await trio.sleep(120)
    assert cp.told.installed == ()
    assert cp.draw(1) == (16.0, 16.0, 16.0)


async def test_forgets_profiles_also_on_reboot_unlike_a_compliant_charger(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    forgetful, compliant = await start_chargers(scripted_csms, 2)
    forgetful.spec = forgetful.spec.__class__(
        **{**forgetful.spec.__dict__, "quirks": QuirkFlags(forgets_profiles=True)}
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
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(clear_answers_unknown=True))
    conn = scripted_csms.conn("CP1")
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(8, start=clock.now())))
    assert await conn.call_raw("ClearChargingProfile", {}) == {"status": "Unknown"}
    assert cp.told.installed == ()


async def test_apply_delay_keeps_the_old_limit_until_the_delay_passes(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(apply_delay_s=45))
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
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(never_answers=True))
    conn = scripted_csms.conn("CP1")
    with pytest.raises(CallTimeout):
        await conn.call_raw("GetConfiguration", {}, timeout_s=60)
    assert cp.boot_accepted, "the charger itself keeps working"


async def test_slow_answers_answer_after_the_delay(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(answer_delay_s=12))
    conn = scripted_csms.conn("CP1")
    asked = trio.current_time()
    await conn.call_raw("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert trio.current_time() - asked == pytest.approx(12, abs=0.1)
    with pytest.raises(CallTimeout):
        await conn.call_raw("GetConfiguration", {}, timeout_s=5)


async def test_malformed_frames_every_third_message_goes_out_broken_and_the_csms_refuses_it(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(malformed_every=3))
    await trio.sleep(10 * 300 + 10)
    sent = cp.answerless_sent
    assert sent >= 12
    broken_json = [r for r in caplog.records if "not valid JSON" in r.getMessage()]
    schema = [r for r in caplog.records if "StatusNotification rejected with" in r.getMessage()]
    assert len(broken_json) + len(schema) == sent // 3
    assert broken_json
    assert schema
    assert len(events.of(Connected)) == 1, "the link survives the bad frames"


async def test_duplicate_frames_every_second_message_goes_out_twice_with_one_id(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(duplicate_every=2))
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(600)
    meters = csms.of("MeterValues")
    assert len(meters) > 10
    repeats = sum(1 for a, b in itertools.pairwise(meters) if a == b)
    assert repeats >= 4
    assert any("unknown message id" in r.getMessage() for r in caplog.records)


async def test_ignores_limit_accepts_but_keeps_offering_its_rating(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(ignores_limit=True))
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(max_current_a=32), tag="T")
    answer = await conn.call_raw("SetChargingProfile", set_profile(0, profile(8, start=clock.now())))
    assert answer == {"status": "Accepted"}
    await trio.sleep(120)
    assert cp.draw(1) == (31.8, 31.8, 31.8)
    last = scripted_csms.scripted.of("MeterValues")[-1] if scripted_csms.scripted else {}
    assert sampled(last, "Current.Offered") == 32


async def test_rejects_zero_refuses_a_zero_limit(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(rejects_zero=True))
    conn = scripted_csms.conn("CP1")
    paused = profile(0, start=clock.now(), periods=[(0, 10), (600, 0)])
    assert await conn.call_raw("SetChargingProfile", set_profile(0, paused)) == {"status": "Rejected"}
    assert (await conn.call_raw("SetChargingProfile", set_profile(0, profile(6, start=clock.now()))))[
        "status"
    ] == "Accepted"


async def test_no_current_offered_leaves_it_out_and_refuses_to_add_it(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(no_current_offered=True))
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(120)
    assert scripted_csms.scripted is not None
    last = scripted_csms.scripted.of("MeterValues")[-1]
    with pytest.raises(KeyError):
        sampled(last, "Current.Offered")
    assert sampled(last, "Current.Import", "L1") == 16.0
    change = {"key": "MeterValuesSampledData", "value": "Current.Import,Current.Offered"}
    assert await conn.call_raw("ChangeConfiguration", change) == {"status": "Rejected"}


async def test_rejects_max_profile_refuses_charge_point_max(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(rejects_max_profile=True))
    conn = scripted_csms.conn("CP1")
    cap = profile(20, purpose="ChargePointMaxProfile", start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, cap)) == {"status": "Rejected"}
    default = profile(20, profile_id=2, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, default)) == {"status": "Accepted"}


async def test_relative_only_refuses_absolute(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(relative_only=True))
    conn = scripted_csms.conn("CP1")
    absolute = profile(10, start=clock.now())
    assert await conn.call_raw("SetChargingProfile", set_profile(0, absolute)) == {"status": "Rejected"}
    relative = profile(10, kind="Relative")
    assert await conn.call_raw("SetChargingProfile", set_profile(0, relative)) == {"status": "Accepted"}
    assert cp.limit(1).amps == 10


async def test_no_smart_charging_lists_no_feature_and_refuses_profiles(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms, quirks=QuirkFlags(no_smart_charging=True))
    conn = scripted_csms.conn("CP1")
    keys = await conn.call_raw("GetConfiguration", {"key": ["SupportedFeatureProfiles"]})
    assert "SmartCharging" not in keys["configurationKey"][0]["value"]
    answer = await conn.call_raw("SetChargingProfile", set_profile(0, profile(10, start=clock.now())))
    assert answer == {"status": "Rejected"}
    composite = await conn.call_raw("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    assert composite == {"status": "Rejected"}


async def test_no_subprotocol_connects_without_offering_ocpp16(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, quirks=QuirkFlags(no_subprotocol=True))
    assert cp.boot_accepted, "balanz accepts a missing subprotocol by default (allow_missing_subprotocol)"
    assert any("offered no subprotocol" in r.getMessage() for r in caplog.records)


def test_scenario_quirks_map_onto_flags() -> None:
    problems: list[str] = []

    class Rep:
        def error(self, key: str, message: str, value: object = None) -> None:
            problems.append(f"{key}: {message}")

    parsed = parse_quirks(
        [
            "watts_only",
            {"name": "apply_delay", "apply_delay_s": 45},
            {"name": "malformed_frames", "every": 4},
        ],
        "quirks",
        Rep(),  # type: ignore[arg-type]
    )
    assert problems == []
    flags = QuirkFlags.from_quirks(parsed)
    assert flags == QuirkFlags(watts_only=True, apply_delay_s=45, malformed_every=4)
    assert set(flags.active()) == {"watts_only", "apply_delay_s", "malformed_every"}
