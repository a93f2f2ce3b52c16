"""Every command a central system can send the simulated charger, answered and carried out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import trio
from trio.testing import MockClock

from balanz.profiles.model import format_time
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import EventLog, Rebooted, StatusChanged
from balanz.wire import CallErrorReceived
from tests.sim.conftest import Csms, StartChargers
from tests.sim.helpers import profile, set_profile


async def test_remote_start_with_tx_profile_then_remote_stop(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    conn, csms = scripted_csms.conn("CP1"), scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec())
    tx = profile(7, profile_id=5, purpose="TxProfile", kind="Relative")
    answer = await conn.call_raw(
        "RemoteStartTransaction", {"idTag": "R1", "connectorId": 1, "chargingProfile": tx}
    )
    assert answer == {"status": "Accepted"}
    await trio.sleep(5)
    assert csms.of("StartTransaction")[0]["idTag"] == "R1"
    assert csms.of("Authorize") == [], "AuthorizeRemoteTxRequests is false by default"
    assert cp.limit(1).amps == 7
    assert cp.draw(1) == (6.8, 6.8, 6.8)
    busy = await conn.call_raw("RemoteStartTransaction", {"idTag": "R2", "connectorId": 1})
    assert busy == {"status": "Rejected"}
    assert await conn.call_raw("RemoteStopTransaction", {"transactionId": 99}) == {"status": "Rejected"}
    assert await conn.call_raw("RemoteStopTransaction", {"transactionId": 1}) == {"status": "Accepted"}
    await trio.sleep(1)
    assert csms.of("StopTransaction")[0]["reason"] == "Remote"
    assert cp.status(1).value == "Finishing"
    assert cp.told.installed == (), "the TxProfile ended with its transaction"


async def test_remote_start_authorizes_first_when_configured(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, configuration={"AuthorizeRemoteTxRequests": "true"})
    conn, csms = scripted_csms.conn("CP1"), scripted_csms.scripted
    assert csms is not None
    assert (await conn.call_raw("RemoteStartTransaction", {"idTag": "R1"}))["status"] == "Accepted"
    await trio.sleep(1)
    assert csms.of("Authorize") == [{"idTag": "R1"}]
    assert cp.status(1).value == "Preparing"
    assert csms.of("StartTransaction") == []
    cp.plug(1, EvSpec())
    await trio.sleep(1)
    assert csms.of("StartTransaction")[0]["idTag"] == "R1"


@pytest.mark.parametrize(("kind", "reason"), [("Soft", "SoftReset"), ("Hard", "HardReset")])
async def test_reset_stops_the_transaction_and_boots_again(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock,
    kind: str, reason: str,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(5)
    assert await scripted_csms.conn("CP1").call_raw("Reset", {"type": kind}) == {"status": "Accepted"}
    await trio.sleep(60)
    assert [r.reason for r in events.of(Rebooted)] == [reason]
    assert csms.of("StopTransaction")[0]["reason"] == reason
    assert len(csms.of("BootNotification")) == 2
    assert cp.boot_accepted


async def test_unlock_connector_ends_the_session(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    conn, csms = scripted_csms.conn("CP1"), scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(5)
    assert await conn.call_raw("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert await conn.call_raw("UnlockConnector", {"connectorId": 4}) == {"status": "NotSupported"}
    await trio.sleep(1)
    assert csms.of("StopTransaction")[0]["reason"] == "UnlockCommand"


@pytest.mark.parametrize(
    ("message", "connector", "expected"),
    [
        ("Heartbeat", None, "Heartbeat"),
        ("StatusNotification", 1, "StatusNotification"),
        ("MeterValues", 1, "MeterValues"),
        ("BootNotification", None, "BootNotification"),
        ("FirmwareStatusNotification", None, "FirmwareStatusNotification"),
        ("DiagnosticsStatusNotification", None, "DiagnosticsStatusNotification"),
    ],
)
async def test_trigger_message_sends_the_message_after_answering(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock,
    message: str, connector: int | None, expected: str,
) -> None:  # fmt: skip
    await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    await trio.sleep(1)
    before = len(csms.of(expected))
    request = {"requestedMessage": message} | ({"connectorId": connector} if connector else {})
    assert await scripted_csms.conn("CP1").call_raw("TriggerMessage", request) == {"status": "Accepted"}
    await trio.sleep(1)
    assert len(csms.of(expected)) == before + 1
    if expected == "MeterValues":
        assert csms.of(expected)[-1]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


async def test_trigger_for_a_missing_connector_is_rejected(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    await start_chargers(scripted_csms)
    request = {"requestedMessage": "MeterValues", "connectorId": 3}
    assert await scripted_csms.conn("CP1").call_raw("TriggerMessage", request) == {"status": "Rejected"}


async def test_change_availability_is_scheduled_during_a_transaction(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, connectors=2)
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(5)
    answer = await conn.call_raw("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    assert answer == {"status": "Scheduled"}
    assert cp.status(2).value == "Unavailable"
    assert cp.status(1).value == "Charging"
    cp.swipe("T")
    cp.unplug(1)
    assert cp.status(1).value == "Unavailable"
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(5)
    assert cp.connectors[1].transaction_id is None
    answer = await conn.call_raw("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
    assert answer == {"status": "Accepted"}
    statuses = [s.status for s in events.of(StatusChanged) if s.connector == 2]
    assert statuses == ["Available", "Unavailable"]


async def test_update_firmware_reports_each_step_then_reboots_and_reports_installed(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    when = clock.now() + timedelta(minutes=10)
    request = {"location": "https://example.invalid/fw.bin", "retrieveDate": format_time(when)}
    assert await scripted_csms.conn("CP1").call_raw("UpdateFirmware", request) == {}
    await trio.sleep(599)
    assert csms.of("FirmwareStatusNotification") == []
    await trio.sleep(120)
    statuses = [m["status"] for m in csms.of("FirmwareStatusNotification")]
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert len(events.of(Rebooted)) == 1
    assert len(csms.of("BootNotification")) == 2


async def test_configuration_keys_are_read_and_changed(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, connectors=2)
    conn = scripted_csms.conn("CP1")
    everything = await conn.call_raw("GetConfiguration", {})
    keys = {k["key"]: k for k in everything["configurationKey"]}
    for key in ("ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit",
                "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled", "MeterValueSampleInterval",
                "HeartbeatInterval", "SupportedFeatureProfiles", "AuthorizationKey", "MeterValuesSampledData",
                "NumberOfConnectors", "ConnectorPhaseRotation"):  # fmt: skip
        assert key in keys
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
    some = await conn.call_raw("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
    assert some["unknownKey"] == ["Nope"]
    assert len(some["configurationKey"]) == 1
    change = conn.call_raw
    assert await change("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "15"}) == {
        "status": "Accepted"
    }
    assert (await change("ChangeConfiguration", {"key": "NumberOfConnectors", "value": "3"}))[
        "status"
    ] == "Rejected"
    assert (await change("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "x"}))[
        "status"
    ] == "Rejected"
    assert (await change("ChangeConfiguration", {"key": "Nope", "value": "1"}))["status"] == "NotSupported"
    assert cp.config["MeterValueSampleInterval"] == "15"


async def test_meter_interval_change_takes_effect(
    scripted_csms: Csms, start_chargers: StartChargers, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(3600)
    hourly = len(csms.of("MeterValues"))
    assert 59 <= hourly <= 61
    await scripted_csms.conn("CP1").call_raw(
        "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "10"}
    )
    await trio.sleep(600)
    assert 59 <= len(csms.of("MeterValues")) - hourly <= 61


async def test_clear_cache_and_clear_charging_profile_and_data_transfer(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    conn = scripted_csms.conn("CP1")
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(1)
    assert cp.auth_cache == {"T": "Accepted"}
    assert await conn.call_raw("ClearCache", {}) == {"status": "Accepted"}
    assert cp.auth_cache == {}
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(10, start=clock.now())))
    assert cp.limit(1).amps == 10
    assert await conn.call_raw("ClearChargingProfile", {"id": 1}) == {"status": "Accepted"}
    assert await conn.call_raw("ClearChargingProfile", {"id": 1}) == {"status": "Unknown"}
    assert cp.limit(1).amps == 32
    assert await conn.call_raw("DataTransfer", {"vendorId": "x"}) == {"status": "UnknownVendorId"}
    with pytest.raises(CallErrorReceived) as refused:
        await conn.call_raw("SetChargingProfile", set_profile(7, profile(10, start=clock.now())))
    assert refused.value.code == "PropertyConstraintViolation"
