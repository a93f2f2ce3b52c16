"""UTC timestamps as the store writes them: RFC 3339 with `Z`.

Whole seconds are written as `2025-03-04T10:00:08Z`; a fraction the charger sent is kept
(`2025-03-04T10:00:08.250000Z`) so records read back unchanged. Filters compare whole-second bounds as
text; a fractional time in the same second as a bound sorts before it (`.` < `Z`), which can only shift a
session started within that very second.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(moment: datetime) -> str:
    """Refuses naive datetimes, whose zone nobody can know later."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; pass an aware UTC datetime")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def format_optional(moment: datetime | None) -> str | None:
    return None if moment is None else format_utc(moment)


def format_seconds(moment: datetime) -> str:
    """Whole seconds, for exports and tables."""
    return format_utc(moment.replace(microsecond=0))


def parse_utc(text: str) -> datetime:
    """Inverse of `format_utc`; also accepts any RFC 3339 offset (converted to UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone (expected e.g. 2025-03-04T10:00:08Z)")
    return value.astimezone(UTC)


def parse_optional(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)
