"""Operator transitions: suspending one connector and overriding a group's limit (R22, beyond the spec)."""

from datetime import timedelta

from balanz.allocation import events
from balanz.allocation.invariant import violations
from balanz.allocation.model import Group
from balanz.allocation.planner import plan
from balanz.allocation.schedule import parse_schedule
from tests.allocation.test_rules import NOW, A, B, P, changes, charging, make_site, make_state, run


def test_suspended_connector_is_reduced_to_zero_and_resumes():
    site = make_site("32")
    state = make_state(site, {A: charging(16), B: charging(10)})
    state = events.suspend_connector(state, A, True)
    result, after = run(site, state)
    (reduction,) = [c for c in result.reductions if c.key == A]
    assert (reduction.value, reduction.rule) == (0, "R22")
    assert "operator" in reduction.reason
    assert "suspend" in reduction.reason
    assert result.wants[A] == 0
    later = NOW + timedelta(seconds=30)
    after = events.offer_accepted(after, A, 0, NOW, P)
    result, _ = run(site, after, now=later)
    assert result.wants[A] == 0
    assert not changes(result)
    resumed = events.suspend_connector(after, A, False)
    assert not resumed.connector(A).suspended_by_operator
    assert A in resumed.changed
    result, _ = run(site, resumed, now=later)
    assert result.wants[A] == 6  # it holds no offer after the suspension: it probes at the minimum


def test_connector_suspension_survives_the_end_and_start_of_sessions():
    site = make_site("32")
    state = events.suspend_connector(make_state(site, {A: charging(16)}), A, True)
    state = events.transaction_stopped(state, A, NOW)
    state = events.status_changed(state, A, "Available", NOW)
    state = events.status_changed(state, A, "Preparing", NOW)
    state = events.transaction_started(state, site, A, 7, NOW, 0.0, None)
    state = events.status_changed(state, A, "SuspendedEVSE", NOW)
    assert state.connector(A).suspended_by_operator
    result, _ = run(site, state)
    assert result.targets[A] == 0
    assert result.wants[A] == 0


def test_suspending_twice_changes_nothing():
    site = make_site("32")
    state = events.suspend_connector(make_state(site, {A: charging(16)}), A, True)
    assert events.suspend_connector(state, A, True) is state


def test_group_override_caps_the_limit_at_once_and_names_itself():
    site = make_site("32")
    state = make_state(site, {A: charging(16), B: charging(16)})
    state = events.set_group_override(state, "G", 20, None)
    assert violations(site, state, P, NOW)  # the checker counts the override from the instant it is set
    assert any("override" in str(v) for v in violations(site, state, P, NOW))
    result, after = run(site, state)
    assert sum(result.targets.values()) <= 20
    assert {c.rule for c in result.reductions} == {"R22"}
    assert all("override" in c.reason for c in result.reductions)
    assert any("override" in r for r in result.recovery)
    for change in result.reductions:
        after = events.offer_accepted(after, change.key, change.value, NOW, P)
    settled = NOW + timedelta(seconds=P.wait_after_reduce_s + 1)
    assert not violations(site, after, P, settled)


def test_group_override_is_the_lowest_of_schedule_external_and_override():
    site = make_site(groups=[Group("G", schedule=parse_schedule("32"), external_fallback_a=30)])
    state = make_state(site, {A: charging(0), B: charging(0)})
    state = events.set_group_override(state, "G", 40, None)
    result, _ = run(site, state)
    assert sum(result.targets.values()) == 12  # probes; the 40 A override does not lift 30 A or 32 A
    state = events.set_group_override(state, "G", 8, None)
    result, _ = run(site, state)
    assert sorted(result.targets.values()) == [0, 6]


def test_group_override_expiry_is_a_wake_up_and_lifts_the_cap():
    site = make_site("32")
    state = make_state(site, {A: charging(0), B: charging(0)})
    until = NOW + timedelta(minutes=10)
    state = events.set_group_override(state, "G", 8, until)
    result, _ = run(site, state)
    assert sorted(result.targets.values()) == [0, 6]
    assert result.next_instant == until
    result, _ = run(site, state, now=until)
    assert result.targets == {A: 6, B: 6}
    assert not any("override" in label for label in result.recovery)


def test_clearing_a_group_override():
    site = make_site("32")
    state = events.set_group_override(make_state(site, {A: charging(0), B: charging(0)}), "G", 8, None)
    state = events.set_group_override(state, "G", None, None)
    assert state.group("G").override is None
    result = plan(site, state, P, NOW)
    assert changes(result) == {A: 6, B: 6}


def test_new_external_values_replay_only_the_hand_out_of_their_tree():
    """A site meter pushing its headroom every few seconds: a new value keeps the window's structure, so the
    run keeps every connector's facts, plays the hand-out again in the tree the group belongs to only, and
    plans exactly what a full run plans."""
    from balanz.allocation.model import Charger, Connector

    groups = [
        Group("M", schedule=parse_schedule("40"), external_fallback_a=16),
        Group("O", schedule=parse_schedule("32")),
    ]
    chargers = [Charger("A", "M", (Connector("A", 1),)), Charger("B", "M", (Connector("B", 1),))]
    chargers.append(Charger("C", "O", (Connector("C", 1),)))
    site = make_site(chargers=chargers, groups=groups)
    state = make_state(site, {A: charging(16, since=600), B: charging(10, since=600), ("C", 1): charging(8)})
    state = events.set_external_limit(state, "M", 30, NOW + timedelta(minutes=10))
    previous = plan(site, state, P, NOW)
    now = NOW
    for amps in (24, 12, 36, 36, 18):
        now += timedelta(seconds=5)
        state = events.set_external_limit(previous.state, "M", amps, now + timedelta(minutes=10))
        result = plan(site, state, P, now, previous)
        full = plan(site, state, P, now)
        for field in ("targets", "wants", "reductions", "increases", "pending", "recovery", "next_instant"):
            assert getattr(result, field) == getattr(full, field), (amps, field)
        assert result.memo.trees["O"] is previous.memo.trees["O"], "the other tree is untouched"
        assert result.memo.trees["M"].facts == previous.memo.trees["M"].facts, "facts are kept"
        assert sum(result.targets[k] for k in (A, B)) <= amps
        previous = result
    # the offers were never sent (A still at 16 A, B at 10 A): the group is in recovery under the last value
    assert {c.key: c.value for c in result.reductions} == {A: 9, B: 9}
    assert all("M external limit 18 A total L1 is full" in c.reason for c in result.reductions)
    assert result.recovery == ("M external limit 18 A total L1: exposures exceed the limit 18 A by 8 A",)
