from datetime import datetime, timedelta, timezone

import pytest

from balanz.store.sessions_model import (
    AMENDED,
    IMPLAUSIBLE_ENERGY,
    TIMEOUT_STOP,
    HistoryEntry,
    SessionRecord,
    add_history_entry,
    amend_session,
    build_session,
    summarise_history,
)
from tests.store.conftest import T0, at, session


def test_session_id_is_charger_connector_transaction_and_utc_start():
    record = session(charger="ocpp/CP1", connector=2, tx=1042)
    assert record.session_id == "ocpp/CP1/2/1042/20250304T100008Z"


def test_session_id_uses_utc_even_for_a_local_start():
    local = datetime(2025, 3, 4, 12, 0, 8, tzinfo=timezone(timedelta(hours=1)))
    assert session(start=local).session_id.endswith("/20250304T110008Z")


def test_energy_duration_and_summary_are_derived():
    record = session()
    assert record.energy_wh == 1252521 - 1234500 == 18021
    assert record.duration_s == 6000
    assert record.max_offer_a == 16.0
    assert record.max_usage_a == 15.9
    # usage 5.9 A from minute 2 to 10, then 15.9 A from minute 10 to 100: time-weighted over 98 minutes
    assert record.mean_usage_a == pytest.approx(round((5.9 * 8 + 15.9 * 90) / 98, 3))
    assert record.flags == frozenset()


@pytest.mark.parametrize(("start", "stop"), [(1000, 999), (0, 500_001)])
def test_negative_or_huge_energy_is_flagged_implausible(start, stop):
    record = session(meter_start_wh=start, meter_stop_wh=stop)
    assert IMPLAUSIBLE_ENERGY in record.flags
    assert record.energy_wh == stop - start


def test_unknown_meter_gives_no_energy():
    record = session(meter_start_wh=None)
    assert record.energy_wh is None
    assert IMPLAUSIBLE_ENERGY not in record.flags


def test_unknown_flag_is_refused():
    with pytest.raises(ValueError, match="unknown session flags"):
        session(flags={"bogus"})


def test_orphan_stop_without_start_has_id_from_end_and_no_duration():
    record = session(start=None, meter_start_wh=None, flags={"synthesized"})
    assert record.session_id == "CP1/1/1042/end-20250304T114008Z"
    assert record.duration_s is None


def test_summary_of_empty_history_is_unknown():
    assert summarise_history((), T0) == summarise_history((), None)
    assert summarise_history((), T0).mean_usage_a is None


def test_summary_with_single_usage_at_end_uses_that_value():
    summary = summarise_history((HistoryEntry(T0, None, 7.0),), T0)
    assert summary.mean_usage_a == 7.0


def test_history_thinning_drops_small_usage_changes_but_keeps_offers():
    h: tuple[HistoryEntry, ...] = ()
    h = add_history_entry(h, HistoryEntry(at(0), 6.0, 5.0), 0.5)
    h = add_history_entry(h, HistoryEntry(at(1), None, 5.4), 0.5)  # moved 0.4: dropped
    h = add_history_entry(h, HistoryEntry(at(2), 9.0, 5.3), 0.5)  # offer kept, usage dropped
    h = add_history_entry(h, HistoryEntry(at(3), None, 5.5), 0.5)  # moved 0.5 since last recorded: kept
    assert h == (
        HistoryEntry(at(0), 6.0, 5.0),
        HistoryEntry(at(2), 9.0, None),
        HistoryEntry(at(3), None, 5.5),
    )


def test_amend_keeps_id_extends_history_and_flags_amended():
    timed_out = session(end=at(60), stop_reason="Timeout", meter_stop_wh=1240000, flags={TIMEOUT_STOP})
    amended = amend_session(
        timed_out,
        end_time=at(120),
        meter_stop_wh=1252521,
        stop_reason="EVDisconnected",
        stop_id_tag="8A03EE96",
        history=(HistoryEntry(at(30), 1.0, None), HistoryEntry(at(110), 0.0, 0.0)),
    )
    assert amended.session_id == timed_out.session_id
    assert amended.flags == {TIMEOUT_STOP, AMENDED}
    assert amended.end_time == at(120)
    assert amended.energy_wh == 18021
    assert amended.stop_reason == "EVDisconnected"
    assert amended.stop_id_tag == "8A03EE96"
    assert amended.history[-1] == HistoryEntry(at(110), 0.0, 0.0)
    assert HistoryEntry(at(30), 1.0, None) not in amended.history


def test_json_round_trip():
    record = session(flags={"partial", "island"})
    assert SessionRecord.from_json(record.to_json()) == record
    assert record.to_json()["start_time"] == "2025-03-04T10:00:08Z"
    assert record.to_json()["history"][0] == {"t": "2025-03-04T10:01:08Z", "offered_a": 6.0, "usage_a": None}


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        build_session(
            charger_id="CP1",
            connector_id=1,
            transaction_id=1,
            start_time=datetime(2025, 1, 1),
            end_time=datetime(2025, 1, 1, 1),
            id_tag="A",
        )
