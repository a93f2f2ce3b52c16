"""The allocator never silently misses an event: when its queue overflows it rebuilds its live inputs
(connections, statuses, transactions) from the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import trio

from balanz.allocation import events as tr
from balanz.allocation.state import State
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.resync import resync
from balanz.charging.site_model import build_site, restored_state
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig
from balanz.events import ChargerConnected, EventBus, StatusChanged
from balanz.sessions import LiveTransaction

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


def config() -> Config:
    return Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site"), ChargerConfig(id="CP2", group="site")),
    )


def live(charger_id: str, tx: int) -> LiveTransaction:
    return LiveTransaction(charger_id, 1, tx, "TAG", T0, T0, 0.0)


def test_resync_applies_what_the_lost_events_would_have():
    site = build_site(config())
    state = restored_state(site, T0, {})
    for cid in ("CP1", "CP2"):
        state = tr.charger_connected(state, site, cid, T0, booted=False)
        state = tr.charger_reasserted(state, site, cid, T0)
    state = tr.transaction_started(state, site, ("CP1", 1), 7, T0, 0.0, "TAG")
    state = tr.status_changed(state, ("CP1", 1), "Charging", T0)
    statuses = {("CP1", 1): "Finishing", ("CP2", 1): "Charging"}
    later = T0 + timedelta(minutes=1)
    # Lost: CP1's StopTransaction and status, CP2's reconnection (generation 3) and its new session.
    result = resync(
        state,
        site,
        later,
        {"CP1": 1, "CP2": 3},
        {"CP1": 1, "CP2": 2},
        lambda c, n: statuses.get((c, n)),
        [live("CP2", 8)],
    )
    one, two = result.state.connector(("CP1", 1)), result.state.connector(("CP2", 1))
    assert (one.session, one.status) == (None, "Finishing")
    assert result.ended == (("CP1", 1),)
    assert two.session is not None
    assert (two.session.transaction_id, two.status) == (8, "Charging")
    assert result.reconnected == ("CP2",)
    assert result.state.charger("CP2").reasserting, "a connection we never heard of is re-asserted first"
    assert not result.state.charger("CP1").reasserting
    gone = resync(result.state, site, later, {"CP1": None, "CP2": 3}, {"CP2": 3}, lambda c, n: None, None)
    assert not gone.state.charger("CP1").connected
    assert gone.state.connector(("CP2", 1)).session is not None, "no CSMS to ask: sessions stay"
    assert gone.reconnected == ()


class Charger:
    """A connection of some generation that accepts every CALL and counts the profiles it gets."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.profiles = 0

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.profiles += action == "SetChargingProfile"
        return {"status": "Accepted"}


class Connections:
    def __init__(self) -> None:
        self.chargers: dict[str, Charger] = {}

    def connection(self, charger_id: str) -> Any:
        return self.chargers.get(charger_id)


async def test_an_overflowing_queue_rebuilds_the_state_from_the_services(nursery, autojump_clock):
    connections = Connections()
    clock = SiteClock(T0)
    bus = EventBus()
    service = AllocatorService.build(config(), clock, bus, connections)
    service.queue_capacity = 8
    statuses: dict[tuple[str, int], str] = {}
    transactions: list[LiveTransaction] = []
    service.status_of = lambda c, n: statuses.get((c, n))
    service.live_transactions = lambda: list(transactions)
    await nursery.start(service.run)

    connections.chargers["CP1"] = cp1 = Charger(generation=1)
    bus.publish(ChargerConnected("CP1", clock.now(), 1))
    statuses[("CP1", 1)] = "Available"
    bus.publish(StatusChanged("CP1", 1, clock.now(), "Available", "NoError", False, False))
    await trio.sleep(60)  # onboarding waits a while for a BootNotification before re-asserting
    assert service.state.charger("CP1").connected
    assert cp1.profiles, "CP1 re-asserted on its connection"
    assert service.resyncs == 0

    # A burst the allocator cannot take in time: CP1 reconnects, a session starts on CP1, CP2 connects.
    connections.chargers["CP1"] = cp1 = Charger(generation=2)
    connections.chargers["CP2"] = cp2 = Charger(generation=1)
    transactions.append(live("CP1", 41))
    for i in range(100):
        status = "Charging" if i % 2 else "Preparing"
        bus.publish(StatusChanged("CP1", 1, clock.now(), status, "NoError", False, False))
    statuses[("CP1", 1)] = "Charging"
    statuses[("CP2", 1)] = "Available"
    await trio.sleep(60)
    assert service.resyncs == 1
    state: State = service.state
    assert state.connector(("CP1", 1)).status == "Charging"
    session = state.connector(("CP1", 1)).session
    assert session is not None
    assert session.transaction_id == 41
    assert state.charger("CP2").connected
    assert cp1.profiles, "CP1's new connection was re-asserted"
    assert cp2.profiles, "CP2, whose connection event was lost, was re-asserted"
    assert not state.charger("CP1").reasserting
    assert not state.charger("CP2").reasserting

    # Afterwards events are applied one by one again.
    statuses[("CP2", 1)] = "Preparing"
    bus.publish(StatusChanged("CP2", 1, clock.now(), "Preparing", "NoError", False, False))
    await trio.sleep(1)
    assert service.state.connector(("CP2", 1)).status == "Preparing"
    assert service.resyncs == 1


async def test_the_allocator_takes_every_queued_event_per_wake_up(nursery, autojump_clock):
    """A publisher faster than one event per scheduler round (here 4 per round, as thousands of busy
    connections make a round long) must not overflow a queue the allocator drains at each wake-up."""
    clock = SiteClock(T0)
    bus = EventBus()
    service = AllocatorService.build(config(), clock, bus, Connections())
    service.queue_capacity = 8
    await nursery.start(service.run)
    statuses = ("Preparing", "Charging", "SuspendedEV", "Finishing")
    for _round in range(100):
        for status in statuses:
            bus.publish(StatusChanged("CP1", 1, clock.now(), status, "NoError", False, False))
        await trio.sleep(0)
    await trio.sleep(1)
    assert service.resyncs == 0
    assert service.state.connector(("CP1", 1)).status == "Finishing"
