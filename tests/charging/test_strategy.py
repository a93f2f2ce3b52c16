"""The strategy ladder, profiles.md §6, and the answer classification of §6 / allocation.md R19."""

import pytest

from balanz.charging import (
    NOT_ANSWERED,
    Answer,
    Ladder,
    LiveVia,
    Outcome,
    Strategy,
    Uncontrollable,
    choose,
    on_answer,
)
from balanz.charging.probe import ProbeResult
from balanz.charging.strategy import retry_delay
from balanz.config.schema import ProfilesConfig
from balanz.profiles import Kind, Purpose, RateUnit

DEFAULTS = ProfilesConfig()
BOTH = ProbeResult(answered=True, max_stack_level=8, rate_units=frozenset({RateUnit.A, RateUnit.W}))


def texts(ladder: Ladder | Uncontrollable) -> list[str]:
    assert isinstance(ladder, Ladder)
    return [r.text() for r in ladder.rungs]


def test_profiles_6_auto_ladder_order_with_level_kind_unit_fallbacks() -> None:
    ladder = choose(BOTH, ProfilesConfig(stack_level=2), 2)
    assert texts(ladder) == [
        "tx/L2/Absolute/A",
        "tx/L0/Absolute/A",
        "tx/L0/Relative/A",
        "tx/L0/Absolute/W",
        "tx/L0/Relative/W",
        "default/L2/Absolute/A",
        "default/L0/Absolute/A",
        "default/L0/Relative/A",
        "default/L0/Absolute/W",
        "default/L0/Relative/W",
    ]


def test_profiles_6_step_6_connector_zero_only_for_single_connector_chargers() -> None:
    single = texts(choose(NOT_ANSWERED, DEFAULTS, 1))
    assert single[-4:] == [
        "tx/L0/Absolute/A/c0",
        "tx/L0/Relative/A/c0",
        "default/L0/Absolute/A/c0",
        "default/L0/Relative/A/c0",
    ]
    assert not any("c0" in t for t in texts(choose(NOT_ANSWERED, DEFAULTS, 2)))


def test_profiles_6_manual_strategies() -> None:
    assert all(t.startswith("tx/") for t in texts(choose(BOTH, ProfilesConfig(strategy="tx"), 1)))
    assert all(
        t.startswith("default/") for t in texts(choose(BOTH, ProfilesConfig(strategy="default_only"), 1))
    )
    off = choose(BOTH, ProfilesConfig(strategy="off"), 1)
    assert isinstance(off, Uncontrollable)
    assert "off" in off.reason
    assert isinstance(choose(BOTH, DEFAULTS, 1, smart_charging=False), Uncontrollable)


def test_profiles_4_no_smart_charging_feature_is_uncontrollable_p17() -> None:
    probe = ProbeResult(answered=True, feature_profiles=frozenset({"core"}))
    result = choose(probe, DEFAULTS, 1, charger_id="CP1")
    assert isinstance(result, Uncontrollable)
    assert "CP1" in result.reason
    assert "enable smart charging" in result.reason


def test_profiles_5_1_stack_level_clamped_to_probed_max_p1() -> None:
    probe = ProbeResult(answered=True, max_stack_level=1)
    ladder = choose(probe, ProfilesConfig(stack_level=5), 1)
    assert isinstance(ladder, Ladder)
    assert ladder.current.stack_level == 1
    assert any("stack_level 5" in n for n in ladder.notes)
    unknown = choose(NOT_ANSWERED, ProfilesConfig(stack_level=3), 1)
    assert isinstance(unknown, Ladder)
    assert unknown.current.stack_level == 0


def test_profiles_5_1_per_connector_levels_only_when_max_allows_w3() -> None:
    quirk = ProfilesConfig(stack_level_per_connector=True)
    ok = choose(ProbeResult(answered=True, max_stack_level=2), quirk, 3)
    assert isinstance(ok, Ladder)
    assert ok.current.per_connector_levels
    assert [ok.current.level_for(n) for n in (1, 2, 3)] == [0, 1, 2]
    too_few = choose(ProbeResult(answered=True, max_stack_level=1), quirk, 3)
    assert isinstance(too_few, Ladder)
    assert not too_few.current.per_connector_levels


def test_profiles_5_1_units_prefer_a_w_only_chargers_get_w_p15() -> None:
    w_only = ProbeResult(answered=True, rate_units=frozenset({RateUnit.W}))
    assert texts(choose(w_only, ProfilesConfig(strategy="tx"), 2)) == ["tx/L0/Absolute/W", "tx/L0/Relative/W"]
    forced = choose(BOTH, ProfilesConfig(rate_unit="W", strategy="tx"), 2)
    assert isinstance(forced, Ladder)
    assert {r.unit for r in forced.rungs} == {RateUnit.W}


