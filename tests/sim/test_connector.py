"""The pure parts of the charger: connector statuses, configuration keys, sampled values, the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from trio.testing import MockClock

from balanz.profiles import RateUnit
from balanz.sim import connector as cn
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvStatus
from balanz.sim.meter import Reading, sampled_values
from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.spec import (
    SimChargerSpec,
    capabilities,
    change_configuration,
    default_configuration,
    get_configuration,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_status_follows_the_session() -> None:
    c = cn.Connector(1)
    assert cn.status(c) is cn.Status.AVAILABLE
    c = cn.plug(c)
    assert cn.status(c) is cn.Status.PREPARING
    c = cn.authorize(c, "T")
    assert cn.ready_to_start(c)
    c = cn.start_requested(c)
    assert cn.status(c) is cn.Status.SUSPENDED_EV
    c = replace(cn.started(c, 7, T0), ev_status=EvStatus.CHARGING)
    assert cn.status(c) is cn.Status.CHARGING
    assert cn.status(replace(c, ev_status=EvStatus.SUSPENDED_EVSE)) is cn.Status.SUSPENDED_EVSE
    assert cn.status(replace(c, fault="GroundFailure")) is cn.Status.FAULTED
    c = cn.stopped(c)
    assert cn.status(c) is cn.Status.FINISHING
    assert c.transaction_id is None
    assert cn.status(cn.unplug(c)) is cn.Status.AVAILABLE


def test_inoperative_waits_for_the_transaction_to_end() -> None:
    running = cn.started(cn.start_requested(cn.authorize(cn.plug(cn.Connector(1)), "T")), 1, T0)
    later, answer = cn.change_availability(running, operative=False)
    assert answer is cn.Availability.SCHEDULED
    assert later.operative
    done = cn.stopped(later)
    assert not done.operative
    assert cn.status(done) is cn.Status.UNAVAILABLE
    again, answer = cn.change_availability(cn.unplug(done), operative=True)
    assert answer is cn.Availability.ACCEPTED
    assert cn.status(again) is cn.Status.AVAILABLE


@given(st.booleans(), st.booleans(), st.sampled_from([None, "GroundFailure"]), st.floats(0, 1e6))
def test_reboot_keeps_only_hardware_facts(
    plugged: bool, operative: bool, fault: str | None, wh: float
) -> None:
    c = cn.Connector(2, plugged=plugged, operative=operative, fault=fault, meter_wh=wh, tag="T",
                     transaction_id=4, transaction_start=T0, finishing=True)  # fmt: skip
    after = cn.rebooted(c)
    assert after == cn.Connector(2, plugged=plugged, operative=operative, fault=fault, meter_wh=wh)


def test_configuration_keys() -> None:
    spec = SimChargerSpec("CP1", connectors=2, configuration={"HeartbeatInterval": "60"})
    values = default_configuration(spec)
    assert values["HeartbeatInterval"] == "60"
    assert values["ConnectorPhaseRotation"] == "0.RST,1.RST,2.RST"
    with pytest.raises(ValueError, match="CP1: unknown configuration keys"):
        default_configuration(SimChargerSpec("CP1", configuration={"Bogus": "1"}))
    assert get_configuration(spec, values, ["Nope"]) == {"configurationKey": [], "unknownKey": ["Nope"]}
    assert change_configuration(spec, values, "HeartbeatInterval", "-5")[1] == "Rejected"
    assert change_configuration(spec, values, "LocalPreAuthorize", "yes")[1] == "Rejected"
    assert change_configuration(spec, values, "LocalPreAuthorize", "true")[1] == "Accepted"
    caps = capabilities(values, QuirkFlags())
    assert caps.max_stack_level == 8
    assert caps.allowed_units == {RateUnit.A, RateUnit.W}
    quirky = capabilities(
        values, QuirkFlags(stack_level_0_only=True, watts_only=True, absolute_needs_start=True)
    )
    assert quirky.max_stack_level == 0
    assert quirky.allowed_units == {RateUnit.W}
    assert not quirky.accept_without_start_schedule


def test_sampled_values_follow_the_configured_measurands() -> None:
    reading = Reading((10.0, 10.0, 0.0), 16.0, 230.0, 1234.4)
    values = sampled_values(
        reading, ("Current.Import", "Power.Active.Import", "Energy.Active.Import.Register")
    )
    assert [(v["measurand"], v.get("phase"), v["value"]) for v in values] == [
        ("Current.Import", "L1", "10.0"),
        ("Current.Import", "L2", "10.0"),
        ("Current.Import", "L3", "0.0"),
        ("Power.Active.Import", None, "4600.0"),
        ("Energy.Active.Import.Register", None, "1234"),
    ]


async def test_clock_maps_trio_time_with_a_speed(autojump_clock: MockClock) -> None:
    fast = SimClock.starting(T0, speed=60)
    await fast.sleep(3600)
    assert fast.now() == datetime(2025, 1, 1, 1, tzinfo=UTC)
    assert fast.trio_time(datetime(2025, 1, 1, 2, tzinfo=UTC)) - trio.current_time() == pytest.approx(60)
    with pytest.raises(ValueError, match="positive"):
        SimClock.starting(T0, speed=0)
