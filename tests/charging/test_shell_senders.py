"""Per-charger senders: the run does not wait for answers, a charger's queue keeps only the newest target
per connector and sends reductions first, and no increase leaves while the plan still holds it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trio

from balanz.allocation import events as tr
from balanz.allocation.model import Key
from balanz.allocation.planner import Change
from balanz.allocation.state import State
from balanz.charging import allocator_task
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.site_model import accepted, restored_state
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig
from balanz.events import EventBus
from tests.charging.fakes import Chargers, profile_limit

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


class FakeCharger:
    """Records every SetChargingProfile (trio time, connector, limit) and answers after ``delay_s``
    (``None``: never). ``holds`` is what it may apply per connector: every limit it received."""

    def __init__(self, delay_s: float | None = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[tuple[float, int, float]] = []
        self.holds: dict[int, float] = {}

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "SetChargingProfile":
            limit = profile_limit(payload)
            connector = payload["connectorId"]
            self.calls.append((trio.current_time(), connector, limit))
            self.holds[connector] = max(self.holds.get(connector, 0.0), limit)
        if self.delay_s is None:
            await trio.sleep_forever()
        await trio.sleep(self.delay_s)
        return {"status": "Accepted"}


def config(supply: int = 32, connectors: int = 1, **allocator: object) -> Config:
    return Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC", **allocator),  # type: ignore[arg-type]
        group=(GroupConfig(id="site", max_allocation=str(supply)),),
        charger=tuple(
            ChargerConfig(id=cid, group="site", max_current_a=32, connectors=connectors)
            for cid in ("CP1", "CP2")
        ),
    )


async def start(
    nursery: trio.Nursery, cfg: Config, chargers: Chargers, planning: bool = True
) -> AllocatorService:
    """The allocator with every charger connected, re-asserted and its connectors Available; without
    ``planning`` only its dispatcher works (the test posts the changes itself)."""
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), chargers)
    if planning:
        await nursery.start(service.run)
    else:
        service.state = restored_state(service.site, T0, {})
        service.dispatcher.nursery = nursery

    def online(s: State) -> State:
        for charger in service.site.chargers:
            s = tr.charger_connected(s, service.site, charger.id, T0, booted=False)
            s = tr.charger_reasserted(s, service.site, charger.id, T0)
            for connector in charger.connectors:
                s = tr.status_changed(s, connector.key, "Available", T0)
        return s

    service.update(online)
    return service


def confirmed(service: AllocatorService, key: Key, amps: int, at: datetime) -> None:
    service.update(lambda s: accepted(tr.offer_sent(s, key, amps, at), key, amps, at, service.params))


def charging(service: AllocatorService, key: Key, tx: int, at: datetime) -> None:
    def start_session(s: State) -> State:
        s = tr.transaction_started(s, service.site, key, tx, at, 0.0, "TAG")
        return tr.status_changed(s, key, "Charging", at)

    service.update(start_session)


async def idle(service: AllocatorService) -> None:
    while not service.dispatcher.idle():
        await trio.sleep(0.01)


async def test_a_silent_charger_does_not_delay_another_chargers_offers(nursery, autojump_clock):
    """CP1 never answers its reduction; CP2's offers still leave within debounce_s of each event."""
    cp1, cp2 = FakeCharger(delay_s=None), FakeCharger()
    service = await start(nursery, config(debounce_s=0.2), Chargers(CP1=cp1, CP2=cp2))
    for key in (("CP1", 1), ("CP2", 1)):
        confirmed(service, key, 10, T0)
    await trio.sleep(1)
    assert [limit for _t, _c, limit in cp1.calls] == [0], "CP1's idle connector is lowered (and hangs)"
    assert [limit for _t, _c, limit in cp2.calls] == [0]
    for round_ in range(3):
        event_at = trio.current_time()
        confirmed(service, ("CP2", 1), 8, service.clock.now())
        await trio.sleep(5)
        sent_at = cp2.calls[-1][0]
        assert cp2.calls[-1][2] == 0, f"round {round_}: CP2 lowered again"
        assert len(cp2.calls) == round_ + 2
        assert sent_at - event_at <= 0.2 + 1e-6, f"CP2 waited {sent_at - event_at:.3f} s for CP1"
    assert len(cp1.calls) == 1


async def test_a_burst_of_targets_for_one_connector_sends_only_the_newest(nursery, autojump_clock):
    slow = FakeCharger(delay_s=10)
    service = await start(nursery, config(), Chargers(CP1=slow), planning=False)
    key = ("CP1", 1)
    confirmed(service, key, 0, T0)
    await trio.sleep(1)
    service.dispatcher.post([], [Change(key, 6, 0, 0, "test", "probe")])
    await trio.sleep(1)
    for amps in (8, 10, 12):
        service.dispatcher.post([], [Change(key, amps, amps - 2, amps - 2, "test", "ramp")])
    assert service.state.connector(key).sent_value == 12
    await idle(service)
    assert [limit for _t, _c, limit in slow.calls] == [6, 12], "8 A and 10 A were replaced while queued"
    cs = service.state.connector(key)
    assert (cs.acked, cs.in_flight) == (12, ()), "no replaced offer is left counted in flight"


