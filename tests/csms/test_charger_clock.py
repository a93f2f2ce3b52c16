"""Charger clock offsets from message timestamps, and profile dating in the charger's time (P4)."""

import logging
from datetime import UTC, datetime, timedelta

from balanz.csms.charger_clock import ChargerClocks, message_time

T = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


def test_the_newest_timestamp_of_a_message_is_its_time():
    payload = {"meterValue": [{"timestamp": "2025-03-04T07:59:50Z"}, {"timestamp": "2025-03-04T08:00:00Z"}]}
    assert message_time(payload) == T
    assert message_time({"timestamp": "2025-03-04T09:00:00+01:00"}) == T
    assert message_time({"timestamp": "yesterday"}) is None
    assert message_time({}) is None
    assert message_time({"meterValue": [{"timestamp": None}, "junk", {}]}) is None
    assert message_time({"meterValue": "junk", "timestamp": 7}) is None


def test_profiles_are_dated_in_the_time_of_a_charger_that_runs_behind(caplog):
    clocks = ChargerClocks(warn_beyond_s=150)
    assert clocks.profile_time("CP1", T) == T  # nothing heard yet: our time
    with caplog.at_level(logging.WARNING):
        clocks.note("CP1", T - timedelta(minutes=20), T)
        clocks.note("CP1", T - timedelta(minutes=20, seconds=-10), T + timedelta(seconds=10))
    assert clocks.profile_time("CP1", T) == T - timedelta(minutes=20)
    assert len([r for r in caplog.records if "CP1" in r.getMessage()]) == 1, "warned once, not per message"


def test_a_charger_ahead_of_us_gets_our_time_and_a_corrected_clock_is_believed_again():
    clocks = ChargerClocks(warn_beyond_s=150)
    clocks.note("CP1", T + timedelta(minutes=5), T)
    assert clocks.profile_time("CP1", T) == T  # an earlier start than needed is never a problem
    clocks.note("CP1", T - timedelta(hours=1), T)
    clocks.note("CP1", T + timedelta(seconds=1), T + timedelta(seconds=1))
    assert clocks.profile_time("CP1", T) == T
    clocks.note("CP1", None, T)  # a message without a timestamp changes nothing
    assert clocks.offset("CP1") == timedelta(0)


def test_a_replayed_offline_queue_dates_profiles_earlier_but_is_not_a_clock_problem(caplog):
    clocks = ChargerClocks(warn_beyond_s=150)
    with caplog.at_level(logging.WARNING):
        clocks.note("CP1", T - timedelta(minutes=30), T, replay=True)
    assert clocks.profile_time("CP1", T) == T - timedelta(minutes=30)
    assert caplog.records == []
