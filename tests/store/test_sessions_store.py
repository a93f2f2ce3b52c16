from balanz.store import PriorityOverride, SessionFilter, Store
from balanz.store.session_log import AMENDED_OUTCOME, DUPLICATE, RECORDED
from balanz.store.sessions_model import AMENDED, SYNTHESIZED, TIMEOUT_STOP, HistoryEntry
from tests.store.conftest import T0, at, live, session


def test_complete_records_and_survives_reopen(store_path):
    record = session()
    with Store(store_path) as store:
        assert store.complete_session(record).outcome == RECORDED
    with Store(store_path) as store:
        assert store.sessions() == [record]
        assert store.session(record.session_id) == record
        assert store.latest_session("CP1", 1042) == record


def test_duplicate_stop_yields_one_record(store):
    record = session()
    store.complete_session(record)
    again = store.complete_session(record)
    assert again.outcome == DUPLICATE
    assert again.record == record
    assert len(store.sessions()) == 1


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


def test_late_stop_amends_a_session_closed_by_timeout(store):
    timed_out = session(end=at(60), stop_reason="Timeout", meter_stop_wh=1240000, flags={TIMEOUT_STOP})
    store.complete_session(timed_out)
    late = session(end=at(130), meter_stop_wh=1252521, stop_reason="EVDisconnected", stop_id_tag="8A03EE96")
    result = store.complete_session(late)
    assert result.outcome == AMENDED_OUTCOME
    [stored] = store.sessions()
    assert stored.session_id == timed_out.session_id
    assert stored.flags == {TIMEOUT_STOP, AMENDED}
    assert (stored.end_time, stored.meter_stop_wh, stored.energy_wh) == (at(130), 1252521, 18021)
    assert stored.stop_reason == "EVDisconnected"
    # the same late stop again changes nothing
    assert store.complete_session(late).outcome == DUPLICATE
    assert store.sessions() == [stored]


def test_orphan_stop_for_timed_out_transaction_amends_it(store):
    timed_out = session(end=at(60), stop_reason="Timeout", flags={TIMEOUT_STOP})
    store.complete_session(timed_out)
    orphan = session(
        connector=0,
        start=None,
        end=at(90),
        meter_start_wh=None,
        meter_stop_wh=1260000,
        flags={SYNTHESIZED},
        history=(),
    )
    result = store.complete_session(orphan)
    assert result.outcome == AMENDED_OUTCOME
    [stored] = store.sessions()
    assert stored.connector_id == 1
    assert stored.meter_stop_wh == 1260000
    assert stored.energy_wh == 1260000 - 1234500


def test_orphan_stop_recorded_once(store):
    orphan = session(start=None, meter_start_wh=None, flags={SYNTHESIZED}, history=())
    assert store.complete_session(orphan).outcome == RECORDED
    assert store.complete_session(orphan).outcome == DUPLICATE
    assert len(store.sessions()) == 1


def test_orphan_stop_after_an_unrelated_old_session_with_same_id_is_new(store):
    store.complete_session(session())
    orphan = session(start=None, end=at(5000), meter_start_wh=None, flags={SYNTHESIZED}, history=())
    assert store.complete_session(orphan).outcome == RECORDED
    assert len(store.sessions()) == 2


def test_late_meter_values_amend_timed_out_session(store):
    store.complete_session(
        session(end=at(60), stop_reason="Timeout", meter_stop_wh=1240000, flags={TIMEOUT_STOP})
    )
    result = store.amend_timed_out_session(
        "CP1", 1042, end_time=at(70), meter_stop_wh=1241000, history=(HistoryEntry(at(70), None, 3.0),)
    )
    assert result is not None
    assert result.record.meter_stop_wh == 1241000
    assert result.record.stop_reason == "Timeout"
    assert AMENDED in result.record.flags
    assert store.sessions()[0] == result.record


def test_late_meter_values_for_a_normally_closed_session_do_not_amend(store):
    store.complete_session(session())
    assert store.amend_timed_out_session("CP1", 1042, end_time=at(200), meter_stop_wh=1) is None
    assert store.amend_timed_out_session("CP9", 1, end_time=at(200), meter_stop_wh=1) is None


def test_sessions_filters(store):
    a = session(charger="CP1", tx=1, start=at(0), end=at(10))
    b = session(
        charger="CP2",
        tx=2,
        start=at(60 * 24),
        end=at(60 * 24 + 10),
        alias="RR-02",
        group_id="RR1",
        id_tag="db08e534",
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


def test_live_transaction_to_session_then_complete(store):
    tx = live(
        last_register_wh=1240000,
        priority=5,
        priority_source="override",
        flags=frozenset({"partial"}),
        history=(HistoryEntry(at(1), 6.0, None),),
    )
    store.upsert_live_transaction(tx)
    record = tx.to_session(
        end_time=at(30),
        stop_reason="Superseded",
        alias="HQ-01",
        group_id="HQ",
        history=(HistoryEntry(at(30), 0.0, 0.0),),
        flags={"island"},
    )
    assert record.session_id == "CP1/1/1042/20250304T100008Z"
    assert (record.meter_stop_wh, record.energy_wh) == (1240000, 1240000 - 1234500)
    assert (record.priority, record.priority_source) == (5, "override")
    assert record.history == (HistoryEntry(at(1), 6.0, None), HistoryEntry(at(30), 0.0, 0.0))
    assert record.flags == {"partial", "island"}
    assert (record.user_name, record.parent_id_tag, record.alias) == ("Corp EV 1", "ACME", "HQ-01")
    assert tx.to_session(end_time=at(30), stop_reason="Local", meter_stop_wh=1250000).energy_wh == 15500
    store.complete_session(record)
    assert store.live_transactions() == []


def test_stats_count_rows_and_bytes(store):
    store.complete_session(session())
    store.upsert_live_transaction(live(tx=5))
    stats = store.stats()
    assert (stats["sessions"], stats["live_transactions"], stats["audit"]) == (1, 1, 0)
    assert stats["size_bytes"] > 0
    assert stats["schema_version"] == store.schema_version
