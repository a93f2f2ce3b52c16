"""Pacing of offers: back-off after failures, ``profiles.min_interval_s`` for increases, reductions first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import trio
from hypothesis import given
from hypothesis import strategies as st

from balanz.allocation import events as tr
from balanz.allocation.planner import Change
from balanz.allocation.state import State
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.pacing import Pace, answered, may_send, release_at
from balanz.charging.site_model import accepted, restored_state
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig, ProfilesConfig
from balanz.events import EventBus
from tests.charging.fakes import profile_limit

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
PROFILES = ProfilesConfig(min_interval_s=10, retry_initial_s=10, retry_max_s=300)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_fresh_connector_is_not_held():
    assert release_at(Pace(), 16, reduction=False, profiles=PROFILES) is None
    assert release_at(Pace(), 0, reduction=True, profiles=PROFILES) is None


def test_increases_are_spaced_by_the_chargers_min_interval_reductions_are_not():
    """``spaced_from`` is the charger's last non-safety send, whichever of its connectors it went to."""
    assert release_at(Pace(), 16, reduction=False, profiles=PROFILES, spaced_from=T0) == s(10)
    assert not may_send(Pace(), 16, False, PROFILES, s(9.9), spaced_from=T0)
    assert may_send(Pace(), 16, False, PROFILES, s(10), spaced_from=T0)
    assert may_send(Pace(), 6, True, PROFILES, T0, spaced_from=T0), "a reduction never waits for the interval"
    assert release_at(Pace(), 16, False, ProfilesConfig(min_interval_s=0), spaced_from=T0) is None


def test_failures_back_off_doubling_up_to_the_maximum():
    pace = Pace()
    delays = []
    for n in range(8):
        pace = answered(pace, 16, accepted=False, at=s(1000 * n))
        at = release_at(pace, 16, reduction=False, profiles=ProfilesConfig(min_interval_s=0))
        assert at is not None
        delays.append((at - s(1000 * n)).total_seconds())
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    pace = answered(pace, 16, accepted=True, at=s(9000))
    assert release_at(pace, 16, False, ProfilesConfig(min_interval_s=0)) is None, "Accepted ends it"


def test_a_deeper_reduction_skips_the_back_off_a_repeated_one_does_not():
    pace = answered(Pace(), 10, accepted=False, at=T0)
    assert release_at(pace, 6, reduction=True, profiles=PROFILES) is None, "asks for less than failed"
    assert release_at(pace, 10, reduction=True, profiles=PROFILES) == s(10), "the same offer again"
    assert release_at(pace, 12, reduction=False, profiles=PROFILES) == s(10)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 32)), max_size=12),
    st.integers(0, 32),
    st.booleans(),
    st.floats(0, 1000),
    st.one_of(st.none(), st.floats(0, 20)),
)
def test_the_release_is_never_earlier_than_both_brakes(
    history: list[tuple[bool, int]], value: int, reduction: bool, gap: float, spaced_s: float | None
):
    pace = Pace()
    for i, (ok, amps) in enumerate(history):
        pace = answered(pace, amps, ok, s(i))
    spaced = None if spaced_s is None else s(spaced_s)
    at = release_at(pace, value, reduction, PROFILES, spaced)
    if not reduction and spaced is not None:
        assert at is not None
        assert at >= spaced + timedelta(seconds=PROFILES.min_interval_s)
    if pace.failures and not (reduction and pace.failed_value is not None and value < pace.failed_value):
        assert at is not None
        assert pace.failed_at is not None
        assert at >= pace.failed_at + timedelta(seconds=PROFILES.retry_initial_s)
    if reduction and (not pace.failures or (pace.failed_value is not None and value < pace.failed_value)):
        assert at is None, "nothing else holds a reduction back"
    now = s(len(history) + gap)
    assert may_send(pace, value, reduction, PROFILES, now, spaced) == (at is None or at <= now)


