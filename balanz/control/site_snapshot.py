"""The monitor's snapshot built from CSMS state, the operator's intents and optional providers.

CSMS mode knows connection, status, meter and session per connector; it does not know what the allocator
decided. The allocator shell adds that through providers: functions ``Snapshot -> Snapshot`` run in order
after the CSMS part (filling group limits, offers, exposure, reasons), so this module never needs to know
the allocator's internals. Without providers the allocation fields stay empty rather than guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from balanz.config.schema import Config
from balanz.control.intents import OperatorIntents
from balanz.control.snapshot import (
    Charger,
    Connector,
    Group,
    LimitOverride,
    Meter,
    Phases,
    Session,
    Site,
    Snapshot,
)
from balanz.csms.meter_values import ConnectorMeter
from balanz.csms.service import ChargerView, ConnectorView, CsmsSnapshot
from balanz.store import PriorityOverride

logger = logging.getLogger(__name__)

SnapshotProvider = Callable[[Snapshot], Snapshot]


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the builder reads besides CSMS state: all plain values, so ``build_snapshot`` stays pure."""

    config: Config
    version: str
    started_at: datetime | None
    priority_overrides: Mapping[tuple[str, int], PriorityOverride]
    suspended_groups: Mapping[str, datetime]
    intents: OperatorIntents
    warnings: tuple[str, ...] = ()


def build_snapshot(
    csms: CsmsSnapshot, facts: SiteFacts, providers: Sequence[SnapshotProvider] = ()
) -> Snapshot:
    config = facts.config
    by_charger: dict[str, list[ConnectorView]] = {}
    for view in csms.connectors:
        if view.connector_id > 0:
            by_charger.setdefault(view.charger_id, []).append(view)
    chargers = tuple(
        _charger(view, by_charger.get(view.charger_id, []), facts, csms.at) for view in csms.chargers
    )
    site = Site(
        name=config.source.stem if config.source is not None else "",
        mode=config.mode.kind,
        smart_charging=config.mode.smart_charging,
        version=facts.version,
        started_at=iso(facts.started_at),
        timezone=config.allocator.timezone,
        warnings=facts.warnings,
    )
    snapshot = Snapshot(
        at=iso(csms.at), site=site, groups=_groups(config, chargers, facts), chargers=chargers
    )
    for provider in providers:
        snapshot = provider(snapshot)
    return snapshot


def _groups(config: Config, chargers: Iterable[Charger], facts: SiteFacts) -> tuple[Group, ...]:
    """Every configured group (and any group a runtime charger names); ``used_a`` counts the group's own
    chargers and those of its subgroups, as a supply limit does."""
    configured = {g.id: g for g in config.group}
    usage: dict[str, list[Phases]] = {}
    named: set[str] = set()
    for charger in chargers:
        named.add(charger.group)
        group_id: str | None = charger.group
        seen: set[str] = set()
        while group_id and group_id not in seen:
            seen.add(group_id)
            usage.setdefault(group_id, []).extend(co.usage_a for co in charger.connectors)
            parent = configured.get(group_id)
            group_id = parent.parent if parent else None
    out = []
    for group_id in sorted(set(configured) | {g for g in named if g}):
        cfg = configured.get(group_id)
        limit = facts.intents.group_limits.get(group_id)
        out.append(
            Group(
                id=group_id,
                description=cfg.description if cfg else "not configured (autoregistered chargers)",
                parent=cfg.parent if cfg else None,
                allocation=bool(cfg and cfg.max_allocation),
                used_a=_sum_phases(usage.get(group_id, [])),
                override=LimitOverride(limit.limit_a, iso(limit.until), limit.set_by) if limit else None,
                suspended=group_id in facts.suspended_groups,
            )
        )
    return tuple(out)


def _sum_phases(values: Iterable[Phases]) -> Phases:
    total = [0.0, 0.0, 0.0]
    seen = False
    for phases in values:
        for index, value in enumerate(phases[:3]):
            total[index] += value
            seen = True
    return tuple(round(v, 3) for v in total) if seen else ()


def _charger(view: ChargerView, connectors: list[ConnectorView], facts: SiteFacts, now: datetime) -> Charger:
    configured = next((c for c in facts.config.charger if c.id == view.charger_id), None)
    return Charger(
        id=view.charger_id,
        alias=view.alias or "",
        group=view.group_id,
        description=configured.description if configured else "autoregistered" if view.autoregistered else "",
        connected=view.connected,
        vendor=view.vendor,
        model=view.model,
        firmware=view.firmware or "",
        serial=view.serial or "",
        boot_at=iso(view.booted_at) or None,
        last_seen=iso(view.last_seen) or None,
        priority=configured.priority if configured else None,
        clock_offset_s=view.clock_offset_s,
        connectors=tuple(_connector(c, facts) for c in connectors),
    )


def _usage(meter: ConnectorMeter) -> Phases:
    phases = meter.usage_phases_a
    if any(v is not None for v in phases):
        return tuple(v or 0.0 for v in phases)
    return (meter.usage_a.value,) if meter.usage_a is not None else ()


def _connector(view: ConnectorView, facts: SiteFacts) -> Connector:
    key = (view.charger_id, view.connector_id)
    tx = view.transaction
    override = facts.priority_overrides.get(key)
    if override is not None and tx is not None and override.transaction_id not in (None, tx.transaction_id):
        override = None
    if override is not None:
        priority, source = override.priority, "operator"
    elif tx is not None and tx.priority is not None:
        priority, source = tx.priority, tx.priority_source
    else:
        priority, source = None, ""
    suspended_at = facts.intents.suspended_connectors.get(key)
    meter = view.meter
    session = None
    if tx is not None:
        session = Session(
            transaction_id=tx.transaction_id,
            id_tag=tx.id_tag,
            user=tx.user_name,
            started_at=iso(tx.start_time),
            energy_wh=tx.energy_wh or 0.0,
            priority_override=override.priority if override else None,
        )
    return Connector(
        id=view.connector_id,
        status=view.status.status or "Unavailable",
        error_code="" if view.status.error_code == "NoError" else view.status.error_code,
        priority=priority,
        priority_source=source,
        usage_a=_usage(meter),
        suspended=suspended_at is not None,
        suspend_reason=f"operator, since {iso(suspended_at)}" if suspended_at else "",
        session=session,
        meter=_meter(meter),
        flags=tuple(sorted(tx.flags)) if tx is not None else (),
    )


def _meter(meter: ConnectorMeter) -> Meter | None:
    stamps = [s for s in (meter.usage_a, meter.power_w, meter.register_wh, meter.offered_a) if s is not None]
    if not stamps:
        return None
    return Meter(
        at=iso(max(s.at for s in stamps)),
        energy_wh=meter.register_wh.value if meter.register_wh else None,
        power_w=meter.power_w.value if meter.power_w else None,
        current_a=_usage(meter),
        voltage_v=tuple(v for v in meter.voltage_v if v is not None),
        offered_a=meter.offered_a.value if meter.offered_a else None,
        soc_percent=meter.soc_percent.value if meter.soc_percent else None,
    )
