"""How snapshot values read on screen: pure functions from snapshot data to short strings.

Kept apart from the widgets so the wording is tested without a terminal, and so every widget shows the same
number the same way ("—" for unknown, amperes with one decimal, times relative to the snapshot's own clock).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from balanz.control.snapshot import Charger, Connector, Group

logger = logging.getLogger(__name__)

UNKNOWN = "—"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("charger", "Charger"),
    ("conn", "#"),
    ("status", "Status"),
    ("prio", "Prio"),
    ("target", "Tgt"),
    ("offer", "Offer"),
    ("usage", "Use"),
    ("cap", "Cap"),
    ("kwh", "kWh"),
    ("tag", "Tag"),
    ("since", "Since"),
    ("group", "Group"),
    ("flags", "Flags"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)


def amps(value: float | None) -> str:
    return UNKNOWN if value is None else f"{value:.1f}"


def phases(values: Iterable[float]) -> str:
    parts = [f"{v:.1f}" for v in values]
    return "/".join(parts) if parts else UNKNOWN


_zone: tuple[str, tzinfo | None] = ("", None)


def set_zone(name: str) -> None:
    """Show times in the site's zone (the snapshot's ``site.timezone``, i.e. ``allocator.timezone``): the
    schedule slots are written in it, so "next 18:00" must mean the same clock as "07:00-17:59". The daemon
    sends UTC; an empty or unknown zone leaves times as sent."""
    global _zone
    if name == _zone[0]:
        return
    try:
        _zone = (name, ZoneInfo(name) if name else None)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown site timezone %r: times shown as the daemon sent them", name)
        _zone = (name, None)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    zone = _zone[1]
    return parsed.astimezone(zone) if zone is not None and parsed.tzinfo is not None else parsed


def clock(value: str | None) -> str:
    """``HH:MM`` of a timestamp as the daemon sent it (already in site time when it carries an offset)."""
    parsed = parse_time(value)
    return UNKNOWN if parsed is None else parsed.strftime("%H:%M")


def relative(value: str | None, now: str) -> str:
    """``in 1h05m`` / ``3m ago`` between two snapshot timestamps; ``—`` when either is unknown."""
    when, ref = parse_time(value), parse_time(now)
    if when is None or ref is None:
        return UNKNOWN
    seconds = int((when - ref).total_seconds())
    text = duration(abs(seconds))
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def priority(connector: Connector) -> str:
    if connector.priority is None:
        return UNKNOWN
    source = connector.priority_source[:1]
    return f"{connector.priority}{source}" if source and source != "d" else str(connector.priority)


def flags(charger: Charger, connector: Connector) -> str:
    marks = []
    if not charger.connected:
        marks.append("offline")
    if connector.suspended:
        marks.append("susp")
    marks.extend(connector.flags)
    return ",".join(marks)


def row(charger: Charger, connector: Connector) -> tuple[str, ...]:
    """The table cells of one connector, in ``COLUMNS`` order."""
    session = connector.session
    usage = max(connector.usage_a) if connector.usage_a else None
    return (
        charger.name,
        str(connector.id),
        connector.status,
        priority(connector),
        amps(connector.target_a),
        amps(connector.offer_a),
        amps(usage),
        amps(connector.ev_cap_a),
        UNKNOWN if session is None else f"{session.energy_wh / 1000:.2f}",
        "" if session is None else session.id_tag,
        "" if session is None else clock(session.started_at),
        charger.group,
        flags(charger, connector),
    )


def sort_key(cell: object) -> tuple[int, float, str]:
    """Numbers first, numerically, then text, then unknowns (first when the sort is reversed)."""
    text = str(cell)
    head = text.split(",")[0].rstrip("stcd")
    try:
        return (0, float(head), text)
    except ValueError:
        return (2, 0.0, text) if text in (UNKNOWN, "") else (1, 0.0, text.lower())


def matches(charger: Charger, connector: Connector, needle: str) -> bool:
    """The filter: every word of ``needle`` must appear in the charger id, alias, group, status or tag."""
    if not needle.strip():
        return True
    session = connector.session
    hay = " ".join(
        (charger.id, charger.alias, charger.group, connector.status, session.id_tag if session else "")
    ).lower()
    return all(word in hay for word in needle.lower().split())


def bar(used: float, offered: float, limit: float | None, width: int) -> str:
    """Drawn ``█``, offered but not drawn ``▒``, free up to the limit ``░``; scaled to the largest value."""
    scale = max(used, offered, limit or 0.0, 1e-9)

    def cells(value: float) -> int:
        return max(0, min(width, round(value / scale * width)))

    drawn = cells(used)
    offer = max(drawn, cells(offered))
    total = max(offer, cells(limit) if limit is not None else offer)
    return "█" * drawn + "▒" * (offer - drawn) + "░" * (total - offer) + " " * (width - total)


def pack(parts: list[str], width: int, joiner: str = " · ") -> list[str]:
    """Join ``parts`` into lines of at most ``width`` where possible, breaking only between parts (a wrapped
    "next 18:00 (in 1h41m) 0=32" must not split inside a value); continuation lines are indented."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(joiner) + len(part) <= width:
            lines[-1] += joiner + part
        else:
            lines.append(part if not lines else "  " + part)
    return lines or [""]


def group_lines(group: Group, now: str, width: int) -> list[str]:
    """A group as the overview shows it: title with slot and next change, then one bar per phase."""
    title = [group.id]
    if group.slot is not None:
        title.append(f"slot {group.slot.label} ({group.slot.limit_a:g} A)")
    if group.next_change is not None:
        nxt = group.next_change
        quotas = ":".join(f"{q.threshold}={q.amps:g}" for q in nxt.slot.quotas)
        title.append(f"next {clock(nxt.at)} ({relative(nxt.at, now)}) {quotas}".rstrip())
    external = group.external
    if external is not None:
        if external.stale:
            title.append(f"external stale: fallback {external.fallback_a:g} A")
        else:
            title.append(f"external {amps(external.limit_a)} A until {clock(external.until)}")
    if group.override is not None:
        title.append(f"override {group.override.limit_a:g} A until {clock(group.override.until)}")
    if group.suspended:
        title.append("SUSPENDED")
    if group.recovery_excess_a:
        title.append(f"recovery +{group.recovery_excess_a:.1f} A")
    if group.lookahead:
        title.append("look-ahead")
    lines = pack(title, width)
    if not group.allocation:
        return lines
    n = max(len(group.offered_a), len(group.used_a), 1)
    label_width = 46
    bar_width = max(8, width - label_width)
    for i in range(n):
        used = group.used_a[i] if i < len(group.used_a) else 0.0
        offered = group.offered_a[i] if i < len(group.offered_a) else 0.0
        exposure = UNKNOWN if i >= len(group.exposure_a) else f"{group.exposure_a[i]:.1f}"
        numbers = f"use {used:5.1f} off {offered:5.1f} exp {exposure:>5} lim {amps(group.limit_a):>5}"
        lines.append(f" L{i + 1} {bar(used, offered, group.limit_a, bar_width)} {numbers}")
    return lines
