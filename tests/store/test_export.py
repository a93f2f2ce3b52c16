import csv
import io
import json
import sqlite3
from datetime import UTC, datetime

import pytest

from balanz.sessions import HistoryEntry
from balanz.store import SessionFilter, Store, StoreUnavailable
from balanz.store.codec import session_from_json
from balanz.store.export import (
    CSV_COLUMNS,
    export_sessions,
    format_duration,
    parse_bound,
    plain_number,
    read_sessions,
)
from tests.store.conftest import at, session


@pytest.fixture
def filled(store_path):
    with Store(store_path) as store:
        store.complete_session(
            session(
                history=(
                    HistoryEntry(at(1), 6.0, None),
                    HistoryEntry(at(2), None, 5.9),
                    HistoryEntry(at(3), 16, 15.9),
                ),
                stop_id_tag="8A03EE96",
            )
        )
        store.complete_session(
            session(
                charger="CP2",
                connector=2,
                tx=7,
                start=at(60 * 30),
                end=at(60 * 30 + 1.5),
                alias=None,
                group_id="RR1",
                id_tag="DB08E534",
                user_name='Corp, "EV" 5',
                meter_stop_wh=1234600.5,
                history=(),
                flags={"partial"},
                stop_reason="Local",
            )
        )
    return store_path


def export(path, flt=None, fmt="csv"):
    out = io.StringIO()
    count = export_sessions(path, flt or SessionFilter(), fmt, out)
    return count, out.getvalue()


def test_csv_header_and_values(filled):
    count, text = export(filled)
    assert count == 2
    assert text.splitlines()[0] == (
        "session_id,charger_id,charger_alias,group_id,id_tag,user_name,stop_id_tag,start_time,end_time,"
        "duration,energy_wh,stop_reason,history,connector_id,transaction_id"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0] == {
        "session_id": "CP1/1/1042/20250304T100008Z",
        "charger_id": "CP1",
        "charger_alias": "HQ-01",
        "group_id": "HQ",
        "id_tag": "8A03EE96",
        "user_name": "Corp EV 1",
        "stop_id_tag": "8A03EE96",
        "start_time": "2025-03-04T10:00:08Z",
        "end_time": "2025-03-04T11:40:08Z",
        "duration": "01:40:00",
        "energy_wh": "18021",
        "stop_reason": "EVDisconnected",
        "history": "2025-03-04T10:01:08Z=6A/;2025-03-04T10:02:08Z=/5.9A;2025-03-04T10:03:08Z=16A/15.9A",
        "connector_id": "1",
        "transaction_id": "1042",
    }
    assert rows[1] == {
        "session_id": "CP2/2/7/20250305T160008Z",
        "charger_id": "CP2",
        "charger_alias": "",
        "group_id": "RR1",
        "id_tag": "DB08E534",
        "user_name": 'Corp, "EV" 5',
        "stop_id_tag": "",
        "start_time": "2025-03-05T16:00:08Z",
        "end_time": "2025-03-05T16:01:38Z",
        "duration": "00:01:30",
        "energy_wh": "100.5",
        "stop_reason": "Local",
        "history": "",
        "connector_id": "2",
        "transaction_id": "7",
    }


def test_jsonl_carries_every_field_and_round_trips(filled):
    count, text = export(filled, fmt="jsonl")
    lines = text.splitlines()
    assert count == len(lines) == 2
    with Store(filled) as store:
        stored = store.sessions()
    assert [session_from_json(json.loads(line)) for line in lines] == stored
    first = json.loads(lines[0])
    assert first["energy_wh"] == 18021
    assert first["meter_start_wh"] == 1234500
    assert first["flags"] == []
    assert json.loads(lines[1])["flags"] == ["partial"]


def test_filters_select_rows(filled):
    def ids(**kw):
        return [r.transaction_id for r in read_sessions(filled, SessionFilter(**kw))]

    assert ids() == [1042, 7]
    assert ids(since=parse_bound("2025-03-05", upper=False)) == [7]
    assert ids(until=parse_bound("2025-03-04", upper=True)) == [1042]
    assert ids(since=parse_bound("2025-03-04T10:00:09Z", upper=False)) == [7]
    assert ids(since=parse_bound("2025-03-04T11:00:08+01:00", upper=False)) == [1042, 7]
    assert ids(id_tag="db08e534") == [7]
    assert ids(charger="HQ-01") == [1042]
    assert ids(group_id="RR1") == [7]
    assert ids(group_id="RR1", charger="CP1") == []


def test_export_reads_while_a_writer_holds_a_transaction(filled):
    with Store(filled) as writer:
        conn = writer.database.connection
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM sessions")
        # the daemon's uncommitted change is invisible; the export is not blocked
        count, _ = export(filled)
        assert count == 2
        conn.execute("ROLLBACK")
        writer.complete_session(session(tx=99, start=at(5)))
        assert export(filled)[0] == 3


def test_export_never_writes(filled):
    conn = sqlite3.connect(filled)
    (before,) = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()
    conn.close()
    export(filled)
    with Store(filled) as store:
        assert len(store.sessions()) == before


def test_missing_store_is_reported(tmp_path):
    with pytest.raises(StoreUnavailable, match="no such file"):
        export(tmp_path / "none.sqlite")


def test_unknown_format_is_refused(filled):
    with pytest.raises(ValueError, match="format"):
        export(filled, fmt="xml")


@pytest.mark.parametrize(
    ("text", "upper", "expected"),
    [
        ("2025-03-04", False, datetime(2025, 3, 4, tzinfo=UTC)),
        ("2025-03-04", True, datetime(2025, 3, 5, tzinfo=UTC)),
        ("2025-03-04T10:00:00Z", True, datetime(2025, 3, 4, 10, tzinfo=UTC)),
        ("2025-03-04T10:00:00+02:00", False, datetime(2025, 3, 4, 8, tzinfo=UTC)),
    ],
)
def test_parse_bound(text, upper, expected):
    assert parse_bound(text, upper=upper) == expected


@pytest.mark.parametrize("text", ["2025-03-04T10:00:00", "yesterday", ""])
def test_parse_bound_refuses_zoneless_or_garbage(text):
    with pytest.raises(ValueError, match=r"expected|zone"):
        parse_bound(text, upper=False)


def test_number_and_duration_formats():
    assert [plain_number(v) for v in (None, 0, 17021.0, 15.9, -3)] == ["", "0", "17021", "15.9", "-3"]
    assert [format_duration(v) for v in (None, 0, 59, 3600, 400 * 3600 + 61, -90)] == [
        "",
        "00:00:00",
        "00:00:59",
        "01:00:00",
        "400:01:01",
        "-00:01:30",
    ]
