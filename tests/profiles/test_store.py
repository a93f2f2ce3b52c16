"""SetChargingProfile / ClearChargingProfile rules of OCPP 1.6 (edition 2 + errata v4.0) on the store."""

import pytest
from profile_builders import DEFAULT, MAX, TX, installed, profile, utc

from balanz.profiles import (
    Capabilities,
    ClearStatus,
    Kind,
    ProfileError,
    ProfileStatus,
    ProfileStore,
    RateUnit,
    Recurrency,
    clear,
    end_transaction,
    install,
)

NOW = utc(2025, 3, 4, 10)
CAPS = Capabilities()


def ids(store: ProfileStore) -> list[tuple[int, int]]:
    return sorted((e.connector_id, e.profile.id) for e in store.installed)


def test_same_id_replaces_even_on_another_connector():
    # ocpp-1.6-edition2.txt:3145-3149: same chargingProfileId → replace (profiles.md W3).
    store = installed(2, [(1, profile(2, DEFAULT, 1, ((0, 0.0),)))], NOW)
    change = install(store, 2, profile(2, DEFAULT, 1, ((0, 0.0),)), NOW, {}, CAPS)
    assert change.status is ProfileStatus.ACCEPTED
    assert ids(change.store) == [(2, 2)]


def test_same_purpose_and_stack_level_replaces_on_the_same_connector_only():
    store = installed(2, [(1, profile(10, DEFAULT, 1)), (2, profile(11, DEFAULT, 1))], NOW)
    change = install(store, 1, profile(12, DEFAULT, 1, ((0, 8.0),)), NOW, {}, CAPS)
    assert ids(change.store) == [(1, 12), (2, 11)]


def test_connector_n_tx_default_leaves_the_connector_zero_one_installed():
    # ocpp-1.6-edition2.txt:1194-1195: replaced only for that specific connector.
    store = installed(2, [(0, profile(1, DEFAULT, 0, ((0, 6.0),)))], NOW)
    change = install(store, 1, profile(9101, DEFAULT, 0, ((0, 0.0),)), NOW, {}, CAPS)
    assert ids(change.store) == [(0, 1), (1, 9101)]


def test_quirk_replace_across_connectors_applies_the_rule_charger_wide():
    caps = Capabilities(replace_across_connectors=True)
    store = installed(2, [(1, profile(10, DEFAULT, 1))], NOW, capabilities=caps)
    assert ids(install(store, 2, profile(11, DEFAULT, 1), NOW, {}, caps).store) == [(2, 11)]


def test_different_stack_levels_stack_side_by_side():
    store = installed(1, [(1, profile(1, DEFAULT, 0)), (1, profile(2, DEFAULT, 1))], NOW)
    assert ids(store) == [(1, 1), (1, 2)]


@pytest.mark.parametrize(
    ("connector", "p", "transactions", "reason"),
    [
        (1, profile(1, MAX, 0), {}, "ChargePointMaxProfile only on connector 0"),
        (0, profile(1, TX, 0), {}, "TxProfile only on a connector > 0"),
        (1, profile(1, TX, 0), {}, "no transaction on connector 1"),
        (1, profile(1, TX, 0, transaction_id=7), {1: 8}, "transactionId 7 is not the transaction"),
        (1, profile(1, DEFAULT, 0, transaction_id=8), {1: 8}, "transactionId only on a TxProfile"),
        (1, profile(1, DEFAULT, -1), {}, "stackLevel below 0"),
        (1, profile(1, DEFAULT, 9), {}, "above ChargeProfileMaxStackLevel 8"),
        (1, profile(1, periods=((60, 6.0),)), {}, "first startPeriod must be 0"),
        (1, profile(1, periods=((0, 6.0), (60, 7.0), (60, 8.0))), {}, "startPeriod values must increase"),
        (1, profile(1, periods=((0, -1.0),)), {}, "negative limit"),
        (1, profile(1, periods=((0, 6.0, 4),)), {}, "numberPhases must be 1, 2 or 3"),
        (1, profile(1, duration=-5), {}, "negative duration"),
        (1, profile(1, min_rate=-1.0), {}, "negative minChargingRate"),
        (1, profile(1, recurrency=Recurrency.DAILY), {}, "recurrencyKind goes with"),
    ],
)
def test_rejections(connector, p, transactions, reason):
    store = ProfileStore(2)
    change = install(store, connector, p, NOW, transactions, CAPS)
    assert change.status is ProfileStatus.REJECTED
    assert reason in change.reason
    assert change.store == store


def test_recurring_without_recurrency_kind_is_rejected():
    # errata 3.56: recurrencyKind SHALL only be used with Recurring — and Recurring needs one to recur.
    p = profile(1, kind=Kind.RECURRING, start=NOW)
    p = p.__class__(**{**p.__dict__, "recurrency": None})
    assert install(ProfileStore(1), 1, p, NOW, {}, CAPS).status is ProfileStatus.REJECTED


