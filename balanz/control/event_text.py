"""CSMS bus events as the monitor's event log shows them: one line each, naming charger and connector.

Meter updates are not shown (several per second per charger would drown everything else); they reach the
monitor through the snapshot's usage columns instead.
"""

from __future__ import annotations

import logging

from balanz.control.protocol import Event
from balanz.control.site_snapshot import iso
from balanz.events import (
    ChargerBooted,
    ChargerConnected,
    ChargerDisconnected,
    MeterUpdated,
    StatusChanged,
    TransactionStarted,
)
from balanz.events import Event as BusEvent

logger = logging.getLogger(__name__)


def describe(event: BusEvent) -> Event | None:
    at = iso(event.at)
    if isinstance(event, MeterUpdated):
        return None
    if isinstance(event, ChargerConnected):
        return Event(at, "connection", f"{event.charger_id} connected", charger=event.charger_id)
    if isinstance(event, ChargerDisconnected):
        return Event(at, "connection", f"{event.charger_id} disconnected", charger=event.charger_id)
    if isinstance(event, ChargerBooted):
        text = (
            f"{event.charger_id} booted: {event.vendor} {event.model} {event.firmware or ''} → {event.status}"
        )
        return Event(at, "boot", text.replace("  ", " "), charger=event.charger_id)
    if isinstance(event, StatusChanged):
        error = "" if event.error_code == "NoError" else f" ({event.error_code})"
        where = f"{event.charger_id}/{event.connector_id}"
        return Event(
            at,
            "status",
            f"{where} {event.status}{error}",
            charger=event.charger_id,
            connector=event.connector_id,
        )
    if isinstance(event, TransactionStarted):
        tx = event.transaction
        where = f"{event.charger_id}/{event.connector_id}"
        return Event(
            at,
            "session",
            f"{where} transaction {tx.transaction_id} started (tag {tx.id_tag})",
            charger=event.charger_id,
            connector=event.connector_id,
        )
    record = event.record
    how = "closed by timeout" if event.stale else "ended"
    return Event(
        at,
        "session",
        f"{event.charger_id}/{event.connector_id} session {record.session_id} {how}: "
        f"{record.stop_reason}, {record.energy_wh} Wh",
        charger=event.charger_id,
        connector=event.connector_id,
    )
