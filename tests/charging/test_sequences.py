"""Which message when, profiles.md §5.2-§5.4 and allocation.md R20, R21, R24."""

from datetime import UTC, datetime

from balanz.charging import (
    Action,
    ChargerSetup,
    ConnectorPlan,
    LiveVia,
    ProfilesSetup,
    Strategy,
    foreign_clean_allowed,
    foreign_clears,
    idle_offer,
    offer,
    reassert,
    release,
    should_resend_on_resume,
    start_transaction,
    stop_transaction,
    verify_trigger,
)
from balanz.charging.build import Step
from balanz.charging.sequences import composite_requests
from balanz.config.schema import ProfilesConfig
from balanz.profiles import Purpose
from balanz.wire.validation import validate

NOW = datetime(2025, 3, 4, 10, tzinfo=UTC)
TX = Strategy()
DEFAULT_ONLY = Strategy(LiveVia.TX_DEFAULT)
TWO = ProfilesSetup(ChargerSetup(2))


def summary(steps: list[Step]) -> list[tuple[str, int, str | None, float | None]]:
    for step in steps:
        validate(2, step.action.value, step.as_dict())
    return [
        (s.action.value, s.connector_id, s.purpose.value if s.purpose else None, s.wire_limit) for s in steps
    ]


def test_r24_plain_reconnect_reasserts_defaults_then_tx_then_triggers_p11() -> None:
    plans = [ConnectorPlan(1, target_a=16, transaction_id=7, exposure_a=12), ConnectorPlan(2)]
    assert summary(reassert(TX, TWO, plans, NOW)) == [
        ("SetChargingProfile", 1, "TxDefaultProfile", 0.0),
        ("SetChargingProfile", 2, "TxDefaultProfile", 0.0),
        ("SetChargingProfile", 1, "TxProfile", 12.0),  # min(target, exposure): never an increase
        ("TriggerMessage", 1, None, None),
        ("TriggerMessage", 2, None, None),
        ("TriggerMessage", 0, None, None),
    ]


def test_w14_triggers_never_ask_for_a_boot_notification() -> None:
    steps = reassert(TX, TWO, [], NOW, adoption=True, may_clear_foreign=True, max_stack_level=0)
    triggers = [s.payload["requestedMessage"] for s in steps if s.action is Action.TRIGGER]
    assert triggers == ["StatusNotification", "StatusNotification", "MeterValues"]


def test_r24_unknown_connectors_are_reasserted_idle_fail_closed() -> None:
    """A connector balanz knows nothing about (state lost, R23) still gets the 0 A default."""
    steps = reassert(TX, ProfilesSetup(ChargerSetup(3)), [], NOW)
    defaults = [s for s in steps if s.purpose is Purpose.TX_DEFAULT]
    assert [(s.connector_id, s.wire_limit) for s in defaults] == [(1, 0.0), (2, 0.0), (3, 0.0)]


def test_r20_probe_grant_shows_in_the_idle_default_and_in_reassertion() -> None:
    assert summary(idle_offer(TX, TWO, 2, 6, NOW)) == [("SetChargingProfile", 2, "TxDefaultProfile", 6.0)]
    assert summary(idle_offer(TX, TWO, 2, 0, NOW)) == [("SetChargingProfile", 2, "TxDefaultProfile", 0.0)]
    steps = reassert(TX, TWO, [ConnectorPlan(2, target_a=6)], NOW)
    assert (2, 6.0) in [(s.connector_id, s.wire_limit) for s in steps if s.purpose is Purpose.TX_DEFAULT]


def test_profiles_5_4_nonzero_idle_limit() -> None:
    six = ProfilesSetup(ChargerSetup(1), ProfilesConfig(idle_limit_a=6))
    assert idle_offer(TX, six, 1, 0, NOW)[0].wire_limit == 6.0


def test_r20_start_sends_tx_profile_at_target_then_default_back_to_idle_only_if_accepted() -> None:
    plan = ConnectorPlan(1, target_a=0, transaction_id=42)
    steps = start_transaction(TX, TWO, plan, default_installed_a=6, now=NOW)
    assert summary(steps) == [
        ("SetChargingProfile", 1, "TxProfile", 0.0),
        ("SetChargingProfile", 1, "TxDefaultProfile", 0.0),
    ]
    assert [s.only_if_accepted for s in steps] == [False, True]
    assert len(start_transaction(TX, TWO, plan, default_installed_a=0, now=NOW)) == 1


