"""Bad and repeated input from chargers, and the messages balanz answers without acting on them."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

import pytest

from balanz.clock import SiteClock
from balanz.store import SessionFilter
from balanz.wire import CallErrorReceived

from .csms_charger import T0, scripted_charger, site_config, start_daemon


@pytest.fixture
async def site(nursery, tmp_path):
    config = site_config(tmp_path)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, ping_interval_s=0))
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    return daemon, clock


async def test_start_on_unknown_connector_is_recorded_on_a_runtime_connector(autojump_clock, site, caplog):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP2", clock) as cp2:
        answer = await cp2.start(5, "ALICE", 0)
        assert answer["idTagInfo"]["status"] == "Accepted"
        view = daemon.csms.service.connector("CP2", 5)
        assert view.transaction.transaction_id == answer["transactionId"]
        assert not view.configured
    assert daemon.store.live_transaction("CP2", 5).transaction_id == answer["transactionId"]
    assert any("unconfigured connector 5" in r.getMessage() for r in caplog.records)


async def test_stop_for_unknown_transaction_recorded_as_synthesized(autojump_clock, site):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        assert await cp1.stop(4242, 7000, tag="bob") == {
            "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}
        }
    (record,) = daemon.store.sessions(SessionFilter())
    assert record.transaction_id == 4242
    assert "synthesized" in record.flags
    assert record.stop_id_tag == "BOB"


async def test_duplicated_stop_gives_one_record(autojump_clock, site):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 10))["transactionId"]
        first = await cp1.stop(tx, 510, tag="ALICE")
        again = await cp1.stop(tx, 510, tag="ALICE")
        assert first == again
    assert [(s.transaction_id, s.energy_wh) for s in daemon.store.sessions(SessionFilter())] == [(tx, 500)]


async def test_start_repeated_after_reconnect_is_not_a_second_transaction(autojump_clock, site):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        stamp = clock.now()
        tx = (await cp1.start(1, "ALICE", 10, at=stamp))["transactionId"]
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        again = await cp1.start(1, "ALICE", 10, at=stamp)
        assert again["transactionId"] == tx
    assert [t.transaction_id for t in daemon.store.live_transactions()] == [tx]
    assert daemon.store.sessions(SessionFilter()) == []


async def test_start_with_tag_in_use_elsewhere_is_concurrent(autojump_clock, site):
    daemon, clock = site
    async with (
        scripted_charger(daemon.url, "CP1", clock) as cp1,
        scripted_charger(daemon.url, "CP2", clock) as cp2,
    ):
        await cp1.start(1, "ALICE", 10)
        answer = await cp2.start(1, "alice", 20)
        assert answer["idTagInfo"] == {"status": "ConcurrentTx"}
        second = await cp1.start(2, "ALICE", 30)
        assert second["idTagInfo"]["status"] == "ConcurrentTx", "another connector of the same charger too"
        assert (await cp2.authorize("nobody"))["status"] == "Invalid"


async def test_garbage_meter_values_ignored_with_warning_rest_kept(autojump_clock, site, caplog, monkeypatch):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        tx = (await cp1.start(1, "ALICE", 1000))["transactionId"]
        payload = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": cp1.stamp(),
                    "sampledValue": [
                        {"value": "12,5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                        {"value": "NaN", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                        {"value": "7", "measurand": "Current.Import", "phase": "L3", "unit": "furlongs"},
                        {"value": "2.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                        {"value": "9.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    ],
                },
                {"timestamp": "yesterday", "sampledValue": [{"value": "1"}]},
            ],
        }
        monkeypatch.setattr("balanz.wire.connection.validate", lambda *_args: None)  # the charger's own check
        with caplog.at_level(logging.WARNING):
            assert await cp1.send("MeterValues", payload) == {}
        monkeypatch.undo()
        view = daemon.csms.service.connector("CP1", 1)
        assert view.meter.register_wh.value == 2500
        assert view.meter.usage_a.value == 9.5
        assert view.transaction.energy_wh == 1500
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for problem in ("'12,5'", "'NaN'", "'furlongs'", "'yesterday'"):
        assert problem in warnings


async def test_unused_charger_messages_answered_per_spec(autojump_clock, site):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP3", clock) as cp3:
        answer = await cp3.send("DataTransfer", {"vendorId": "com.example", "messageId": "x", "data": "1"})
        assert answer == {"status": "UnknownVendorId"}
        assert await cp3.send("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
        assert await cp3.send("FirmwareStatusNotification", {"status": "Downloading"}) == {}
        view = daemon.csms.service.charger("CP3")
        assert (view.diagnostics_status, view.firmware_status) == ("Uploaded", "Downloading")
        before = clock.now().replace(microsecond=0)
        beat = datetime.fromisoformat((await cp3.send("Heartbeat", {}))["currentTime"])
        assert before <= beat <= clock.now(), "server time follows the site clock, in UTC"
    kinds = [e.kind for e in daemon.store.audit_events(charger_id="CP3")]
    assert "FIRMWARE" in kinds


async def test_unknown_status_and_connector_zero(autojump_clock, site):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP3", clock) as cp3:
        await cp3.status(0, "Faulted", "GroundFailure")
        await cp3.status(1, "Charging")
        await cp3.status(1, "SuspendedEV")
        charger_status = daemon.csms.service.connector("CP3", 0).status
        assert (charger_status.status, charger_status.error_code) == ("Faulted", "GroundFailure")
        connector = daemon.csms.service.connector("CP3", 1)
        assert [h.status for h in connector.status.history] == ["Charging", "SuspendedEV"]
        assert connector.meter.usage_a.value == 0, "SuspendedEV adds a 0 A usage sample (R9)"


async def test_meter_values_without_the_fields_balanz_needs_are_refused(autojump_clock, site, monkeypatch):
    daemon, clock = site
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        monkeypatch.setattr("balanz.wire.connection.validate", lambda *_args: None)
        with pytest.raises(CallErrorReceived) as missing:
            await cp1.send("MeterValues", {"meterValue": []})
        with pytest.raises(CallErrorReceived) as wrong:
            await cp1.send(
                "StopTransaction", {"transactionId": "7", "meterStop": 1, "timestamp": cp1.stamp()}
            )
        monkeypatch.undo()
    assert (missing.value.code, wrong.value.code) == ("ProtocolError", "TypeConstraintViolation")
