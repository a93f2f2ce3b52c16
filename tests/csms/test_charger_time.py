"""Charger timestamps onto balanz's timeline: the shift decision, and the bookkeeping that rests on it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from balanz.csms.charger_clock import ChargerClocks
from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import MeterSettings, read_meter_values
from balanz.csms.tags import authorize, merge_tags
from balanz.csms.transactions import decide_meter_values, decide_start, decide_stop
from balanz.sessions import LiveTransaction

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def test_a_plausible_timestamp_is_believed():
    assert Retiming(300).shift(T - timedelta(seconds=299), T) == timedelta(0)
    assert Retiming(300).shift(T + timedelta(seconds=300), T) == timedelta(0)
    assert Retiming(300).shift(None, T) == timedelta(0)


def test_an_implausible_timestamp_becomes_the_receive_time():
    assert Retiming(300).shift(T + YEAR, T) == -YEAR
    assert Retiming(300).shift(T - timedelta(minutes=20), T) == timedelta(minutes=20)


def test_a_backlog_keeps_past_timestamps_and_corrects_future_ones():
    assert Retiming(300, backlog=True).shift(T - timedelta(hours=2), T) == timedelta(0)
    assert Retiming(300, backlog=True).shift(T + timedelta(hours=1), T) == -timedelta(hours=1)


def test_a_backlog_from_a_charger_with_a_known_wrong_clock_is_corrected_by_that_offset():
    behind = Retiming(300, backlog=True, known_offset=-timedelta(minutes=20))
    assert behind.shift(T - timedelta(minutes=30), T) == timedelta(minutes=20)  # queued 10 min ago
    ahead = Retiming(300, backlog=True, known_offset=YEAR)
    assert ahead.shift(T + YEAR - timedelta(minutes=10), T) == -YEAR
    # corrected into the future: the known offset no longer holds, the receive time is used
    assert ahead.shift(T + 2 * YEAR, T) == -2 * YEAR
    # a clock fixed while offline: its plausible timestamps are believed, the stale offset is not used
    assert ahead.shift(T - timedelta(seconds=5), T) == timedelta(0)


@given(
    error_s=st.floats(-4e7, 4e7, allow_nan=False),
    backlog=st.booleans(),
    known_s=st.none() | st.floats(-4e7, 4e7, allow_nan=False),
)
def test_a_shifted_timestamp_is_never_beyond_the_tolerance_in_the_future(error_s, backlog, known_s):
    known = None if known_s is None else timedelta(seconds=known_s)
    stamp = T + timedelta(seconds=error_s)
    retimed = stamp + Retiming(300, backlog=backlog, known_offset=known).shift(stamp, T)
    assert retimed <= T + timedelta(seconds=300)
    if not backlog:
        assert abs(retimed - T) <= timedelta(seconds=300)


# --- warnings ---------------------------------------------------------------------------------------------


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_charger_a_year_ahead_is_warned_about_once(caplog):
    clocks = ChargerClocks(150, retime_beyond_s=300)
    with caplog.at_level(logging.INFO):
        for minute in range(30):
            now = T + timedelta(minutes=minute)
            clocks.note("CP1", now + YEAR + timedelta(seconds=minute % 3), now)
    (warning,) = _warnings(caplog)
    assert "CP1" in warning
    assert "365.0 days) ahead of" in warning
    assert "replaced by receive times" in warning
    assert clocks.live_offset("CP1") == YEAR + timedelta(seconds=29 % 3)
    with caplog.at_level(logging.INFO):
        clocks.note("CP1", T + YEAR + timedelta(hours=1), T)  # drifted an hour: not material at a year
        clocks.note("CP1", T + 2 * YEAR, T)  # a year further: material
    assert len(_warnings(caplog)) == 2


def test_a_warning_again_when_the_offset_changes_or_comes_back(caplog):
    clocks = ChargerClocks(150, retime_beyond_s=300)
    with caplog.at_level(logging.INFO):
        clocks.note("CP1", T - timedelta(minutes=20), T)
        clocks.note("CP1", T - timedelta(minutes=40), T)  # moved by 20 min: warned again
        clocks.note("CP1", T, T)  # fixed: an info line
        clocks.note("CP1", T - timedelta(minutes=40), T)  # broken again: warned again
    assert len(_warnings(caplog)) == 3
    assert any("back within" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_replayed_queue_does_not_move_the_live_offset():
    clocks = ChargerClocks(150)
    clocks.note("CP1", T - timedelta(minutes=20), T)
    clocks.note("CP1", T - timedelta(hours=3), T + timedelta(minutes=5), replay=True)
    assert clocks.live_offset("CP1") == -timedelta(minutes=20)
    assert clocks.live_offset("CP2") is None


# --- a session of a charger a year ahead, decided message by message ---------------------------------------

TAGS = merge_tags([], {})


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _meter(tx_id: int, at: datetime, wh: int) -> dict:
    sampled = [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    return {
        "connectorId": 1,
        "transactionId": tx_id,
        "meterValue": [{"timestamp": _stamp(at), "sampledValue": sampled}],
    }


def _started(stamp: datetime, now: datetime, retiming: Retiming) -> LiveTransaction:
    payload = {"connectorId": 1, "idTag": "ANY", "meterStart": 1000, "timestamp": _stamp(stamp)}
    auth = authorize("ANY", TAGS, now=now)
    return decide_start(
        payload, charger_id="CP1", open_tx=None, auth=auth, now=now, retiming=retiming
    ).opened(7)


def _metered(
    tx: LiveTransaction, stamp: datetime, wh: int, now: datetime, retiming: Retiming
) -> LiveTransaction:
    update = read_meter_values(_meter(7, stamp, wh), MeterSettings(), received_at=now, retiming=retiming)
    plan = decide_meter_values(
        7,
        update.samples,
        charger_id="CP1",
        connector_id=1,
        live_on_connector=tx,
        closed={},
        connector_active=True,
        now=now,
    )
    assert plan.live is not None
    return plan.live


def test_a_session_of_a_charger_a_year_ahead_has_its_energy_and_times_on_our_timeline():
    retiming = Retiming(300)
    tx = _started(T + YEAR, T, retiming)
    assert tx.start_time == T
    for minute, wh in ((1, 1400), (2, 1800), (3, 2300)):
        now = T + timedelta(minutes=minute)
        tx = _metered(tx, now + YEAR, wh, now, retiming)
    assert tx.energy_wh == 1300
    end = T + timedelta(minutes=4)
    stop = {"transactionId": 7, "meterStop": 2500, "timestamp": _stamp(end + YEAR)}
    plan = decide_stop(stop, charger_id="CP1", live={7: tx}, closed={}, auth=None, now=end, retiming=retiming)
    assert (plan.record.start_time, plan.record.end_time, plan.record.energy_wh) == (T, end, 1500)
    assert plan.record.duration_s == 240


def test_a_stop_replayed_by_a_slow_charger_never_ends_before_its_start():
    """Unknown offset (balanz restarted): a queued stop from a clock 20 min behind is believed, but the
    session it closes started at its receive time: the record ends at its start, not before."""
    tx = _started(T - timedelta(minutes=20), T, Retiming())
    assert tx.start_time == T
    now = T + timedelta(minutes=10)
    stop = {"transactionId": 7, "meterStop": 1800, "timestamp": _stamp(T - timedelta(minutes=15))}
    plan = decide_stop(
        stop, charger_id="CP1", live={7: tx}, closed={}, auth=None, now=now, retiming=Retiming(backlog=True)
    )
    assert plan.record.end_time == T
    assert plan.record.energy_wh == 800


def test_a_higher_register_counts_whatever_its_timestamp():
    """A reading dated before the last one seen still moves the register forward: energy is
    register − meter start and must not hinge on a wrong clock."""
    tx = replace(_started(T, T, Retiming()), last_seen=T + YEAR)
    assert _metered(tx, T, 1500, T, Retiming()).energy_wh == 500
