"""Onboarding (balanz.charging.onboard) through the allocator service: a connect or boot event makes it
probe the charger, choose the strategy, set up measurands and re-assert; refusals walk the ladder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio

from balanz.allocation import events as tr
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.onboard import AFTER_BOOT_WAIT_S
from balanz.charging.probe import PROBE_KEYS
from balanz.charging.verify import Check, expect, retarget
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig, ProfilesConfig
from balanz.csms.meter_values import ConnectorMeter, MeterSample, apply_samples
from balanz.events import ChargerBooted, ChargerConnected, EventBus, MeterUpdated, StatusChanged
from balanz.store import Store
from balanz.wire.errors import CallErrorReceived, CallTimeout

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
SMART_KEYS = {
    "SupportedFeatureProfiles": "Core,SmartCharging",
    "ChargeProfileMaxStackLevel": "8",
    "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
    "MeterValuesSampledData": "Energy.Active.Import.Register",
    "MeterValueSampleInterval": "60",
}


class ScriptedCharger:
    """Answers from its configuration keys; `refuse(profile)` says which SetChargingProfile it rejects."""

    def __init__(
        self,
        keys: Mapping[str, str] = SMART_KEYS,
        *,
        max_keys: int | None = None,
        silent_probe: bool = False,
        refuse: Callable[[dict[str, Any]], bool] = lambda profile: False,
        refused_values: tuple[str, ...] = (),
    ) -> None:
        self.keys = dict(keys)
        self.max_keys = max_keys
        self.silent_probe = silent_probe
        self.refuse = refuse
        self.refused_values = refused_values
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.at: list[float] = []

    def sent(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == action]

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, payload))
        self.at.append(trio.current_time())
        if action == "GetConfiguration":
            if self.silent_probe:
                raise CallTimeout("CP1", action, 30)
            wanted = payload.get("key") or list(self.keys)
            if self.max_keys is not None and len(wanted) > self.max_keys:
                raise CallErrorReceived("CP1", action, "OccurenceConstraintViolation", "too many keys", {})
            known = [k for k in wanted if k in self.keys]
            answer: dict[str, Any] = {
                "configurationKey": [{"key": k, "readonly": False, "value": self.keys[k]} for k in known]
            }
            if len(known) < len(wanted):
                answer["unknownKey"] = [k for k in wanted if k not in self.keys]
            return answer
        if action == "ChangeConfiguration":
            if any(v in payload["value"] for v in self.refused_values):
                return {"status": "Rejected"}
            self.keys[payload["key"]] = payload["value"]
            return {"status": "Accepted"}
        if action == "SetChargingProfile":
            return {"status": "Rejected" if self.refuse(payload["csChargingProfiles"]) else "Accepted"}
        return {"status": "Accepted"}


class OneCharger:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def connection(self, charger_id: str) -> Any:
        return self.conn if charger_id == "CP1" else None


def config(**profiles: Any) -> Config:
    return Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        profiles=ProfilesConfig(**profiles),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site", max_current_a=32),),
    )


async def started(
    nursery: trio.Nursery, charger: ScriptedCharger, cfg: Config | None = None, store: Store | None = None
) -> tuple[AllocatorService, EventBus]:
    bus = EventBus()
    service = AllocatorService.build(cfg or config(), SiteClock(T0), bus, OneCharger(charger), store)
    await nursery.start(service.run)
    return service, bus


def boot(bus: EventBus, vendor: str = "ACME", model: str = "Box", firmware: str = "1.0") -> None:
    """Connect, boot, and the StatusNotification a charger sends once its boot was accepted."""
    bus.publish(ChargerConnected("CP1", T0, 1))
    bus.publish(ChargerBooted("CP1", T0, "Accepted", vendor, model, firmware))
    bus.publish(StatusChanged("CP1", 0, T0, "Available", "NoError", False, False))


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = Store(str(tmp_path / "balanz.sqlite"))
    yield opened
    opened.close()


async def test_a_boot_is_probed_once_and_the_strategy_follows_the_answer(nursery, store, autojump_clock):
    charger = ScriptedCharger({**SMART_KEYS, "ChargingScheduleAllowedChargingRateUnit": "Power"})
    service, bus = await started(nursery, charger, store=store)
    boot(bus)
    await trio.sleep(5)
    probes = charger.sent("GetConfiguration")
    assert probes == [{"key": list(PROBE_KEYS)}], "connect and boot together make one probe"
    assert service.onboarding is not None
    assert service.onboarding.findings("CP1").strategy == "tx/L0/Absolute/W"
    first = charger.sent("SetChargingProfile")[0]["csChargingProfiles"]
    assert first["chargingSchedule"]["chargingRateUnit"] == "W"
    assert not service.state.charger("CP1").reasserting
    stored = store.capabilities("CP1")
    assert stored is not None
    assert stored.capabilities["rate_units"] == ["W"]
    assert (stored.vendor, stored.model, stored.firmware_version) == ("ACME", "Box", "1.0")
    # The strategy is stored once a re-assertion under it went through (the charger's next event).
    bus.publish(StatusChanged("CP1", 1, T0, "Available", "NoError", False, False))
    await trio.sleep(1)
    bus.publish(ChargerConnected("CP1", T0, 2))
    await trio.sleep(5)
    assert store.capabilities("CP1").strategy == "tx/L0/Absolute/W"
    assert len(charger.sent("GetConfiguration")) == 1, "a plain reconnect is not probed again"


async def test_a_charger_refusing_long_key_lists_is_asked_in_parts(nursery, autojump_clock):
    charger = ScriptedCharger({**SMART_KEYS, "GetConfigurationMaxKeys": "4"}, max_keys=4)
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    asked = [p["key"] for p in charger.sent("GetConfiguration")]
    assert asked[0] == list(PROBE_KEYS)
    assert asked[1] == ["GetConfigurationMaxKeys"]
    assert all(len(keys) <= 4 for keys in asked[1:])
    assert [k for keys in asked[2:] for k in keys] == list(PROBE_KEYS)
    probe = service.onboarding.findings("CP1").probe
    assert probe.answered
    assert probe.max_stack_level == 8


async def test_a_charger_without_a_key_limit_is_asked_one_key_at_a_time(nursery, autojump_clock):
    charger = ScriptedCharger(SMART_KEYS, max_keys=1)
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    asked = [p["key"] for p in charger.sent("GetConfiguration")]
    assert asked[2:] == [[k] for k in PROBE_KEYS]
    assert service.onboarding.findings("CP1").probe.smart_charging is True


async def test_an_unanswered_probe_leaves_the_defaults(nursery, autojump_clock):
    charger = ScriptedCharger(silent_probe=True)
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    found = service.onboarding.findings("CP1")
    assert found.capabilities_unknown
    assert found.strategy == "tx/L0/Absolute/A"
    assert any("capabilities unknown" in w for w in found.warnings)
    assert not service.state.charger("CP1").reasserting, "re-asserted under the defaults"


async def test_no_smart_charging_makes_the_charger_uncontrollable(nursery, autojump_clock):
    charger = ScriptedCharger({**SMART_KEYS, "SupportedFeatureProfiles": "Core,RemoteTrigger"})
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    assert service.state.charger("CP1").uncontrollable
    found = service.onboarding.findings("CP1")
    assert "enable smart charging" in found.uncontrollable
    assert found.strategy == ""


async def test_a_refusal_walks_the_ladder_within_one_reassertion(nursery, autojump_clock):
    """A Relative-only charger (P5): the blocking default is refused as Absolute and accepted as Relative,
    without waiting for the re-assertion back-off."""
    charger = ScriptedCharger(refuse=lambda p: p["chargingProfileKind"] != "Relative")
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(1)
    kinds = [p["csChargingProfiles"]["chargingProfileKind"] for p in charger.sent("SetChargingProfile")]
    assert kinds[0] == "Absolute"
    assert kinds[1:] == ["Relative"] * (len(kinds) - 1), "refused once, never tried again"
    assert service.onboarding.findings("CP1").strategy == "tx/L0/Relative/A"
    assert not service.state.charger("CP1").reasserting
    assert not service.state.charger("CP1").uncontrollable


async def test_an_exhausted_ladder_is_uncontrollable(nursery, autojump_clock):
    charger = ScriptedCharger(refuse=lambda p: True)
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    assert service.state.charger("CP1").uncontrollable
    assert "strategy ladder exhausted" in service.onboarding.findings("CP1").uncontrollable
    sent = len(charger.sent("SetChargingProfile"))
    await trio.sleep(3600)
    assert len(charger.sent("SetChargingProfile")) == sent, "nothing more is tried until the next boot"


async def test_measurands_are_added_one_at_a_time(nursery, autojump_clock):
    charger = ScriptedCharger(
        {**SMART_KEYS, "MeterValueSampleInterval": "300"}, refused_values=("Current.Offered",)
    )
    _, bus = await started(nursery, charger, config(configure_measurands=True, meter_interval_s=30))
    boot(bus)
    await trio.sleep(5)
    changes = [(p["key"], p["value"]) for p in charger.sent("ChangeConfiguration")]
    assert changes == [
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Current.Import"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Current.Import,Current.Offered"),
        ("MeterValueSampleInterval", "30"),
    ]
    assert charger.keys["MeterValuesSampledData"] == "Energy.Active.Import.Register,Current.Import"
    first_set = next(i for i, (name, _) in enumerate(charger.calls) if name == "SetChargingProfile")
    last_change = max(i for i, (name, _) in enumerate(charger.calls) if name == "ChangeConfiguration")
    assert last_change < first_set, "onboarding finishes before the re-assertion"


async def test_a_plain_reconnect_after_a_restart_uses_the_stored_probe(nursery, store, autojump_clock):
    stored = {**SMART_KEYS, "ChargingScheduleAllowedChargingRateUnit": "Power"}
    charger = ScriptedCharger(stored)
    _, bus = await started(nursery, charger, store=store)
    boot(bus)
    await trio.sleep(5)
    bus.publish(StatusChanged("CP1", 1, T0, "Available", "NoError", False, False))
    await trio.sleep(1)
    assert store.capabilities("CP1").strategy == "tx/L0/Absolute/W"

    again = ScriptedCharger(stored)
    restarted, bus2 = await started(nursery, again, store=store)
    bus2.publish(ChargerConnected("CP1", T0, 1))
    await trio.sleep(1)
    assert again.sent("GetConfiguration") == [], "no boot since the stored probe"
    assert restarted.onboarding.findings("CP1").strategy == "tx/L0/Absolute/W"
    assert (
        again.sent("SetChargingProfile")[0]["csChargingProfiles"]["chargingSchedule"]["chargingRateUnit"]
        == "W"
    )


async def test_the_probe_waits_for_the_chargers_first_message_after_its_boot(nursery, autojump_clock):
    """P25: the boot event is published before the BootNotification.conf is written; the charger's next
    message proves the answer reached it. Without one the probe goes out after AFTER_BOOT_WAIT_S."""
    charger = ScriptedCharger()
    service, bus = await started(nursery, charger)
    start = trio.current_time()
    bus.publish(ChargerConnected("CP1", T0, 1))
    bus.publish(ChargerBooted("CP1", T0, "Accepted", "ACME", "Box", "1.0"))
    await trio.sleep(2)
    assert charger.sent("GetConfiguration") == []
    bus.publish(StatusChanged("CP1", 0, T0, "Available", "NoError", False, False))
    await trio.sleep(1)
    assert charger.at[0] - start == pytest.approx(2, abs=0.1)
    assert charger.calls[0][0] == "GetConfiguration"
    bus.publish(ChargerBooted("CP1", T0, "Accepted", "ACME", "Box", "1.0"))
    await trio.sleep(10)
    second = [
        at for (name, _), at in zip(charger.calls, charger.at, strict=True) if name == "GetConfiguration"
    ]
    assert second[1] - second[0] == pytest.approx(1 + AFTER_BOOT_WAIT_S, abs=0.1)
    assert not service.state.charger("CP1").reasserting


async def test_a_connect_without_boot_waits_for_it_then_probes(nursery, autojump_clock):
    charger = ScriptedCharger()
    service, bus = await started(nursery, charger)
    start = trio.current_time()
    bus.publish(ChargerConnected("CP1", T0, 1))
    await trio.sleep(30)
    first = charger.at[charger.calls.index(("GetConfiguration", {"key": list(PROBE_KEYS)}))]
    assert first - start == pytest.approx(10, abs=0.5), "PROBE_AFTER_CONNECT_S without a BootNotification"
    assert not service.state.charger("CP1").reasserting


async def test_a_strategy_learnt_on_one_charger_is_tried_first_on_its_model(nursery, store, autojump_clock):
    store.save_capabilities("OTHER", {}, T0, vendor="ACME", model="Box", firmware_version="1.0")
    store.save_strategy("OTHER", "tx/L0/Relative/A", T0)
    charger = ScriptedCharger()
    service, bus = await started(nursery, charger, store=store)
    boot(bus)
    await trio.sleep(5)
    first = charger.sent("SetChargingProfile")[0]["csChargingProfiles"]
    assert first["chargingProfileKind"] == "Relative"
    assert service.onboarding.findings("CP1").strategy == "tx/L0/Relative/A"


def test_a_raise_keeps_the_served_grace_a_reduction_starts_anew():
    check = Check(target_a=10, acknowledged_at=T0, above=1, failures=2, confirmed=True)
    later = T0 + timedelta(minutes=5)
    raised = retarget(check, 13, later, new_session=False)
    assert raised == Check(target_a=13, acknowledged_at=T0, above=0, failures=2, confirmed=False)
    assert retarget(check, 8, later, new_session=False) == expect(check, 8, later, new_session=False)
    assert retarget(check, 13, later, new_session=True).failures == 0
    assert retarget(None, 6, later, new_session=False) == Check(6, later)


async def test_a_charger_offering_above_its_limit_becomes_uncontrollable(nursery, autojump_clock):
    """P8: Current.Offered stays at 32 A whatever balanz sets; after verify_failures_max mismatches the
    charger is counted at its maximum and the reason names the observed value."""
    charger = ScriptedCharger()
    service, bus = await started(nursery, charger)
    boot(bus)
    await trio.sleep(5)
    key = ("CP1", 1)
    service.update(lambda s: tr.transaction_started(s, service.site, key, 7, T0, 0.0, "ALICE"))
    meter = ConnectorMeter()
    at = T0
    for _ in range(12):
        await trio.sleep(60)
        at += timedelta(seconds=60)
        sample = MeterSample(at=at, usage_a=31.0, usage_phases_a=(31.0, 31.0, 31.0), offered_a=32.0)
        meter = apply_samples(meter, (sample,))
        bus.publish(MeterUpdated("CP1", 1, at, 7, (sample,), meter))
        if service.state.charger("CP1").uncontrollable:
            break
    found = service.onboarding.findings("CP1")
    assert service.state.charger("CP1").uncontrollable
    assert "Current.Offered 32 A above limit" in found.uncontrollable
    assert "charger does not apply its limit" in found.uncontrollable
    assert found.verdicts[1] == "uncontrollable"
    assert at - T0 <= timedelta(minutes=8)


async def test_a_stored_floor_counts_from_the_start_while_offline(nursery, store, autojump_clock):
    """A charger that refuses 0 A holds 6 A on its idle connector while balanz restarts and it has not
    reconnected yet: its stored strategy's floor counts from the start, not only once it reconnects."""
    store.save_strategy("CP1", "tx/L0/Absolute/A/floor6", T0)
    service, _bus = await started(nursery, ScriptedCharger(dict(SMART_KEYS)), store=store)
    assert service.state.charger("CP1").floor_a == 6
    assert not service.state.charger("CP1").connected
