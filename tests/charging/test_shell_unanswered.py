"""R19, a CALL not answered within ``server.call_timeout_s``: the offer stays counted and pins its connector,
and the charger's sender re-sends the current target with back-off (10 s doubling up to 300 s) until an
Accepted, Current.Offered matching it for two consecutive samples, or a new connection."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import trio

from balanz.allocation import events as tr
from balanz.allocation.state import ConnectorState, InFlight, State
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.site_model import OFFERED_TRAIL, accepted, offered_proof, offered_trail, retry_value
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig, ProfilesConfig
from balanz.csms.meter_values import ConnectorMeter, MeterSample, Stamped
from balanz.events import ChargerDisconnected, EventBus, MeterUpdated
from balanz.wire.errors import CallTimeout
from tests.charging.fakes import Chargers, profile_limit

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
TIMEOUT_S = 30.0


class SilentCharger:
    """Applies nothing and answers nothing for the first ``swallow`` SetChargingProfile CALLs (None: all),
    which time out after ``TIMEOUT_S`` like on the real wire; then accepts. Records (trio time, limit)."""

    def __init__(self, swallow: int | None) -> None:
        self.swallow = swallow
        self.calls: list[tuple[float, float]] = []

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action != "SetChargingProfile":
            return {"status": "Accepted"}
        limit = profile_limit(payload)
        self.calls.append((trio.current_time(), limit))
        if self.swallow is None or len(self.calls) <= self.swallow:
            await trio.sleep(TIMEOUT_S)
            raise CallTimeout("CP", action, TIMEOUT_S)
        return {"status": "Accepted"}


async def start(nursery: trio.Nursery, chargers: Chargers, supply: int = 64) -> AllocatorService:
    """Every charger connected, re-asserted, its connector confirmed at 0 A with a car charging."""
    cfg = Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation=str(supply)),),
        charger=tuple(ChargerConfig(id=cid, group="site", max_current_a=32) for cid in chargers.chargers),
    )
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), chargers)
    service.dispatcher.on_refused = None
    await nursery.start(service.run)

    def charging(s: State) -> State:
        for i, charger in enumerate(service.site.chargers):
            s = tr.charger_connected(s, service.site, charger.id, T0, booted=False)
            s = tr.charger_reasserted(s, service.site, charger.id, T0)
            key = (charger.id, 1)
            s = accepted(tr.offer_sent(s, key, 0, T0), key, 0, T0, service.params)
            s = tr.transaction_started(s, service.site, key, i + 1, T0, 0.0, "TAG")
            s = tr.status_changed(s, key, "Charging", T0)
        return s

    service.update(charging)
    return service


async def test_a_swallowed_offer_is_re_sent_after_the_back_off_and_unpinned_on_accepted(
    nursery, autojump_clock
):
    charger = SilentCharger(swallow=1)
    service = await start(nursery, Chargers(CP1=charger))
    key = ("CP1", 1)
    await trio.sleep(TIMEOUT_S + 1)
    cs = service.state.connector(key)
    assert cs.unresolved, "no answer: the offer stays counted and pins the connector"
    assert service.last_plan is not None
    assert key in service.last_plan.pinned
    await trio.sleep(60)
    (first, offer), (again, resent) = charger.calls[:2]
    assert resent == offer, "the same target again"
    assert again - first == TIMEOUT_S + 10, "re-sent retry_initial_s after the timeout"
    cs = service.state.connector(key)
    assert not cs.unresolved
    assert cs.acked == offer
    assert cs.in_flight == ()


async def test_a_charger_that_never_answers_is_retried_with_doubling_back_off_and_costs_only_its_offer(
    nursery, autojump_clock
):
    mute, good = SilentCharger(swallow=None), SilentCharger(swallow=0)
    service = await start(nursery, Chargers(CP1=mute, CP2=good), supply=40)
    start_at = trio.current_time()
    await trio.sleep(2400)
    times = [t - start_at for t, _limit in mute.calls]
    waits = [round(b - a - TIMEOUT_S) for a, b in itertools.pairwise(times)]
    assert waits[:7] == [10, 20, 40, 80, 160, 300, 300], waits
    assert len({limit for _t, limit in mute.calls}) == 1, "always the current target, nothing new"
    cs = service.state.connector(("CP1", 1))
    assert cs.unresolved
    assert all(f.value == mute.calls[0][1] for f in cs.in_flight), "re-sends add nothing to the exposure"
    served = service.state.connector(("CP2", 1)).acked
    assert served is not None
    assert served + mute.calls[0][1] <= 40, "CP2 gets what is left beside CP1's unconfirmed offer"
    assert served >= 6, "CP2 is served"


def _offered(key: tuple[str, int], sampled: datetime, amps: float) -> MeterUpdated:
    sample = MeterSample(at=sampled, usage_a=amps, usage_phases_a=(amps, amps, amps), offered_a=amps)
    meter = ConnectorMeter(usage_phases_a=(amps, amps, amps), offered_a=Stamped(amps, sampled))
    return MeterUpdated(key[0], key[1], sampled, None, (sample,), meter)


async def test_current_offered_matching_the_target_twice_resolves_it(nursery, autojump_clock):
    charger = SilentCharger(swallow=None)
    service = await start(nursery, Chargers(CP1=charger))
    key = ("CP1", 1)
    await trio.sleep(TIMEOUT_S + 1)
    offer = charger.calls[0][1]
    assert service.state.connector(key).unresolved
    now = service.clock.now()
    service.on_event(_offered(key, now, offer))
    assert service.state.connector(key).unresolved, "one sample is not two"
    service.on_event(_offered(key, now + timedelta(seconds=1), offer - 3))
    service.on_event(_offered(key, now + timedelta(seconds=2), offer))
    assert service.state.connector(key).unresolved, "not consecutive"
    service.on_event(_offered(key, now + timedelta(seconds=3), offer - 0.4))
    cs = service.state.connector(key)
    assert not cs.unresolved
    assert cs.acked == offer
    calls = len(charger.calls)
    await trio.sleep(600)
    assert len(charger.calls) == calls, "resolved: no more re-sends"


async def test_a_disconnection_stops_the_re_sends(nursery, autojump_clock):
    charger = SilentCharger(swallow=None)
    service = await start(nursery, Chargers(CP1=charger))
    await trio.sleep(TIMEOUT_S + 1)
    service.on_event(ChargerDisconnected("CP1", service.clock.now(), 1))
    await trio.sleep(600)
    assert len(charger.calls) == 1
    assert service.dispatcher.idle()


def _unresolved(acked: int, value: int, status: str = "Charging") -> ConnectorState:
    cs = ConnectorState(status=status, acked=acked, accepted_at=T0 - timedelta(minutes=5))
    return replace(cs, in_flight=(InFlight(value, T0, timed_out=True),))


def _sample(seconds: float, offered: float) -> MeterSample:
    return MeterSample(at=T0 + timedelta(seconds=seconds), offered_a=offered)


def test_the_re_sent_value_is_the_newest_offer_or_zero_once_idle():
    assert retry_value(_unresolved(6, 16)) == 16
    assert retry_value(_unresolved(16, 6, status="Finishing")) == 0
    assert retry_value(ConnectorState(status="Charging", acked=6)) is None, "nothing unresolved"


def test_offered_proof_of_an_increase_needs_two_consecutive_matching_samples_after_the_send():
    profiles = ProfilesConfig(verify_tolerance_a=1.0)
    cs = _unresolved(6, 16)
    assert offered_proof(cs, [_sample(-5, 16), _sample(10, 16)], profiles) is None, "one was before the send"
    assert offered_proof(cs, [_sample(10, 16), _sample(20, 6), _sample(30, 16)], profiles) is None
    assert offered_proof(cs, [_sample(10, 15.2), _sample(20, 16)], profiles) == 16


def test_offered_proof_of_a_reduction_ignores_an_ev_that_was_below_both_limits():
    profiles = ProfilesConfig(verify_tolerance_a=1.0)
    cs = _unresolved(16, 8)
    ev_limited = [_sample(-5, 7.5), _sample(10, 7.5), _sample(20, 7.5)]
    assert offered_proof(cs, ev_limited, profiles) is None
    assert offered_proof(cs, [_sample(-5, 16), _sample(10, 8), _sample(20, 8)], profiles) == 8


def test_the_trail_keeps_the_newest_sample_before_the_send_and_the_recent_ones_after():
    cs = _unresolved(16, 8)
    trail = offered_trail((), [_sample(s, 16) for s in (-30, -20, -10)], cs)
    trail = offered_trail(trail, [_sample(s, 8) for s in range(10, 200, 10)], cs)
    assert trail[0] == _sample(-10, 16)
    assert len(trail) == 1 + OFFERED_TRAIL
    assert offered_trail(trail, [], ConnectorState(acked=8)) == (trail[-1],), "nothing in flight: newest only"
