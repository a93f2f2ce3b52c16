"""StatusNotification bookkeeping: current status, bounded history, derived facts (flows.md §2.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from balanz.csms.status import ConnectorStatus, apply_status

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def note(status: str, connector: int = 1, error: str = "NoError", **more) -> dict:
    return {"connectorId": connector, "errorCode": error, "status": status, **more}


def run(*payloads: dict, configured: int = 1, has_transaction: bool = False, limit: int = 20):
    state: ConnectorStatus | None = None
    updates = []
    for i, payload in enumerate(payloads):
        update = apply_status(
            state,
            payload,
            now=T0 + timedelta(seconds=i),
            configured_connectors=configured,
            has_transaction=has_transaction,
            history_limit=limit,
        )
        updates.append(update)
        state = update.state
    return state, updates


def test_first_notification_sets_status():
    state, (u,) = run(note("Available"))
    assert state.status == "Available"
    assert state.known
    assert u.changed
    assert u.applied
    assert state.since == T0


def test_unreported_connector_is_unknown():
    assert not ConnectorStatus(1).known


@pytest.mark.parametrize(
    ("status", "plugged", "active"),
    [
        ("Available", False, False),
        ("Preparing", True, False),
        ("Charging", True, True),
        ("SuspendedEV", True, True),
        ("SuspendedEVSE", True, True),
        ("Finishing", True, False),
        ("Reserved", False, False),
        ("Unavailable", False, False),
        ("Faulted", False, False),
    ],
)
def test_derived_facts(status, plugged, active):
    state, _ = run(note(status))
    assert state.plugged is plugged
    assert state.active() is active


def test_preparing_is_active_only_with_a_transaction():
    state, _ = run(note("Preparing"), has_transaction=True)
    assert state.active(has_transaction=True)
    assert not state.active(has_transaction=False)


def test_faulted_and_error_codes():
    state, _ = run(note("Faulted", error="GroundFailure", info="RCD tripped", vendorErrorCode="E42"))
    assert state.faulted
    assert (state.error_code, state.info, state.vendor_error_code) == ("GroundFailure", "RCD tripped", "E42")
    state, _ = run(note("Charging", error="HighTemperature"))
    assert not state.faulted
    assert state.has_error
    assert state.charging


def test_entering_and_leaving_active():
    _, updates = run(note("Preparing"), note("SuspendedEVSE"), note("Charging"), note("Finishing"))
    assert [u.entered_active for u in updates] == [False, True, False, False]
    assert [u.left_active for u in updates] == [False, False, False, True]


def test_suspended_ev_asks_for_zero_usage_sample_once():
    _, updates = run(note("Charging"), note("SuspendedEV"), note("SuspendedEV"))
    assert [u.add_zero_usage for u in updates] == [False, True, False]


def test_repeated_status_keeps_history_and_since():
    state, updates = run(note("Charging"), note("Charging"))
    assert not updates[1].changed
    assert len(state.history) == 1
    assert state.since == T0
    assert state.updated == T0 + timedelta(seconds=1)


def test_error_code_change_is_a_change():
    state, updates = run(note("Charging"), note("Charging", error="OverCurrentFailure"))
    assert updates[1].changed
    assert [h.error_code for h in state.history] == ["NoError", "OverCurrentFailure"]


def test_history_is_bounded_oldest_dropped():
    statuses = ["Available", "Preparing", "Charging", "SuspendedEV", "Finishing"]
    state, _ = run(*(note(s) for s in statuses), limit=3)
    assert [h.status for h in state.history] == ["Charging", "SuspendedEV", "Finishing"]


def test_connector_zero_is_the_charger():
    state, (u,) = run(note("Unavailable", connector=0))
    assert state.connector_id == 0
    assert state.unavailable
    assert not u.new_connector


def test_unconfigured_connector_created_with_warning():
    state, (u,) = run(note("Available", connector=3), configured=2)
    assert u.new_connector
    assert state.connector_id == 3
    assert "connector 3 is not configured" in u.warnings[0]


def test_unknown_status_keeps_previous():
    state, updates = run(note("Charging"), note("Sleeping"))
    assert state.status == "Charging"
    assert not updates[1].applied
    assert "unknown status 'Sleeping'" in updates[1].warnings[0]


def test_unknown_error_code_kept_with_warning():
    state, (u,) = run(note("Faulted", error="ThermalRunaway"))
    assert state.error_code == "ThermalRunaway"
    assert "unknown errorCode" in u.warnings[0]


def test_late_notification_recorded_not_applied():
    state, updates = run(
        note("Charging", timestamp="2025-03-04T10:00:10Z"),
        note("Preparing", timestamp="2025-03-04T10:00:05Z"),
    )
    assert state.status == "Charging"
    assert not updates[1].applied
    assert state.history[-1].late
    assert state.history[-1].status == "Preparing"


def test_notification_without_timestamp_always_applies():
    state, _ = run(note("Charging", timestamp="2025-03-04T10:00:10Z"), note("Finishing"))
    assert state.status == "Finishing"
