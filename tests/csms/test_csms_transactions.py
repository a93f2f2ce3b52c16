"""Transaction bookkeeping decisions, one test per case of flows.md §2.7, §2.9, §2.10 and model.md §5."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from balanz.config.schema import CsmsConfig, TagConfig
from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import MeterSample
from balanz.csms.sessions import add_usage, close_transaction, record_offer, session_id
from balanz.csms.tags import authorize, merge_tags
from balanz.csms.transactions import decide_meter_values, decide_start, decide_stop, find_timeouts
from balanz.sessions import HistoryEntry, LiveTransaction

T0 = datetime(2025, 3, 4, 10, 0, 8, tzinfo=UTC)
TAGS = merge_tags(
    [
        TagConfig(id="8a03ee96", user="Alice", parent="ACME", priority=4),
        TagConfig(id="bad", status="Blocked"),
    ],
    {},
)
START = {"connectorId": 1, "idTag": "8a03ee96", "meterStart": 1234500, "timestamp": "2025-03-04T10:00:08Z"}


def start(payload=START, open_tx=None, now=T0, csms=None, **kw):
    csms = csms or CsmsConfig()
    auth = authorize(payload["idTag"], TAGS, now=now, csms=csms)
    return decide_start(payload, charger_id="CP1", open_tx=open_tx, auth=auth, now=now, csms=csms, **kw)


def live(tx_id=1042, **changes) -> LiveTransaction:
    return replace(start().opened(tx_id), **changes)


# --- StartTransaction ---------------------------------------------------------------------------------------


def test_start_opens_transaction_with_tag_data():
    plan = start()
    tx = plan.opened(1042)
    assert plan.duplicate_of is None
    assert plan.superseded is None
    assert (tx.transaction_id, tx.connector_id, tx.id_tag, tx.user_name) == (1042, 1, "8A03EE96", "Alice")
    assert (tx.meter_start_wh, tx.start_time, tx.received_at) == (1234500, T0, T0)
    assert (tx.priority, tx.priority_source) == (4, "tag")
    assert plan.answer(1042) == {
        "transactionId": 1042,
        "idTagInfo": {"status": "Accepted", "parentIdTag": "ACME"},
    }


def test_start_without_tag_priority_takes_fallback():
    tags = merge_tags([TagConfig(id="plain")], {})
    auth = authorize("plain", tags, now=T0)
    payload = {**START, "idTag": "plain"}
    plan = decide_start(payload, charger_id="CP1", open_tx=None, auth=auth, now=T0, fallback_priority=3)
    assert (plan.pending.priority, plan.pending.priority_source) == (3, "charger")


def test_retried_start_after_reconnect_is_the_same_transaction():
    plan = start(open_tx=live(), now=T0 + timedelta(seconds=40))
    assert plan.duplicate_of == 1042
    assert plan.superseded is None


def test_retried_start_with_lower_case_tag_and_small_time_jitter_is_duplicate():
    payload = {**START, "idTag": "8A03EE96", "timestamp": "2025-03-04T10:00:09Z"}
    assert start(payload, open_tx=live()).duplicate_of == 1042


@pytest.mark.parametrize(
    "change",
    [
        {"meterStart": 1234501},
        {"timestamp": "2025-03-04T10:00:11Z"},
        {"idTag": "other"},
    ],
)
def test_different_start_supersedes_open_transaction(change):
    old = live(last_register_wh=1240000.0, last_seen=T0 + timedelta(minutes=30))
    plan = start({**START, **change}, open_tx=old, now=T0 + timedelta(hours=1))
    assert plan.duplicate_of is None
    record = plan.superseded
    assert record is not None
    assert (record.stop_reason, record.meter_stop_wh, record.energy_wh) == ("Superseded", 1240000.0, 5500.0)
    assert record.end_time == T0 + timedelta(minutes=30)


def test_queued_offline_start_keeps_its_timestamp():
    plan = start(now=T0 + timedelta(seconds=301), retiming=Retiming(backlog=True))
    assert plan.queued_offline
    assert "queued_offline" in plan.pending.flags
    assert plan.pending.start_time == T0
    assert not start(now=T0 + timedelta(seconds=299)).queued_offline


@pytest.mark.parametrize("offset", [timedelta(days=365), -timedelta(minutes=20)])
def test_a_start_from_a_wrong_clock_outside_the_backlog_starts_when_received(offset):
    now = T0 - offset
    plan = start(now=now, retiming=Retiming())
    assert plan.pending.start_time == now
    assert not plan.queued_offline


def test_a_retried_start_from_a_wrong_clock_is_still_the_same_transaction():
    """The charger is a year ahead: both the start and its retry 40 s later were re-timed to their receive
    times, so only connector, tag and meter start can match them."""
    now = T0 - timedelta(days=365)
    first = start(now=now).opened(1042)
    retry = start(open_tx=first, now=now + timedelta(seconds=40), retiming=Retiming(backlog=True))
    assert retry.duplicate_of == 1042
    other = start({**START, "meterStart": 1300000}, open_tx=first, now=now + timedelta(hours=2))
    assert other.duplicate_of is None


def test_a_queued_start_of_a_slow_charger_is_corrected_by_its_known_offset():
    """Known to run 20 min behind, the charger replays a start it queued 10 min ago."""
    behind = timedelta(minutes=-20)
    now = T0 - behind + timedelta(minutes=10)
    plan = start(now=now, retiming=Retiming(backlog=True, known_offset=behind))
    assert plan.pending.start_time == now - timedelta(minutes=10)
    assert plan.queued_offline


def test_start_on_unconfigured_connector_is_recorded_with_warning():
    plan = start({**START, "connectorId": 5}, known_connector=False)
    assert plan.new_connector
    assert plan.opened(7).connector_id == 5
    assert "unconfigured connector 5" in plan.warnings[0]


def test_rejected_tag_still_recorded_and_answered():
    plan = start({**START, "idTag": "bad"})
    assert plan.answer(9)["idTagInfo"] == {"status": "Blocked"}
    assert "rejected_tag" in plan.opened(9).flags


def test_authorize_start_off_accepts_everything():
    plan = start({**START, "idTag": "bad"}, csms=CsmsConfig(authorize_start=False))
    assert plan.answer(9)["idTagInfo"]["status"] == "Accepted"
    assert "rejected_tag" not in plan.pending.flags


def test_unreadable_start_timestamp_uses_receive_time():
    plan = start({**START, "timestamp": "soon"})
    assert plan.pending.start_time == T0
    assert plan.warnings


# --- StopTransaction ----------------------------------------------------------------------------------------

STOP = {
    "transactionId": 1042,
    "meterStop": 1252521,
    "timestamp": "2025-03-04T11:40:05Z",
    "reason": "EVDisconnected",
}
T_STOP = datetime(2025, 3, 4, 11, 40, 5, tzinfo=UTC)


def stop(payload=STOP, live_txs=None, closed=None, with_auth=True):
    live_txs = {1042: live()} if live_txs is None else live_txs
    auth = authorize(payload["idTag"], TAGS, now=T_STOP) if with_auth and payload.get("idTag") else None
    return decide_stop(payload, charger_id="CP1", live=live_txs, closed=closed or {}, auth=auth, now=T_STOP)


def test_stop_closes_with_energy_and_empty_answer():
    plan = stop()
    r = plan.record
    assert plan.kind == "close"
    assert plan.persist
    assert plan.answer == {}
    assert plan.ended.transaction_id == 1042
    assert (r.energy_wh, r.stop_reason, r.end_time, r.duration_s) == (
        18021.0,
        "EVDisconnected",
        T_STOP,
        6000.0 - 3,
    )
    assert r.session_id == "CP1/1/1042/20250304T100008Z"
    assert r.flags == frozenset()


def test_stop_reason_defaults_to_local_and_idtag_is_answered():
    payload = {k: v for k, v in STOP.items() if k != "reason"} | {"idTag": "8a03ee96"}
    plan = stop(payload)
    assert plan.record.stop_reason == "Local"
    assert plan.record.stop_id_tag == "8A03EE96"
    assert plan.answer == {"idTagInfo": {"status": "Accepted", "parentIdTag": "ACME"}}


def test_stop_transaction_data_goes_into_history():
    usage = {"value": "16.0", "measurand": "Current.Import", "phase": "L1"}
    end = {"value": "1252521", "context": "Transaction.End"}
    data = [
        {"timestamp": "2025-03-04T10:30:00Z", "sampledValue": [usage]},
        {"timestamp": "2025-03-04T11:40:05Z", "sampledValue": [end]},
    ]
    plan = stop({**STOP, "transactionData": data})
    assert [h.usage_a for h in plan.record.history] == [16.0]
    assert plan.record.max_usage_a == 16.0


def test_stop_without_meter_stop_uses_last_register():
    plan = stop(
        {k: v for k, v in STOP.items() if k != "meterStop"}, live_txs={1042: live(last_register_wh=1240000.0)}
    )
    assert plan.record.meter_stop_wh == 1240000.0


def test_repeated_stop_is_idempotent():
    first = stop()
    again = stop(live_txs={}, closed={1042: first.record})
    assert again.kind == "duplicate"
    assert not again.persist
    assert again.record == first.record
    assert again.answer == first.answer


def test_late_stop_amends_timeout_record():
    (closed,) = find_timeouts(
        [live()], disconnected_since={"CP1": T0}, now=T0 + timedelta(hours=2), timeout_s=3600
    )
    plan = stop(live_txs={}, closed={1042: closed.record})
    assert plan.kind == "amend"
    assert plan.persist
    r = plan.record
    assert (r.stop_reason, r.meter_stop_wh, r.energy_wh, r.end_time) == (
        "EVDisconnected",
        1252521,
        18021.0,
        T_STOP,
    )
    assert {"amended", "timeout_stop"} <= r.flags


def test_late_stop_amends_superseded_record():
    superseded = start({**START, "meterStart": 1}, open_tx=live()).superseded
    plan = stop(live_txs={}, closed={1042: superseded})
    assert plan.kind == "amend"
    assert plan.record.stop_reason == "EVDisconnected"


def test_stop_for_unknown_transaction_records_orphan():
    plan = stop(live_txs={})
    r = plan.record
    assert plan.kind == "orphan"
    assert plan.answer == {}
    assert {"synthesized", "partial"} <= r.flags
    assert (r.meter_start_wh, r.energy_wh, r.connector_id) == (None, None, 0)
    assert r.start_time == T_STOP


def test_orphan_start_taken_from_transaction_begin_in_transaction_data():
    data = [
        {
            "timestamp": "2025-03-04T10:00:08Z",
            "sampledValue": [{"value": "1234500", "context": "Transaction.Begin"}],
        }
    ]
    r = stop({**STOP, "transactionData": data}, live_txs={}).record
    assert (r.start_time, r.meter_start_wh, r.energy_wh) == (T0, 1234500.0, 18021.0)
    assert "partial" not in r.flags
    assert "synthesized" in r.flags


@pytest.mark.parametrize("meter_stop", [1234499, 1234500 + 500_001])
def test_implausible_energy_flagged(meter_stop):
    assert "implausible_energy" in stop({**STOP, "meterStop": meter_stop}).record.flags


# --- MeterValues ------------------------------------------------------------------------------------------


def mv(tx_id, samples, live_tx=None, closed=None, active=True, connector=1):
    return decide_meter_values(
        tx_id,
        samples,
        charger_id="CP1",
        connector_id=connector,
        live_on_connector=live_tx,
        closed=closed or {},
        connector_active=active,
        now=T0 + timedelta(hours=1),
    )


def at(minutes: float, **kw) -> MeterSample:
    return MeterSample(at=T0 + timedelta(minutes=minutes), **kw)


def test_meter_values_update_register_and_thinned_history():
    samples = [
        at(1, usage_a=6.0),
        at(2, usage_a=6.3),
        at(3, usage_a=6.6, register_wh=1235000.0),
        at(4, usage_a=0.0),
    ]
    plan = mv(1042, samples, live_tx=live())
    assert plan.kind == "update"
    assert [h.usage_a for h in plan.live.history] == [6.0, 6.6, 0.0]
    assert plan.live.last_register_wh == 1235000.0
    assert plan.live.energy_wh == 500.0


def test_begin_register_fills_missing_meter_start():
    plan = mv(
        1042, [at(0, begin_register_wh=1234000.0, register_wh=1234100.0)], live_tx=live(meter_start_wh=0.0)
    )
    assert plan.live.meter_start_wh == 1234000.0


def test_meter_values_without_transaction_touch_no_session():
    assert mv(None, [at(1, usage_a=5.0)], live_tx=live()).kind == "connector_only"
    assert mv(1042, [at(1, usage_a=5.0)], live_tx=live(), connector=0).kind == "connector_only"


def test_unknown_transaction_on_active_connector_is_synthesized_partial():
    plan = mv(77, [at(5, usage_a=10.0, register_wh=5000.0), at(6, register_wh=5100.0)])
    assert plan.kind == "synthesize"
    tx = plan.live
    assert (tx.transaction_id, tx.meter_start_wh, tx.last_register_wh, tx.id_tag) == (77, 5000.0, 5100.0, "")
    assert {"synthesized", "partial"} <= tx.flags
    assert tx.start_time == T0 + timedelta(minutes=5)
    assert plan.warnings


def test_synthesized_with_transaction_begin_is_not_partial():
    plan = mv(77, [at(0, begin_register_wh=4000.0), at(5, register_wh=5000.0)])
    assert plan.live.meter_start_wh == 4000.0
    assert "partial" not in plan.live.flags


def test_synthesized_transaction_supersedes_other_open_one():
    plan = mv(77, [at(5, register_wh=1236000.0)], live_tx=live())
    assert plan.superseded.transaction_id == 1042
    assert plan.superseded.stop_reason == "Superseded"


def test_unknown_transaction_on_idle_connector_is_not_synthesized():
    plan = mv(77, [at(5, usage_a=0.0)], active=False)
    assert plan.kind == "inactive"
    assert plan.live is None


def test_meter_values_after_stop_do_not_revive_session():
    record = stop().record
    plan = mv(1042, [at(101, register_wh=1252521.0)], closed={1042: record})
    assert plan.kind == "late"
    assert plan.record is None


def test_meter_values_amend_timeout_record():
    (closed,) = find_timeouts(
        [live()], disconnected_since={"CP1": T0}, now=T0 + timedelta(hours=2), timeout_s=3600
    )
    plan = mv(1042, [at(90, register_wh=1240000.0)], closed={1042: closed.record})
    assert plan.kind == "amend"
    assert plan.record.meter_stop_wh == 1240000.0
    assert plan.record.end_time == T0 + timedelta(minutes=90)
    assert "amended" in plan.record.flags


# --- timeouts and summaries ----------------------------------------------------------------------------


def test_timeout_closes_transactions_of_long_disconnected_chargers_only():
    a = live(1, last_register_wh=1236000.0, last_seen=T0 + timedelta(minutes=10))
    b = replace(live(2), charger_id="CP2")
    now = T0 + timedelta(minutes=20) + timedelta(seconds=3601)
    out = find_timeouts(
        [a, b], disconnected_since={"CP1": T0 + timedelta(minutes=20)}, now=now, timeout_s=3600
    )
    (only,) = out
    assert only.transaction.transaction_id == 1
    r = only.record
    assert (r.stop_reason, r.meter_stop_wh, r.end_time) == ("Timeout", 1236000.0, T0 + timedelta(minutes=10))
    assert "timeout_stop" in r.flags


def test_timeout_not_before_the_limit():
    out = find_timeouts(
        [live()], disconnected_since={"CP1": T0}, now=T0 + timedelta(seconds=3600), timeout_s=3600
    )
    assert out == ()


def test_history_thinning_threshold():
    h = add_usage((), T0, 10.0, 0.5)
    h = add_usage(h, T0, 10.4, 0.5)
    h = add_usage(h, T0, 10.5, 0.5)
    assert [e.usage_a for e in h] == [10.0, 10.5]


def test_record_offer_only_on_change():
    tx = record_offer(live(), T0, 6.0)
    tx = record_offer(tx, T0 + timedelta(minutes=1), 6.0)
    tx = record_offer(tx, T0 + timedelta(minutes=2), 9.0)
    assert [h.offered_a for h in tx.history] == [6.0, 9.0]


def test_summary_mean_is_time_weighted_and_max_offer():
    history = (
        HistoryEntry(T0, offered_a=6.0),
        HistoryEntry(T0, usage_a=6.0),
        HistoryEntry(T0 + timedelta(minutes=10), offered_a=16.0),
        HistoryEntry(T0 + timedelta(minutes=10), usage_a=16.0),
    )
    r = close_transaction(
        live(history=history), end_time=T0 + timedelta(minutes=40), meter_stop_wh=1240000.0, reason="Local"
    )
    assert r.mean_usage_a == pytest.approx((6 * 10 + 16 * 30) / 40)
    assert (r.max_usage_a, r.max_offer_a) == (16.0, 16.0)


def test_summary_without_usage_is_unknown():
    r = close_transaction(live(), end_time=T0, meter_stop_wh=None, reason="Local")
    assert (r.mean_usage_a, r.max_usage_a, r.max_offer_a, r.energy_wh) == (None, None, None, None)


def test_session_id_is_unique_across_counter_restarts():
    assert session_id("CP1", 2, 5, T0) != session_id("CP1", 2, 5, T0 + timedelta(days=1))


def test_history_is_a_forward_log():
    plan = mv(1042, [at(5, usage_a=10.0), at(6, usage_a=12.0)], live_tx=live())
    again = mv(1042, [at(2, usage_a=30.0, register_wh=1.0)], live_tx=plan.live)
    assert [h.usage_a for h in again.live.history] == [10.0, 12.0]
    assert again.live.last_register_wh == plan.live.last_register_wh


def test_meter_amend_keeps_timeout_reason():
    (closed,) = find_timeouts(
        [live()], disconnected_since={"CP1": T0}, now=T0 + timedelta(hours=2), timeout_s=3600
    )
    record = mv(1042, [at(90, register_wh=1240000.0)], closed={1042: closed.record}).record
    assert (record.stop_reason, record.stop_id_tag) == ("Timeout", None)
