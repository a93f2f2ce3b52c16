"""Session export: CSV and JSON Lines, with filters, read through a read-only connection so it works while
the daemon runs.

CSV columns are the reference history file's (`session_id,charger_id,charger_alias,group_id,id_tag,
user_name,stop_id_tag,start_time,end_time,duration,energy,stop_reason,history`) in the same order, followed by
`connector_id,transaction_id`. Differences from the reference, on purpose:
- `energy_wh` replaces `energy`: watt-hours as a plain number (`17021` or `17021.5`), where the reference
  wrote kWh with three decimals under the name `energy`. The new name keeps a spreadsheet that expects kWh
  from silently reading values a thousand times too large.
- `start_time`/`end_time` are RFC 3339 UTC (`2025-03-04T10:00:08Z`), not local time without a zone.
- `session_id` is `<charger>/<connector>/<transaction>/<start UTC>` (model.md §5.2).
- `history` keeps the reference shape `<time>=<offered>A/<usage>A;…` (either side empty when not recorded),
  with RFC 3339 UTC times.
`duration` stays `HH:MM:SS` as in the reference (hours may exceed 99). CSV times are whole seconds.
JSON Lines carries every field of the record (`balanz.store.codec.session_to_json`), one per line.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from balanz.sessions import SessionRecord
from balanz.store.codec import session_to_json
from balanz.store.db import open_read_only, unavailable
from balanz.store.session_log import SessionFilter, iter_sessions
from balanz.store.timefmt import format_seconds

log = logging.getLogger(__name__)

CSV_COLUMNS = (
    "session_id",
    "charger_id",
    "charger_alias",
    "group_id",
    "id_tag",
    "user_name",
    "stop_id_tag",
    "start_time",
    "end_time",
    "duration",
    "energy_wh",
    "stop_reason",
    "history",
    "connector_id",
    "transaction_id",
)
FORMATS = ("csv", "jsonl")


def plain_number(value: float | None) -> str:
    """`17021` for whole numbers, `15.9` otherwise, empty for unknown."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.15g}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_history(record: SessionRecord) -> str:
    def side(value: float | None) -> str:
        return "" if value is None else f"{plain_number(value)}A"

    return ";".join(f"{format_seconds(h.t)}={side(h.offered_a)}/{side(h.usage_a)}" for h in record.history)


def csv_row(record: SessionRecord) -> dict[str, str]:
    return {
        "session_id": record.session_id,
        "charger_id": record.charger_id,
        "charger_alias": record.alias or "",
        "group_id": record.group_id or "",
        "id_tag": record.id_tag,
        "user_name": record.user_name,
        "stop_id_tag": record.stop_id_tag or "",
        "start_time": format_seconds(record.start_time),
        "end_time": format_seconds(record.end_time),
        "duration": format_duration(record.duration_s),
        "energy_wh": plain_number(record.energy_wh),
        "stop_reason": record.stop_reason,
        "history": format_history(record),
        "connector_id": str(record.connector_id),
        "transaction_id": str(record.transaction_id),
    }


def write_csv(records: Iterable[SessionRecord], out: TextIO) -> int:
    # RFC 4180 line ends: the writer then also quotes fields holding a lone "\r" (a user name pasted from
    # Windows), which with "\n" line ends it would leave bare and break the row.
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(csv_row(record))
        count += 1
    return count


def write_jsonl(records: Iterable[SessionRecord], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(session_to_json(record), ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def parse_bound(text: str, *, upper: bool) -> datetime:
    """`--since`/`--until`: an RFC 3339 date-time (zone required), or a date meaning that UTC day — from its
    start for `--since`, through its end for `--until` (so `--since 2025-03-01 --until 2025-03-31` is all
    of March)."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if upper else start
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{text!r}: expected a date (2025-03-04) or RFC 3339 time (2025-03-04T10:00:00Z)"
        ) from exc
    if moment.tzinfo is None:
        raise ValueError(f"{text!r}: a time needs a zone, e.g. 2025-03-04T10:00:00Z or +01:00")
    return moment.astimezone(UTC)


def read_sessions(store_path: Path | str, flt: SessionFilter) -> list[SessionRecord]:
    records: list[SessionRecord] = []

    def collect(rows: Iterator[SessionRecord]) -> int:
        records.extend(rows)
        return len(records)

    _stream(store_path, flt, collect)
    return records


def export_sessions(store_path: Path | str, flt: SessionFilter, fmt: str, out: TextIO) -> int:
    """Write the matching sessions to `out` in `fmt` (`csv` or `jsonl`); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    writer = write_csv if fmt == "csv" else write_jsonl
    return _stream(store_path, flt, lambda rows: writer(rows, out))


def _stream(
    store_path: Path | str, flt: SessionFilter, sink: Callable[[Iterator[SessionRecord]], int]
) -> int:
    conn = open_read_only(store_path)
    try:
        return sink(iter_sessions(conn, flt))
    except sqlite3.Error as exc:
        raise unavailable(store_path, exc) from exc
    finally:
        conn.close()
