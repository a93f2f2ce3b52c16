from dataclasses import replace

from balanz.sessions import amend_record
from balanz.store import PriorityOverride, SessionFilter, Store
from balanz.store.session_log import AMENDED_OUTCOME, DUPLICATE, RECORDED
from tests.store.conftest import T0, at, live, session


def test_complete_records_and_survives_reopen(store_path):
    record = session()
    with Store(store_path) as store:
        assert store.complete_session(record).outcome == RECORDED
    with Store(store_path) as store:
        assert store.sessions() == [record]
        assert store.session(record.session_id) == record
        assert store.latest_session("CP1", 1042) == record


def test_fractional_times_survive_exactly(store):
    record = session(start=T0.replace(microsecond=123456), end=at(30).replace(microsecond=5))
    store.complete_session(record)
    assert store.sessions() == [record]


def test_duplicate_stop_yields_one_record(store):
    record = session()
    store.complete_session(record)
    again = store.complete_session(record)
    assert again.outcome == DUPLICATE
    assert again.record == record
    # a repeated stop that differs (e.g. a retry after the charger re-read its meter) keeps the first
    assert store.complete_session(replace(record, meter_stop_wh=1252600.0)).outcome == DUPLICATE
    assert store.sessions() == [record]


def test_complete_removes_live_transaction_and_clears_override(store):
    store.upsert_live_transaction(live())
    store.upsert_live_transaction(live(connector=2, tx=1043))
    store.set_priority_override(PriorityOverride("CP1", 1, 9, T0, transaction_id=1042))
    store.set_priority_override(PriorityOverride("CP1", 2, 7, T0, transaction_id=1043))
    store.complete_session(session())
    assert store.live_transaction("CP1", 1) is None
    assert store.live_transaction("CP1", 2) is not None
    assert set(store.priority_overrides()) == {("CP1", 2)}


def test_complete_keeps_a_newer_transaction_on_the_same_connector(store):
    store.upsert_live_transaction(live(tx=2000, start_time=at(200)))
    store.complete_session(session(tx=1042))
    assert store.live_transaction("CP1", 1).transaction_id == 2000


def test_planned_amendment_replaces_the_record(store):
    """StopPlan/MeterPlan of kind "amend" from balanz.csms.transactions carry an amended record."""
    superseded = session(end=at(60), stop_reason="Superseded", meter_stop_wh=1240000.0)
    store.complete_session(superseded)
    amended = amend_record(superseded, end_time=at(70), meter_stop_wh=1241000.0, reason="EVDisconnected")
    result = store.complete_session(amended)
    assert result.outcome == AMENDED_OUTCOME
    assert store.sessions() == [amended]
    assert store.complete_session(amended).outcome == DUPLICATE


def test_late_stop_amends_a_session_closed_by_timeout(store):
    timed_out = session(end=at(60), stop_reason="Timeout", meter_stop_wh=1240000.0, flags={"timeout_stop"})
    store.complete_session(timed_out)
    late = session(end=at(130), meter_stop_wh=1252521.0, stop_id_tag="8A03EE96")
    result = store.complete_session(late)
    assert result.outcome == AMENDED_OUTCOME
    [stored] = store.sessions()
    assert stored.session_id == timed_out.session_id
    assert stored.flags == {"timeout_stop", "amended"}
    assert (stored.end_time, stored.meter_stop_wh, stored.energy_wh) == (at(130), 1252521.0, 18021.0)
    assert (stored.stop_reason, stored.stop_id_tag) == ("EVDisconnected", "8A03EE96")
    assert store.complete_session(late).outcome == DUPLICATE
    assert store.sessions() == [stored]


def orphan(end, meter_stop_wh, start=None, connector=0):
    return session(
        connector=connector,
        start=start or end,
        end=end,
        meter_start_wh=None,
        meter_stop_wh=meter_stop_wh,
        flags={"synthesized"},
        history=(),
        alias=None,
        group_id=None,
        id_tag="",
        priority=None,
        priority_source="default",
    )


def test_orphan_stop_for_timed_out_transaction_amends_it(store):
    store.complete_session(session(end=at(60), stop_reason="Timeout", flags={"timeout_stop"}))
    result = store.complete_session(orphan(at(90), 1260000.0))
    assert result.outcome == AMENDED_OUTCOME
    [stored] = store.sessions()
    assert (stored.connector_id, stored.meter_stop_wh, stored.energy_wh) == (1, 1260000.0, 1260000 - 1234500)


def test_orphan_stop_recorded_once_even_with_another_fallback_start(store):
    assert store.complete_session(orphan(at(90), 1260000.0)).outcome == RECORDED
    assert store.complete_session(orphan(at(90), 1260000.0)).outcome == DUPLICATE
    assert store.complete_session(orphan(at(90), 1260000.0, start=at(89))).outcome == DUPLICATE
    assert len(store.sessions()) == 1


def test_orphan_stop_after_an_unrelated_old_session_with_same_id_is_new(store):
    store.complete_session(session())
    assert store.complete_session(orphan(at(5000), 1300000.0)).outcome == RECORDED
    assert len(store.sessions()) == 2


def test_closed_sessions_feed_the_csms_decisions(store):
    store.complete_session(session(tx=1, start=at(0), end=at(10)))
    store.complete_session(session(tx=2, start=at(20), end=at(30)))
    store.complete_session(session(charger="CP2", tx=3, start=at(20), end=at(30)))
    assert set(store.closed_sessions("CP1", since=at(0))) == {1, 2}
    assert set(store.closed_sessions("CP1", since=at(11))) == {2}
    assert store.closed_sessions("CP9", since=at(0)) == {}


def test_sessions_filters(store):
    a = session(charger="CP1", tx=1, start=at(0), end=at(10))
    b = session(
        charger="CP2",
        tx=2,
        start=at(60 * 24),
        end=at(60 * 24 + 10),
        alias="RR-02",
        group_id="RR1",
        id_tag="DB08E534",
    )
    c = session(charger="CP1", tx=3, start=at(60 * 48), end=at(60 * 48 + 10))
    for r in (c, a, b):
        store.complete_session(r)
    assert store.sessions() == [a, b, c]
    assert store.sessions(SessionFilter(since=at(1))) == [b, c]
    assert store.sessions(SessionFilter(until=at(60 * 48))) == [a, b]
    assert store.sessions(SessionFilter(charger="RR-02")) == [b]
    assert store.sessions(SessionFilter(charger="CP1")) == [a, c]
    assert store.sessions(SessionFilter(group_id="RR1")) == [b]
    assert store.sessions(SessionFilter(id_tag="db08E534")) == [b]
    assert store.sessions(SessionFilter(limit=2)) == [b, c]  # the most recent, oldest first


def test_prune_sessions(store):
    store.complete_session(session(tx=1, start=at(0), end=at(10)))
    store.complete_session(session(tx=2, start=at(100), end=at(110)))
    assert store.prune_sessions(at(50)) == 1
    assert [s.transaction_id for s in store.sessions()] == [2]


def test_stats_count_rows_and_bytes(store):
    store.complete_session(session())
    store.upsert_live_transaction(live(tx=5))
    stats = store.stats()
    assert (stats["sessions"], stats["live_transactions"], stats["audit"]) == (1, 1, 0)
    assert stats["size_bytes"] > 0
    assert stats["schema_version"] == store.schema_version
