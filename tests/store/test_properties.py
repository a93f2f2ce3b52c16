"""Properties over generated data: text and numbers survive CSV and SQLite unchanged."""

import csv
import io
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.csms.sessions import close_transaction
from balanz.sessions import HistoryEntry, LiveTransaction, SessionRecord
from balanz.store import Store
from balanz.store.codec import session_from_json, session_to_json
from balanz.store.export import csv_row, write_csv

T0 = datetime(2025, 3, 4, 10, 0, 8, tzinfo=UTC)

texts = st.text(max_size=30)
tags = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
amps = st.one_of(st.none(), st.floats(min_value=0, max_value=80, allow_nan=False))
meters = st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False))
moments = st.integers(0, 10**7).map(lambda us: T0 + timedelta(microseconds=us * 997))
histories = st.lists(st.tuples(moments, amps, amps), max_size=20).map(
    lambda xs: tuple(HistoryEntry(t, o, u) for t, o, u in sorted(xs, key=lambda x: x[0]))
)


@st.composite
def records(draw) -> SessionRecord:
    start = draw(moments)
    tx = LiveTransaction(
        charger_id=draw(tags),
        connector_id=draw(st.integers(0, 16)),
        transaction_id=draw(st.integers(1, 2**31 - 1)),
        id_tag=draw(tags),
        start_time=start,
        received_at=start,
        meter_start_wh=draw(meters),
        user_name=draw(texts),
        parent_id_tag=draw(st.one_of(st.none(), tags)),
        priority=draw(st.one_of(st.none(), st.integers(0, 10))),
        history=draw(histories),
    )
    record = close_transaction(
        tx,
        end_time=start + timedelta(seconds=draw(st.integers(0, 10**6))),
        meter_stop_wh=draw(meters),
        reason=draw(st.sampled_from(["Local", "EVDisconnected", "Timeout", "Superseded"])),
        stop_id_tag=draw(st.one_of(st.none(), tags)),
        extra_flags=draw(st.sets(st.sampled_from(["island", "timeout_stop", "synthesized"]))),
    )
    return replace(
        record, alias=draw(st.one_of(st.none(), texts)), group_id=draw(st.one_of(st.none(), texts))
    )


@given(records())
def test_csv_cells_read_back_exactly(record):
    out = io.StringIO()
    write_csv([record], out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row == csv_row(record)


@given(records())
def test_json_round_trip_is_exact(record):
    assert session_from_json(session_to_json(record)) == record


@settings(max_examples=25)
@given(st.lists(records(), min_size=1, max_size=5, unique_by=lambda r: r.session_id))
def test_sqlite_round_trip_is_exact(batch):
    batch = [replace(r, flags=r.flags - {"synthesized"}) for r in batch]  # orphans may dedupe, see unit tests
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite"
        with Store(path) as store:
            for record in batch:
                store.complete_session(record)
        with Store(path) as store:
            stored = {r.session_id: r for r in store.sessions()}
    assert stored == {r.session_id: r for r in batch}
