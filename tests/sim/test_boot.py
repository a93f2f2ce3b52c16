"""Connecting, booting and heartbeats against balanz's own server, over hours of simulated time."""

from __future__ import annotations

import trio
from trio.testing import MockClock

from balanz.sim.charger import SimCharger
from balanz.sim.eventlog import Booted, Connected, EventLog
from tests.sim.conftest import Csms, StartChargers


async def test_three_chargers_boot_and_heartbeat_for_six_hours(
    balanz_csms: Csms, start_chargers: StartChargers, events: EventLog, autojump_clock: MockClock
) -> None:
    chargers = await start_chargers(balanz_csms, 3)
    await trio.sleep(6 * 3600)
    assert balanz_csms.core is not None
    assert set(balanz_csms.core.chargers) == {"CP1", "CP2", "CP3"}
    assert balanz_csms.core.statuses[("CP2", 1)].status == "Available"
    assert len(events.of(Booted)) == 3
    assert len(events.of(Connected)) == 3
    interval = balanz_csms.core.config.heartbeat_interval_s
    beats = [s for s in events.records if getattr(s, "action", None) == "Heartbeat" and s.charger == "CP1"]
    assert abs(len(beats) - 6 * 3600 / interval) <= 1
    assert all(b.answer is not None for b in beats)
    assert chargers[0].config["HeartbeatInterval"] == str(interval)


async def test_sim_site_fixture_gives_balanz_and_three_booted_chargers(
    sim_site: tuple[Csms, list[SimCharger]], autojump_clock: MockClock
) -> None:
    csms, chargers = sim_site
    assert [c.id for c in chargers] == ["CP1", "CP2", "CP3"]
    assert all(c.boot_accepted for c in chargers)
    assert all(csms.server.connection(c.id) is not None for c in chargers)
    answer = await csms.conn("CP3").call_raw("GetConfiguration", {"key": ["NumberOfConnectors"]})
    assert answer["configurationKey"][0]["value"] == "1"
