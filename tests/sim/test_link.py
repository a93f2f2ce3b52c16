"""Drops, reconnects with backoff, and reboots: what the charger keeps and what it loses."""

from __future__ import annotations

import itertools
from datetime import timedelta

import trio
from trio.testing import MockClock

from balanz.sim.clock import SimClock
from balanz.sim.ev import EvSpec
from balanz.sim.eventlog import Booted, Connected, Disconnected, EventLog, Rebooted, TransactionStopped
from tests.sim.conftest import Csms, StartChargers
from tests.sim.helpers import profile, set_profile


async def test_network_drop_reconnects_after_the_outage_and_keeps_the_session(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms, configuration={"MeterValueSampleInterval": "60"})
    csms = scripted_csms.scripted
    assert csms is not None
    await scripted_csms.conn("CP1").call_raw(
        "SetChargingProfile", set_profile(1, profile(12, start=clock.now() - timedelta(minutes=1)))
    )
    cp.plug(1, EvSpec(target_wh=100_000), tag="T")
    await trio.sleep(120)
    cp.drop_network(300)
    dropped_at = clock.now()
    await trio.sleep(900)
    [down] = [d for d in events.of(Disconnected) if d.reason == "network dropped"]
    assert down.at == dropped_at
    reconnected = events.of(Connected)[-1]
    assert 300 <= (reconnected.at - dropped_at).total_seconds() <= 300 + 1.25
    assert len(events.of(Booted)) == 1, "a reconnect is not a reboot"
    assert cp.connectors[1].transaction_id == 1
    assert cp.limit(1).amps == 12
    assert cp.draw(1) == (11.8, 11.8, 11.8)
    offline = [m for m in csms.of("MeterValues") if dropped_at < _at(m) < dropped_at + timedelta(seconds=300)]
    assert len(offline) >= 4, "meter values taken offline are delivered after the reconnect"


def _at(meter_values: dict) -> object:
    from balanz.profiles.model import parse_time

    return parse_time(meter_values["meterValue"][0]["timestamp"], "timestamp")


async def test_backoff_doubles_while_the_csms_is_away(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock
) -> None:
    [cp] = await start_chargers(scripted_csms, backoff_initial_s=2.0, backoff_max_s=30.0)
    port = scripted_csms.server.port
    cp.base_url = "ws://127.0.0.1:9"  # nothing listens on the discard port: every attempt is refused
    await scripted_csms.server.close_all()
    await trio.sleep(300)
    downs = events.of(Disconnected)
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(downs)]
    assert gaps[0] < 4
    assert max(gaps) <= 30 * 1.25 + 0.1
    assert all(later >= earlier * 0.75 / 1.25 for earlier, later in itertools.pairwise(gaps))
    assert any(g > 20 for g in gaps)
    cp.base_url = f"ws://127.0.0.1:{port}"
    await trio.sleep(60)
    assert events.of(Connected)[-1].attempt > 3
    assert scripted_csms.server.connection("CP1") is not None


async def test_reboot_loses_the_transaction_and_its_tx_profile_but_keeps_tx_default(
    scripted_csms: Csms, start_chargers: StartChargers, events: EventLog, clock: SimClock,
    autojump_clock: MockClock,
) -> None:  # fmt: skip
    [cp] = await start_chargers(scripted_csms)
    conn = scripted_csms.conn("CP1")
    csms = scripted_csms.scripted
    assert csms is not None
    start = clock.now() - timedelta(minutes=1)
    await conn.call_raw("SetChargingProfile", set_profile(0, profile(20, start=start)))
    cp.plug(1, EvSpec(target_wh=100_000), tag="T")
    await trio.sleep(10)
    tx = profile(8, profile_id=2, purpose="TxProfile", start=start, transaction_id=1)
    assert (await conn.call_raw("SetChargingProfile", set_profile(1, tx)))["status"] == "Accepted"
    assert cp.limit(1).amps == 8
    cp.reboot("PowerLoss")
    await trio.sleep(60)
    assert [r.reason for r in events.of(Rebooted)] == ["PowerLoss"]
    assert len(events.of(Booted)) == 2
    [stop] = csms.of("StopTransaction")
    assert stop["transactionId"] == 1
    assert stop["reason"] == "PowerLoss"
    assert cp.connectors[1].transaction_id is None
    assert cp.connectors[1].plugged
    assert cp.status(1).value == "Finishing" or cp.status(1).value == "Preparing"
    assert [e.profile.id for e in cp.told.installed] == [1]
    assert cp.limit(1).amps == 20
    assert events.of(TransactionStopped)[-1].reason == "PowerLoss"