def test_capability_limits():
    caps = Capabilities(
        max_stack_level=0, allowed_units=frozenset({RateUnit.W}), max_periods=2, max_profiles=2
    )
    store = ProfileStore(1)
    assert (
        install(store, 1, profile(1, level=1, unit=RateUnit.W), NOW, {}, caps).status
        is ProfileStatus.REJECTED
    )
    assert install(store, 1, profile(1, unit=RateUnit.A), NOW, {}, caps).status is ProfileStatus.REJECTED
    three = ((0, 6000.0), (60, 7000.0), (120, 8000.0))
    assert install(store, 1, profile(1, periods=three, unit=RateUnit.W), NOW, {}, caps).reason.startswith(
        "3 periods"
    )
    store = installed(
        1, [(0, profile(1, unit=RateUnit.W)), (1, profile(2, unit=RateUnit.W))], NOW, capabilities=caps
    )
    full = install(store, 0, profile(3, MAX, unit=RateUnit.W), NOW, {}, caps)
    assert (full.status, full.reason) == (ProfileStatus.REJECTED, "MaxChargingProfilesInstalled (2) reached")
    # A replacement does not add a profile, so it is still accepted at the cap.
    assert install(store, 1, profile(2, unit=RateUnit.W, periods=((0, 1.0),)), NOW, {}, caps).status is (
        ProfileStatus.ACCEPTED
    )


def test_absolute_without_start_schedule_is_a_capability():
    p = profile(1)
    assert install(ProfileStore(1), 1, p, NOW, {}, CAPS).status is ProfileStatus.ACCEPTED
    strict = Capabilities(accept_without_start_schedule=False)
    change = install(ProfileStore(1), 1, p, NOW, {}, strict)
    assert (change.status, change.reason) == (
        ProfileStatus.REJECTED,
        "Absolute profile without startSchedule",
    )
    relative = profile(1, kind=Kind.RELATIVE)
    assert install(ProfileStore(1), 1, relative, NOW, {}, strict).status is ProfileStatus.ACCEPTED


def test_unknown_connector_is_a_property_constraint_violation():
    # errata 3.39
    with pytest.raises(ProfileError) as caught:
        install(ProfileStore(2), 3, profile(1), NOW, {}, CAPS)
    assert caught.value.code == "PropertyConstraintViolation"
    assert "connectorId 3" in str(caught.value)


def test_tx_profile_binds_to_the_running_transaction_and_ends_with_it():
    store = installed(
        2, [(1, profile(5, TX, 0)), (2, profile(6, TX, 0, transaction_id=43))], NOW, {1: 42, 2: 43}
    )
    assert {e.profile.id: e.transaction_id for e in store.installed} == {5: 42, 6: 43}
    after = end_transaction(store, 1, 42)
    assert ids(after) == [(2, 6)]
    assert end_transaction(after, 2, 99) == after


def test_remote_start_profile_is_replaced_by_set_with_the_transaction_id_at_the_same_level():
    # errata 3.42: the RemoteStart profile (no transactionId) is replaced by SetChargingProfile carrying the
    # new transactionId and the same stackLevel.
    store = installed(1, [(1, profile(77, TX, 2, ((0, 10.0),)))], NOW, {1: 1042})
    change = install(store, 1, profile(3, TX, 2, ((0, 12.0),), transaction_id=1042), NOW, {1: 1042}, CAPS)
    assert ids(change.store) == [(1, 3)]


def test_clear_by_id_ignores_the_other_fields():
    # errata 3.26: if id is specified, all other fields are ignored.
    store = installed(2, [(0, profile(1, DEFAULT)), (1, profile(2, DEFAULT, 1))], NOW)
    change = clear(store, profile_id=2, connector_id=0, stack_level=5)
    assert (change.status, ids(change.store)) == (ClearStatus.ACCEPTED, [(0, 1)])


def test_clear_without_fields_removes_everything():
    store = installed(2, [(0, profile(1, MAX)), (1, profile(2, DEFAULT, 1))], NOW)
    change = clear(store)
    assert (change.status, change.store.installed) == (ClearStatus.ACCEPTED, ())


def test_clear_by_criteria_ands_them():
    store = installed(
        2,
        [
            (0, profile(1, DEFAULT, 0)),
            (1, profile(2, DEFAULT, 0)),
            (1, profile(3, DEFAULT, 1)),
            (2, profile(4, DEFAULT, 1)),
            (0, profile(5, MAX, 1)),
        ],
        NOW,
    )
    assert ids(clear(store, connector_id=1).store) == [(0, 1), (0, 5), (2, 4)]
    assert ids(clear(store, purpose=DEFAULT, stack_level=1).store) == [(0, 1), (0, 5), (1, 2)]
    assert ids(clear(store, connector_id=0, purpose=DEFAULT).store) == [(0, 5), (1, 2), (1, 3), (2, 4)]
    # connectorId 1 does not reach the connector-0 template.
    assert ids(clear(store, connector_id=1, stack_level=0).store) == [(0, 1), (0, 5), (1, 3), (2, 4)]


def test_clear_that_matches_nothing_is_unknown_and_changes_nothing():
    store = installed(1, [(1, profile(1, DEFAULT))], NOW)
    for change in (clear(store, profile_id=9), clear(store, purpose=TX), clear(store, connector_id=0)):
        assert (change.status, change.store) == (ClearStatus.UNKNOWN, store)
