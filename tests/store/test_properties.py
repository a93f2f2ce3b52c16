"""Properties over generated data: text survives CSV and SQLite unchanged, summaries stay in range."""

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.store import HistoryEntry, SessionRecord, Store, build_session
from balanz.store.export import csv_row, write_csv
from balanz.store.sessions_model import summarise_history

T0 = datetime(2025, 3, 4, 10, 0, 8, tzinfo=UTC)

texts = st.text(max_size=30)
tags = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
amps = st.one_of(st.none(), st.floats(min_value=0, max_value=80, allow_nan=False).map(lambda v: round(v, 1)))
histories = st.lists(st.tuples(st.integers(0, 6000), amps, amps), max_size=20).map(
    lambda xs: tuple(
        HistoryEntry(T0 + timedelta(seconds=s), o, u) for s, o, u in sorted(xs, key=lambda x: x[0])
    )
)


@st.composite
def records(draw) -> SessionRecord:
    start = draw(st.one_of(st.none(), st.just(T0)))
    return build_session(
        charger_id=draw(tags),
        connector_id=draw(st.integers(0, 16)),
        transaction_id=draw(st.integers(1, 2**31 - 1)),
        start_time=start,
        end_time=T0 + timedelta(seconds=draw(st.integers(0, 10**6))),
        id_tag=draw(tags),
        user_name=draw(texts),
        alias=draw(st.one_of(st.none(), texts)),
        group_id=draw(st.one_of(st.none(), texts)),
        stop_id_tag=draw(st.one_of(st.none(), tags)),
        meter_start_wh=draw(st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False))),
        meter_stop_wh=draw(st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False))),
        stop_reason=draw(st.sampled_from(["Local", "EVDisconnected", "Timeout", "Superseded"])),
        history=draw(histories),
        flags=draw(st.sets(st.sampled_from(["partial", "island", "timeout_stop"]))),
    )


@given(records())
def test_csv_cells_read_back_exactly(record):
    out = io.StringIO()
    write_csv([record], out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row == csv_row(record)


@given(histories)
def test_mean_usage_lies_between_min_and_max(history):
    summary = summarise_history(history, T0 + timedelta(seconds=7000))
    usages = [h.usage_a for h in history if h.usage_a is not None]
    if not usages:
        assert summary.mean_usage_a is None
    else:
        assert min(usages) - 0.001 <= summary.mean_usage_a <= max(usages) + 0.001
        assert summary.max_usage_a == max(usages)


@settings(max_examples=25)
@given(st.lists(records(), min_size=1, max_size=5, unique_by=lambda r: r.session_id))
def test_sqlite_round_trip_is_exact(batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite"
        with Store(path) as store:
            for record in batch:
                store.complete_session(record)
        with Store(path) as store:
            stored = {r.session_id: r for r in store.sessions()}
    assert stored == {r.session_id: r for r in batch}
