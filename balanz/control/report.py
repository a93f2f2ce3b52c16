"""``balanz status`` as text: the site, each group's limit against offered and used, then every connector.

Plain lines that read well in a terminal, a log or an e-mail; ``--json`` gives the full snapshot instead.
"""

from __future__ import annotations

import logging

from balanz.control.snapshot import Group, Snapshot

logger = logging.getLogger(__name__)


def _a(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _phases(values: tuple[float, ...]) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "-"


def _group_line(group: Group) -> str:
    parts = [f"group {group.id}"]
    if group.parent:
        parts.append(f"(in {group.parent})")
    if group.allocation:
        parts.append(f"limit {_a(group.limit_a)} A")
        parts.append(f"offered {_phases(group.offered_a)} A")
        parts.append(f"used {_phases(group.used_a)} A")
    else:
        parts.append("no allocation")
    if group.slot is not None and group.slot.label:
        parts.append(f"slot {group.slot.label}")
    if group.next_change is not None:
        parts.append(f"next change {group.next_change.at}")
    if group.suspended:
        parts.append("SUSPENDED")
    return " ".join(parts)


def status_text(snapshot: Snapshot) -> str:
    site = snapshot.site
    lines = [
        f"balanz {site.version} {site.mode.upper()} site {site.name or '-'} at {snapshot.at}".replace(
            "  ", " "
        ),
    ]
    if site.upstream is not None:
        up = site.upstream
        lines.append(f"upstream {up.url} legs up {up.legs_up} down {up.legs_down} outbox {up.outbox}")
    lines.extend(f"warning: {w}" for w in site.warnings)
    lines.extend(_group_line(g) for g in snapshot.groups)
    connectors = sum(len(c.connectors) for c in snapshot.chargers)
    online = sum(1 for c in snapshot.chargers if c.connected)
    lines.append(f"{len(snapshot.chargers)} chargers ({online} connected), {connectors} connectors")
    for charger in snapshot.chargers:
        for conn in charger.connectors:
            session = conn.session
            tag = session.id_tag if session else ""
            state = "" if charger.connected else " offline"
            prio = "-" if conn.priority is None else str(conn.priority)
            lines.append(
                f"  {charger.name:<16} #{conn.id} {conn.status:<13} offer {_a(conn.offer_a):>5} A"
                f" use {_phases(conn.usage_a):>14} A prio {prio} {tag}{state}".rstrip()
            )
    return "\n".join(lines)
