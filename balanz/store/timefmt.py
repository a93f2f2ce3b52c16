"""UTC timestamps as the store writes them: RFC 3339 with `Z`, whole seconds.

One fixed-width text form keeps the columns sortable and comparable as text (the export filters are plain
SQL comparisons) and readable with the `sqlite3` shell. Sub-second precision is dropped: chargers report
whole seconds and the reference history did too.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_utc(moment: datetime) -> str:
    """`2025-03-04T10:00:08Z`; refuses naive datetimes, whose zone nobody can know later."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; pass an aware UTC datetime")
    return moment.astimezone(UTC).strftime(_FORMAT)


def format_optional(moment: datetime | None) -> str | None:
    return None if moment is None else format_utc(moment)


def parse_utc(text: str) -> datetime:
    """Inverse of `format_utc`; also accepts any RFC 3339 offset or fraction (converted to UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone (expected e.g. 2025-03-04T10:00:08Z)")
    return value.astimezone(UTC).replace(microsecond=0)


def parse_optional(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def compact_utc(moment: datetime) -> str:
    """`20250304T100008Z`, the form used inside session ids."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
