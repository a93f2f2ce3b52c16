"""The control API and the charger's own reactions: faults, an EV leaving, refused tags, wss, passwords."""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from balanz.credentials import InMemoryCredentials
from balanz.server import OcppServer
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import Connected, EventLog, StatusChanged
from balanz.sim.spec import SimChargerSpec
from balanz.sim.testcsms import ScriptedCsms, csms_config
from tests.sim.conftest import Csms, StartChargers


async def test_fault_stops_the_offer_and_reports_faulted(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(), tag="T")
    await trio.sleep(60)
    cp.fault(1, "GroundFailure")
    await trio.sleep(90)
    assert cp.draw(1) == (0.0, 0.0, 0.0)
    faulted = csms.of("StatusNotification")[-1]
    assert faulted["status"] == "Faulted"
    assert faulted["errorCode"] == "GroundFailure"
    assert sum(float(v["value"]) for v in csms.of("MeterValues")[-1]["meterValue"][0]["sampledValue"]
               if v["measurand"] == "Current.Offered") == 0  # fmt: skip
    cp.clear_fault(1)
    await trio.sleep(60)
    assert cp.status(1).value == "Charging"
    assert cp.draw(1) == (16.0, 16.0, 16.0)
    assert [s.status for s in events.of(StatusChanged)][-2:] == ["Faulted", "Charging"]


async def test_ev_leaving_on_its_own_ends_the_transaction(
    scripted_csms: Csms, start_chargers: StartChargers, clock: SimClock, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms)
    csms = scripted_csms.scripted
    assert csms is not None
    cp.plug(1, EvSpec(target_wh=100_000, leave_at=clock.now() + timedelta(hours=2)), tag="T")
    await trio.sleep(3 * 3600)
    [stop] = csms.of("StopTransaction")
    assert stop["reason"] == "EVDisconnected"
    assert stop["timestamp"].startswith((clock.start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    assert stop["meterStop"] == pytest.approx(16 * 3 * 230 * 2, abs=2)
    assert cp.status(1).value == "Available"


async def test_refused_tag_neither_starts_nor_energizes(
    nursery: trio.Nursery, clock: SimClock, events: EventLog, autojump_clock: MockClock
) -> None:
    csms = ScriptedCsms(now=clock.now, tag_status=lambda tag: "Accepted" if tag == "GOOD" else "Invalid")
    server = OcppServer(csms_config(), csms.registry())
    await nursery.start(server.run)
    cp = SimCharger(SimChargerSpec("CP1"), f"ws://127.0.0.1:{server.port}", clock=clock, events=events)
    await nursery.start(cp.run)
    await cp.wait_booted()
    cp.plug(1, EvSpec(), tag="BAD")
    await trio.sleep(60)
    assert csms.of("StartTransaction") == []
    assert cp.draw(1) == (0.0, 0.0, 0.0)
    assert cp.status(1).value == "Preparing"
    cp.swipe("GOOD")
    await trio.sleep(60)
    assert cp.status(1).value == "Charging"


async def test_wss_and_basic_auth_password(
    nursery: trio.Nursery, clock: SimClock, events: EventLog, certificate: tuple[Path, Path],
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    cert, key = certificate
    credentials = InMemoryCredentials()
    credentials.set_password("CP1", "s3cret-password-16")
    csms = ScriptedCsms(now=clock.now)
    config = csms_config(tls_cert_chain=str(cert), tls_key=str(key))
    server = OcppServer(config, csms.registry(), credentials=credentials)
    await nursery.start(server.run)
    trust = ssl.create_default_context(cafile=str(cert))
    url = f"wss://127.0.0.1:{server.port}"
    good = SimCharger(SimChargerSpec("CP1", password="s3cret-password-16"), url, clock=clock, events=events,
                      ssl_context=trust)  # fmt: skip
    await nursery.start(good.run)
    await good.wait_booted()
    wrong = SimCharger(SimChargerSpec("CP1", password="wrong-password-0000"), url, clock=clock,
                       events=EventLog(), ssl_context=trust)  # fmt: skip
    await nursery.start(wrong.run)
    await trio.sleep(30)
    assert not wrong.boot_accepted
    assert "401" in wrong.events.records[-1].reason
    assert len(events.of(Connected)) == 1