def test_r20_default_only_start_carries_the_target_in_the_default_p7() -> None:
    plan = ConnectorPlan(1, target_a=10, transaction_id=42)
    assert summary(start_transaction(DEFAULT_ONLY, TWO, plan, 6, NOW)) == [
        ("SetChargingProfile", 1, "TxDefaultProfile", 10.0)
    ]


def test_p9_pause_is_a_zero_tx_profile_that_dies_with_the_transaction() -> None:
    steps = offer(TX, TWO, ConnectorPlan(2, target_a=0, transaction_id=5), previous_a=16, now=NOW)
    assert summary(steps) == [("SetChargingProfile", 2, "TxProfile", 0.0)]


def test_p14_clear_before_set_only_for_tx_increases() -> None:
    quirk = ProfilesSetup(ChargerSetup(2), ProfilesConfig(clear_before_set=True))
    up = offer(TX, quirk, ConnectorPlan(1, target_a=16, transaction_id=5), previous_a=10, now=NOW)
    assert summary(up) == [
        ("ClearChargingProfile", 1, None, None),
        ("SetChargingProfile", 1, "TxProfile", 16.0),
    ]
    assert up[0].payload == {"id": 9201}
    down = offer(TX, quirk, ConnectorPlan(1, target_a=6, transaction_id=5), previous_a=10, now=NOW)
    assert [s.action for s in down] == [Action.SET]
    default_up = offer(
        DEFAULT_ONLY, quirk, ConnectorPlan(1, target_a=16, transaction_id=5), previous_a=10, now=NOW
    )
    assert [s.action for s in default_up] == [Action.SET]


def test_r21_stop_restores_the_default_for_the_next_session() -> None:
    assert stop_transaction(TX, TWO, 1, default_installed_a=0, now=NOW) == []
    assert summary(stop_transaction(TX, TWO, 1, default_installed_a=6, now=NOW)) == [
        ("SetChargingProfile", 1, "TxDefaultProfile", 0.0)
    ]
    assert summary(stop_transaction(DEFAULT_ONLY, TWO, 1, default_installed_a=0, now=NOW)) == [
        ("SetChargingProfile", 1, "TxDefaultProfile", 0.0)
    ]
    floored = Strategy(floor_a=6)
    assert stop_transaction(floored, TWO, 1, default_installed_a=6, now=NOW) == []


def test_p10_resume_resend_once_after_raise_from_zero() -> None:
    assert should_resend_on_resume(
        TWO, "SuspendedEVSE", "Charging", raised_from_zero=True, already_resent=False
    )
    assert not should_resend_on_resume(
        TWO, "SuspendedEVSE", "Charging", raised_from_zero=True, already_resent=True
    )
    assert not should_resend_on_resume(
        TWO, "SuspendedEV", "Charging", raised_from_zero=True, already_resent=False
    )
    assert not should_resend_on_resume(
        TWO, "SuspendedEVSE", "Charging", raised_from_zero=False, already_resent=False
    )
    off = ProfilesSetup(ChargerSetup(1), ProfilesConfig(resume_resend=False))
    assert not should_resend_on_resume(
        off, "SuspendedEVSE", "Charging", raised_from_zero=True, already_resent=False
    )


def test_profiles_5_3_foreign_clears_every_other_level_after_ours() -> None:
    steps = reassert(TX, TWO, [], NOW, adoption=True, may_clear_foreign=True, max_stack_level=2)
    actions = [s.action for s in steps]
    assert actions.index(Action.CLEAR) > max(i for i, a in enumerate(actions) if a is Action.SET)
    clears = [dict(s.payload) for s in steps if s.action is Action.CLEAR]
    assert clears == [
        {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1},
        {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2},
        {"chargingProfilePurpose": "TxProfile", "stackLevel": 1},
        {"chargingProfilePurpose": "TxProfile", "stackLevel": 2},
    ]
    assert not any(s.action is Action.CLEAR for s in reassert(TX, TWO, [], NOW, max_stack_level=2))


