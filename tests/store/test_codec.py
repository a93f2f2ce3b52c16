from datetime import UTC, datetime, timedelta, timezone

import pytest

from balanz.store.codec import live_from_json, live_to_json, session_from_json, session_to_json
from balanz.store.timefmt import format_seconds, format_utc, parse_utc
from tests.store.conftest import HISTORY, T0, at, live, session


def test_session_json_round_trip_and_shape():
    record = session(flags={"partial", "island"}, stop_id_tag="8A03EE96")
    data = session_to_json(record)
    assert session_from_json(data) == record
    assert data["session_id"] == "CP1/1/1042/20250304T100008Z"
    assert data["start_time"] == "2025-03-04T10:00:08Z"
    assert data["history"][0] == {"t": "2025-03-04T10:01:08Z", "offered_a": 6.0, "usage_a": None}
    assert data["flags"] == ["island", "partial"]
    assert (data["energy_wh"], data["max_usage_a"], data["max_offer_a"]) == (18021.0, 15.9, 16.0)


def test_live_json_round_trip():
    tx = live(
        last_register_wh=1238021.0,
        last_seen=at(5),
        end_register_wh=1238100.0,
        history=HISTORY,
        flags=frozenset({"partial"}),
    )
    assert live_from_json(live_to_json(tx)) == tx


def test_times_keep_a_fraction_only_when_there_is_one():
    assert format_utc(T0) == "2025-03-04T10:00:08Z"
    fractional = T0.replace(microsecond=250000)
    assert format_utc(fractional) == "2025-03-04T10:00:08.250000Z"
    assert parse_utc(format_utc(fractional)) == fractional
    assert format_seconds(fractional) == "2025-03-04T10:00:08Z"


def test_times_are_converted_to_utc_and_naive_ones_refused():
    local = datetime(2025, 3, 4, 11, 0, 8, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(local) == "2025-03-04T10:00:08Z"
    assert parse_utc("2025-03-04T11:00:08+01:00") == T0
    assert parse_utc("2025-03-04T10:00:08Z").tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        format_utc(datetime(2025, 3, 4))
    with pytest.raises(ValueError, match="no time zone"):
        parse_utc("2025-03-04T10:00:08")
