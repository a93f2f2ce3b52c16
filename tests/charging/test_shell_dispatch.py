"""The dispatcher's reading of answers, against a scripted charger that records what it applied."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import trio

from balanz.allocation import events as tr
from balanz.allocation.exposure import charger_exposures
from balanz.allocation.planner import Change
from balanz.allocation.state import State
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.site_model import accepted, restored_state
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig
from balanz.events import EventBus
from balanz.store import Store
from balanz.store.records import ConnectorState as StoredConnector
from balanz.wire.errors import PayloadInvalid, ResponseInvalid

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
KEY = ("CP1", 1)


def config() -> Config:
    return Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site", max_current_a=32),),
    )


class ApplyingCharger:
    """Applies every SetChargingProfile, then ``answer`` decides what balanz hears (or not)."""

    def __init__(self, answer: Callable[[str], Awaitable[None]]) -> None:
        self.applied: list[float] = []
        self.answer = answer

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "SetChargingProfile":
            schedule = payload["csChargingProfiles"]["chargingSchedule"]
            self.applied.append(schedule["chargingSchedulePeriod"][0]["limit"])
            await self.answer(action)
        return {"status": "Accepted"}


async def garbled(action: str) -> None:
    """An answer that fails the response schema."""
    raise ResponseInvalid("CP1", PayloadInvalid(action, "FormationViolation", "status missing"))


async def silent(action: str) -> None:
    """No answer ever (balanz dies while the CALL is open)."""
    await trio.sleep_forever()


async def send(service: AllocatorService, change: Change) -> None:
    """Post one increase and wait until its charger's sender is done with it."""
    service.dispatcher.post([], [change])
    while not service.dispatcher.idle():
        await trio.sleep(0.01)


class OneCharger:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def connection(self, charger_id: str) -> Any:
        return self.conn if charger_id == "CP1" else None


async def test_an_invalid_answer_keeps_the_offer_counted(nursery, autojump_clock):
    cfg = config()
    charger = ApplyingCharger(garbled)
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), OneCharger(charger))
    await nursery.start(service.run)
    # The connector is known to hold 0 A, so only the garbled offer can make its exposure high.
    service.update(lambda s: accepted(tr.offer_sent(s, KEY, 0, T0), KEY, 0, T0, service.params))
    assert service.state.connector(KEY).acked == 0
    await send(service, Change(KEY, 20, 0, 20, "test", "raise"))
    assert charger.applied, "the charger received and applied the profile"
    cs = service.state.connector(KEY)
    assert cs.sent_value == 20, "the offer the charger may have applied is still in flight"
    site = service.site
    exposure = charger_exposures(site, service.state, site.charger_by_id["CP1"], service.params, T0)[KEY]
    assert exposure >= max(charger.applied)


async def test_an_offer_in_flight_is_durable_before_the_call_goes_out(nursery, tmp_path, autojump_clock):
    """balanz dies while the charger holds an unanswered raise: the restarted allocator must count the
    connector at least at what the charger applied."""
    cfg = config()
    charger = ApplyingCharger(silent)
    store = Store(str(tmp_path / "balanz.sqlite"))
    try:
        service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), OneCharger(charger), store)
        await nursery.start(service.run)
        service.update(lambda s: accepted(tr.offer_sent(s, KEY, 0, T0), KEY, 0, T0, service.params))
        # What the accepted 0 A offer left in the store before the raise.
        store.save_connector_state(StoredConnector("CP1", 1, 0, 0.0, T0))
        with trio.move_on_after(5):
            await send(service, Change(KEY, 20, 0, 20, "test", "raise"))
        assert charger.applied == [20]
        later = T0 + timedelta(minutes=1)
        restored = restored_state(service.site, later, store.connector_states())
        site = service.site
        exposure = charger_exposures(site, restored, site.charger_by_id["CP1"], service.params, later)[KEY]
        assert exposure >= max(charger.applied)
    finally:
        store.close()


class RecordingCharger:
    """Accepts everything and keeps the TxDefault limit it holds per connector (0: the whole charger)."""

    def __init__(self) -> None:
        self.default: dict[int, float] = {}

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "SetChargingProfile":
            profile = payload["csChargingProfiles"]
            if profile["chargingProfilePurpose"] == "TxDefaultProfile":
                limit = profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
                self.default[payload["connectorId"]] = limit
        return {"status": "Accepted"}


async def test_a_reasserted_idle_connector_counts_at_the_default_it_was_given(nursery, autojump_clock):
    """CP1's idle connector was offered 6 A (unanswered, acknowledged 0 A). The re-assertion installs the
    6 A TxDefault, so the allocator must count the connector at 6 A, not at the old 0 A."""
    charger = RecordingCharger()
    service = AllocatorService.build(config(), SiteClock(T0), EventBus(), OneCharger(charger))
    await nursery.start(service.run)

    def unanswered_probe(s: State) -> State:
        s = accepted(tr.offer_sent(s, KEY, 0, T0), KEY, 0, T0, service.params)
        return tr.offer_timed_out(tr.offer_sent(s, KEY, 6, T0), KEY, 6, T0)

    service.update(unanswered_probe)
    assert await service.dispatcher.reassert("CP1")
    held = charger.default.get(1, charger.default.get(0))
    assert held == 6
    site = service.site
    exposure = charger_exposures(site, service.state, site.charger_by_id["CP1"], service.params, T0)[KEY]
    assert exposure >= held