def test_profiles_5_3_unknown_max_wipes_then_resets_only_while_all_idle() -> None:
    idle = foreign_clears(TX, TWO, [], None, NOW)
    assert idle is not None
    assert summary(idle) == [
        ("ClearChargingProfile", 0, None, None),
        ("SetChargingProfile", 1, "TxDefaultProfile", 0.0),
        ("SetChargingProfile", 2, "TxDefaultProfile", 0.0),
    ]
    assert foreign_clears(TX, TWO, [ConnectorPlan(1, 6, 3)], 20, NOW) is None


def test_profiles_5_3_clean_up_allowed_by_mode() -> None:
    assert foreign_clean_allowed(TWO, "csms", "forward")
    assert foreign_clean_allowed(TWO, "lc", "cap")
    assert not foreign_clean_allowed(TWO, "lc", "forward")
    off = ProfilesSetup(ChargerSetup(1), ProfilesConfig(clear_foreign=False))
    assert not foreign_clean_allowed(off, "csms", "accept")


def test_profiles_5_2_release_clears_only_our_ids() -> None:
    setup = ProfilesSetup(ChargerSetup(2, charger_max_a=20), ProfilesConfig(station_cap="charger_max"))
    assert [dict(s.payload) for s in release(TX, setup)] == [
        {"id": i} for i in (9101, 9102, 9201, 9202, 9100)
    ]
    assert [dict(s.payload) for s in release(DEFAULT_ONLY, TWO)] == [{"id": 9101}, {"id": 9102}]


def test_profiles_7_verify_trigger_only_when_configured() -> None:
    assert verify_trigger(TWO, 2) is None
    on = ProfilesSetup(ChargerSetup(2), ProfilesConfig(verify_trigger=True))
    step = verify_trigger(on, 2)
    assert step is not None
    assert summary([step]) == [("TriggerMessage", 2, None, None)]
    assert dict(step.payload) == {"requestedMessage": "MeterValues", "connectorId": 2}


def test_profiles_7_verify_composite_only_when_configured_p23() -> None:
    assert composite_requests(TWO) == []
    on = ProfilesSetup(ChargerSetup(2), ProfilesConfig(verify_composite=True))
    steps = composite_requests(on)
    for step in steps:
        validate(2, step.action.value, step.as_dict())
    assert [dict(s.payload) for s in steps] == [
        {"connectorId": n, "duration": 300, "chargingRateUnit": "A"} for n in (1, 2)
    ]


def test_p21_default_only_clears_every_tx_profile_level() -> None:
    """A foreign TxProfile at our level would shadow our TxDefault for a whole session."""
    steps = foreign_clears(DEFAULT_ONLY, TWO, [], 1, NOW)
    assert steps is not None
    assert [dict(s.payload) for s in steps] == [
        {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1},
        {"chargingProfilePurpose": "TxProfile", "stackLevel": 0},
        {"chargingProfilePurpose": "TxProfile", "stackLevel": 1},
    ]


def test_w3_per_connector_levels_clear_per_connector_and_the_template() -> None:
    per = Strategy(per_connector_levels=True)
    steps = foreign_clears(per, TWO, [], 1, NOW)
    assert steps is not None
    slots = [
        (s.payload["chargingProfilePurpose"], s.payload.get("connectorId"), s.payload["stackLevel"])
        for s in steps
    ]
    assert slots == [
        ("TxDefaultProfile", 0, 0),
        ("TxDefaultProfile", 0, 1),
        ("TxDefaultProfile", 1, 1),  # connector 1 is ours at 0
        ("TxDefaultProfile", 2, 0),  # connector 2 is ours at 1
        ("TxProfile", 1, 1),
        ("TxProfile", 2, 0),
    ]
    for step in steps:
        validate(2, step.action.value, step.as_dict())


def test_connector_zero_default_keeps_ours_and_clears_the_connector_slot() -> None:
    zero = Strategy(default_on_zero=True)
    steps = foreign_clears(zero, ProfilesSetup(ChargerSetup(1)), [], 0, NOW)
    assert steps is not None
    assert [dict(s.payload) for s in steps] == [
        {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0, "connectorId": 1}
    ]