def test_profiles_5_1_relative_quirk_never_tries_absolute_p5() -> None:
    ladder = choose(NOT_ANSWERED, ProfilesConfig(kind="relative"), 2)
    assert {r.kind for r in ladder.rungs} == {Kind.RELATIVE}


def test_profiles_4_few_profile_slots_prefer_default_only() -> None:
    probe = ProbeResult(answered=True, max_profiles=3)
    ladder = choose(probe, DEFAULTS, 2)
    assert isinstance(ladder, Ladder)
    assert ladder.current.live is LiveVia.TX_DEFAULT


def test_profiles_6_learned_strategy_first_when_it_fits() -> None:
    ladder = choose(BOTH, DEFAULTS, 2, learned="default/L0/Relative/W/floor6")
    assert isinstance(ladder, Ladder)
    assert ladder.current.text() == "default/L0/Relative/W/floor6"
    assert texts(ladder)[1] == "tx/L0/Absolute/A"
    # A learned W strategy does not fit an A-only charger; a tx one not `strategy = "default_only"`.
    assert texts(choose(NOT_ANSWERED, DEFAULTS, 2, learned="tx/L0/Absolute/W"))[0] == "tx/L0/Absolute/A"
    only = choose(BOTH, ProfilesConfig(strategy="default_only"), 2, learned="tx/L0/Absolute/A")
    assert texts(only)[0] == "default/L0/Absolute/A"
    assert texts(choose(BOTH, DEFAULTS, 2, learned="garbage"))[0] == "tx/L0/Absolute/A"


@pytest.mark.parametrize(
    "strategy",
    [Strategy(), Strategy(LiveVia.TX_DEFAULT, 3, Kind.RELATIVE, RateUnit.W, True, True, 6)],
)
def test_strategy_text_round_trip(strategy: Strategy) -> None:
    assert Strategy.parse(strategy.text()) == strategy


@pytest.mark.parametrize(
    "text", ["", "tx/L0/Absolute", "tx/Lx/Absolute/A", "tx/L0/Recurring/A", "tx/L0/Absolute/A/zz"]
)
def test_strategy_parse_refuses_foreign_text(text: str) -> None:
    assert Strategy.parse(text) is None


def ladder_of(probe: ProbeResult = BOTH, profiles: ProfilesConfig = DEFAULTS, connectors: int = 2) -> Ladder:
    ladder = choose(probe, profiles, connectors)
    assert isinstance(ladder, Ladder)
    return ladder


def test_profiles_6_accepted_keeps_the_rung() -> None:
    ladder = ladder_of()
    verdict = on_answer(ladder, Purpose.TX, 16.0, Answer(status="Accepted"), DEFAULTS)
    assert verdict.outcome is Outcome.ACCEPTED
    assert verdict.state == ladder


def test_profiles_6_rejected_is_the_next_rung_p1() -> None:
    ladder = ladder_of(profiles=ProfilesConfig(stack_level=3))
    verdict = on_answer(ladder, Purpose.TX_DEFAULT, 0.0, Answer(status="Rejected"), DEFAULTS)
    assert verdict.outcome is Outcome.NEXT
    assert isinstance(verdict.state, Ladder)
    assert verdict.state.current.text() == "tx/L0/Absolute/A"
    assert "Rejected" in verdict.reason


@pytest.mark.parametrize(
    "code",
    [
        "PropertyConstraintViolation",
        "FormationViolation",
        "TypeConstraintViolation",
        "OccurenceConstraintViolation",
    ],
)
def test_profiles_6_payload_callerrors_are_the_next_rung(code: str) -> None:
    verdict = on_answer(ladder_of(), Purpose.TX, 9.0, Answer(error_code=code), DEFAULTS)
    assert verdict.outcome is Outcome.NEXT
    assert code in verdict.reason


@pytest.mark.parametrize(
    "answer",
    [Answer(status="NotSupported"), Answer(error_code="NotImplemented"), Answer(error_code="NotSupported")],
)
def test_profiles_6_not_supported_is_uncontrollable_r19(answer: Answer) -> None:
    verdict = on_answer(ladder_of(), Purpose.TX_DEFAULT, 0.0, answer, DEFAULTS)
    assert verdict.outcome is Outcome.UNCONTROLLABLE
    assert isinstance(verdict.state, Uncontrollable)


def test_profiles_6_internal_errors_retry_three_times_with_backoff_then_next_rung() -> None:
    ladder = ladder_of()
    delays = []
    for _ in range(3):
        verdict = on_answer(ladder, Purpose.TX, 9.0, Answer(error_code="InternalError"), DEFAULTS)
        assert verdict.outcome is Outcome.RETRY
        delays.append(verdict.retry_in_s)
        assert isinstance(verdict.state, Ladder)
        ladder = verdict.state
    assert delays == [10.0, 20.0, 40.0]
    verdict = on_answer(ladder, Purpose.TX, 9.0, Answer(error_code="GenericError"), DEFAULTS)
    assert verdict.outcome is Outcome.NEXT