class RejectingCharger:
    """Rejects every raise above 0 A; records when each SetChargingProfile came (trio time, limit)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action != "SetChargingProfile":
            return {"status": "Accepted"}
        limit = profile_limit(payload)
        self.calls.append((trio.current_time(), limit))
        return {"status": "Rejected" if limit > 0 else "Accepted"}


class One:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def connection(self, charger_id: str) -> Any:
        return self.conn if charger_id == "CP1" else None


async def test_a_rejected_offer_is_retried_with_back_off_not_at_every_run(nursery, autojump_clock):
    cfg = Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC", run_interval_s=1),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site", max_current_a=32),),
    )
    charger = RejectingCharger()
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), One(charger))
    # The dispatcher's own back-off: without the strategy ladder, which answers a Rejected by trying the
    # next strategy at once (no back-off then) and gives up when none is left.
    service.dispatcher.on_refused = None
    await nursery.start(service.run)
    key = ("CP1", 1)

    def charging(st_: State) -> State:
        st_ = tr.charger_connected(st_, service.site, "CP1", T0, booted=False)
        st_ = tr.charger_reasserted(st_, service.site, "CP1", T0)
        st_ = accepted(tr.offer_sent(st_, key, 0, T0), key, 0, T0, service.params)
        st_ = tr.transaction_started(st_, service.site, key, 1, T0, 0.0, "TAG")
        return tr.status_changed(st_, key, "Charging", T0)

    start = trio.current_time()
    service.update(charging)
    await trio.sleep(700)
    times = [t - start for t, limit in charger.calls if limit > 0]
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert gaps[:6] == [10, 20, 40, 80, 160, 300], gaps
    assert service.runs > 500, "the allocator ran every second meanwhile, without re-sending"


async def test_a_chargers_own_min_interval_spaces_its_increases_not_its_reductions(nursery, autojump_clock):
    """The charger's ``profile`` table overrides ``[profiles] min_interval_s``. The interval is per charger
    (R18): an increase on connector 1 holds one on connector 2; a reduction is never held and never
    counts."""
    cfg = Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(
            ChargerConfig(
                id="CP1", group="site", max_current_a=32, connectors=2, profile={"min_interval_s": 30}
            ),
        ),
    )
    charger = RejectingCharger()
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), One(charger))
    service.state = restored_state(service.site, T0, {})
    service.dispatcher.nursery = nursery
    # Without the ladder: a refusal that moves it is tried again at once, neither backed off nor spaced.
    service.dispatcher.on_refused = None
    one, two = ("CP1", 1), ("CP1", 2)
    lower = Change(one, 0, 6, 6, "R21", "idle")
    service.dispatcher.post([lower], [])
    await trio.sleep(1)
    raise_two = Change(two, 16, 0, 0, "R14", "ramp")
    assert service.dispatcher.ready([raise_two], False, service.clock.now()) == ([raise_two], None), (
        "a reduction does not count for the interval"
    )
    sent_at = service.clock.now()
    service.dispatcher.post([], [Change(one, 6, 0, 0, "R20", "probe")])
    await trio.sleep(1)
    assert [limit for _t, limit in charger.calls] == [0, 6]
    assert service.dispatcher.ready([raise_two], False, sent_at + timedelta(seconds=29)) == (
        [],
        sent_at + timedelta(seconds=30),
    ), "connector 1's increase spaces connector 2's"
    assert service.dispatcher.ready([raise_two], False, sent_at + timedelta(seconds=30)) == (
        [raise_two],
        None,
    )
    assert service.dispatcher.ready([lower], True, sent_at) == ([lower], None)


def test_of_two_increases_for_one_charger_in_one_run_only_the_first_goes():
    cfg = Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="64"),),
        charger=(
            ChargerConfig(id="CP1", group="site", max_current_a=32, connectors=2),
            ChargerConfig(id="CP2", group="site", max_current_a=32),
        ),
    )
    service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), One(None))
    a, b, c = (Change(k, 6, 0, 0, "R20", "probe") for k in (("CP1", 1), ("CP1", 2), ("CP2", 1)))
    assert service.dispatcher.ready([a, b, c], False, T0) == ([a, c], s(10))
    assert service.dispatcher.ready([a, b], True, T0) == ([a, b], None), "reductions: all at once"