async def busy_two_connector_charger(nursery: trio.Nursery) -> tuple[FakeCharger, AllocatorService]:
    """CP1 with two idle connectors, answering after 10 s, with an offer to connector 1 on the wire."""
    slow = FakeCharger(delay_s=10)
    service = await start(nursery, config(connectors=2), Chargers(CP1=slow), planning=False)
    confirmed(service, ("CP1", 1), 0, T0)
    confirmed(service, ("CP1", 2), 0, T0)
    await trio.sleep(1)
    service.dispatcher.post([], [Change(("CP1", 1), 6, 0, 0, "test", "on the wire")])
    await trio.sleep(1)
    return slow, service


async def test_a_reduction_queued_behind_an_increase_goes_first(nursery, autojump_clock):
    slow, service = await busy_two_connector_charger(nursery)
    one, two = ("CP1", 1), ("CP1", 2)
    service.dispatcher.post([], [Change(two, 6, 0, 0, "test", "queued increase")])
    service.dispatcher.post([Change(one, 0, 6, 6, "test", "queued reduction")], [])
    await idle(service)
    assert [(c, limit) for _t, c, limit in slow.calls] == [(1, 6), (1, 0), (2, 6)]


async def test_no_increase_leaves_while_a_reduction_elsewhere_is_unanswered(nursery, autojump_clock):
    """CP1 holds 30 A and never answers its reduction; CP2's new session may only get what is left of
    32 A counting CP1 at 30 A, i.e. nothing — at every instant, what the chargers may apply stays within
    the supply, although CP2's sender is free."""
    cp1, cp2 = FakeCharger(delay_s=None), FakeCharger(delay_s=0.05)
    service = await start(nursery, config(wait_after_reduce_s=5), Chargers(CP1=cp1, CP2=cp2))
    cp1.holds[1] = 30
    cp2.holds[1] = 0
    confirmed(service, ("CP1", 1), 30, T0)
    confirmed(service, ("CP2", 1), 0, T0)
    charging(service, ("CP1", 1), 1, T0)
    await trio.sleep(1)
    charging(service, ("CP2", 1), 2, service.clock.now())
    for _ in range(600):
        await trio.sleep(1)
        assert cp1.holds[1] + cp2.holds[1] <= 32, (cp1.calls, cp2.calls)
    assert cp1.calls[-1][2] <= 26, "CP1 was asked to make room"
    assert cp2.holds[1] == 0, "no room beside CP1's unconfirmed 30 A"
    assert service.last_plan is not None
    assert any(c.key == ("CP2", 1) for c in service.last_plan.pending), "CP2's raise waits (R17)"
    assert service.state.connector(("CP1", 1)).acked == 30


async def test_an_accepted_reduction_releases_the_waiting_increase_without_the_debounce(
    nursery, autojump_clock
):
    """The debounce coalesces bursts of CSMS events; our own answer that frees room starts the next run
    after FREED_COALESCE_S (or the last run's duration, a few ms here), so the freed current reaches the
    waiting car a debounce sooner."""
    cp1, cp2 = FakeCharger(delay_s=0.05), FakeCharger(delay_s=0.05)
    cfg = config(wait_after_reduce_s=0, debounce_s=0.2)
    service = await start(nursery, cfg, Chargers(CP1=cp1, CP2=cp2))
    confirmed(service, ("CP1", 1), 30, T0)
    confirmed(service, ("CP2", 1), 0, T0)
    charging(service, ("CP1", 1), 1, T0)
    await trio.sleep(1)
    charging(service, ("CP2", 1), 2, service.clock.now())
    await trio.sleep(5)
    reduced_at = next(t for t, _c, limit in cp1.calls if limit < 30)
    raised_at = next(t for t, _c, limit in cp2.calls if limit >= 6)
    answered_at = reduced_at + 0.05
    assert allocator_task.FREED_COALESCE_S - 1e-6 <= raised_at - answered_at < 0.1, raised_at - answered_at


async def test_an_offer_queued_for_a_charger_then_released_is_not_sent(nursery, autojump_clock):
    """release-profiles clears the charger's profiles; an offer that was waiting behind a slow CALL must not
    install one again afterwards. It is withdrawn (no longer counted in flight)."""
    slow, service = await busy_two_connector_charger(nursery)
    two = ("CP1", 2)
    service.dispatcher.post([], [Change(two, 6, 0, 0, "test", "queued increase")])
    service.dispatcher.released.add("CP1")
    await idle(service)
    assert [(c, limit) for _t, c, limit in slow.calls] == [(1, 6)]
    assert service.state.connector(two).in_flight == ()