def test_r19_timeout_is_unresolved_never_a_ladder_step() -> None:
    ladder = ladder_of()
    verdict = on_answer(ladder, Purpose.TX, 9.0, Answer(timed_out=True), DEFAULTS)
    assert verdict.outcome is Outcome.UNRESOLVED
    assert verdict.state == ladder
    assert verdict.retry_in_s == 10.0


def test_profiles_8_retry_backoff_doubles_to_the_max() -> None:
    assert [retry_delay(a, DEFAULTS) for a in range(7)] == [10, 20, 40, 80, 160, 300, 300]


def test_refused_tx_default_skips_rungs_that_would_send_the_same_default() -> None:
    """A refused TxDefault at (L0, Absolute, A) rules out TxDefault-only at the same combination."""
    ladder = ladder_of(probe=NOT_ANSWERED, connectors=2)
    assert texts(ladder) == [
        "tx/L0/Absolute/A",
        "tx/L0/Relative/A",
        "default/L0/Absolute/A",
        "default/L0/Relative/A",
    ]
    verdict = on_answer(ladder, Purpose.TX_DEFAULT, 0.0, Answer(status="Rejected"), DEFAULTS)
    assert isinstance(verdict.state, Ladder)
    assert verdict.state.current.text() == "tx/L0/Relative/A"
    verdict = on_answer(verdict.state, Purpose.TX_DEFAULT, 0.0, Answer(status="Rejected"), DEFAULTS)
    # Both defaults refused: TxDefault-only at those combinations is pointless; restart with the 6 A floor.
    assert isinstance(verdict.state, Ladder)
    assert verdict.state.current.text() == "tx/L0/Absolute/A/floor6"


def test_refused_tx_profile_goes_to_default_only_p7() -> None:
    ladder = ladder_of(probe=NOT_ANSWERED, connectors=2)
    state = on_answer(ladder, Purpose.TX, 9.0, Answer(status="Rejected"), DEFAULTS).state
    state = on_answer(state, Purpose.TX, 9.0, Answer(status="Rejected"), DEFAULTS).state
    assert isinstance(state, Ladder)
    assert state.current.text() == "default/L0/Absolute/A"


def test_profiles_5_4_zero_refused_everywhere_restarts_with_floor_then_uncontrollable_p9() -> None:
    ladder = ladder_of(probe=NOT_ANSWERED, profiles=ProfilesConfig(strategy="default_only"), connectors=2)
    state: Ladder | Uncontrollable = ladder
    seen = []
    while isinstance(state, Ladder):
        seen.append(state.current.text())
        limit = float(state.current.floor_a)
        state = on_answer(state, Purpose.TX_DEFAULT, limit, Answer(status="Rejected"), DEFAULTS).state
    assert seen == [
        "default/L0/Absolute/A",
        "default/L0/Relative/A",
        "default/L0/Absolute/A/floor6",
        "default/L0/Relative/A/floor6",
    ]
    assert "exhausted" in state.reason


def test_p2_station_cap_refusal_keeps_the_rung_and_stops_sending_the_cap() -> None:
    ladder = ladder_of()
    verdict = on_answer(ladder, Purpose.CHARGE_POINT_MAX, 20.0, Answer(status="Rejected"), DEFAULTS)
    assert verdict.outcome is Outcome.NO_CAP
    assert "P2" in verdict.reason
    assert isinstance(verdict.state, Ladder)
    assert verdict.state.index == ladder.index
    assert verdict.state.current.no_cap
    assert verdict.state.current.text() == "tx/L0/Absolute/A/nocap"
    # The next rung keeps it, and so does a learned strategy.
    moved = on_answer(verdict.state, Purpose.TX, 9.0, Answer(status="Rejected"), DEFAULTS).state
    assert isinstance(moved, Ladder)
    assert moved.current.no_cap
    learned = choose(BOTH, DEFAULTS, 2, learned="tx/L0/Absolute/A/nocap")
    assert isinstance(learned, Ladder)
    assert learned.current.no_cap


def test_r24_tx_profile_refused_after_boot_is_not_a_ladder_step_p6() -> None:
    """After a reboot the charger usually ended the session; a refused TxProfile says nothing about it."""
    ladder = ladder_of()
    rejected = Answer(status="Rejected")
    gone = on_answer(ladder, Purpose.TX, 9.0, rejected, DEFAULTS, transaction_may_be_gone=True)
    assert gone.outcome is Outcome.TX_GONE
    assert gone.state == ladder
    # A TxDefault refusal at the same moment still is one, and without the flag the TxProfile too.
    assert (
        on_answer(ladder, Purpose.TX_DEFAULT, 0.0, rejected, DEFAULTS, transaction_may_be_gone=True).outcome
        is Outcome.NEXT
    )
    assert on_answer(ladder, Purpose.TX, 9.0, rejected, DEFAULTS).outcome is Outcome.NEXT
