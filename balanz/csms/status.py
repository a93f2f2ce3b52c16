"""Connector status bookkeeping from StatusNotification (flows.md §2.5), as plain data.

Each connector keeps its current status and a bounded history of changes for the monitor; connector 0 is
the charger as a whole. ``apply_status`` returns the new state plus the facts the shell acts on: did the
connector enter or leave the active set (allocation.md R2/R3), does R9 want a 0 A usage sample
(``SuspendedEV``), is this a connector number the configuration does not know (a runtime connector must be
created, with a warning).

A notification whose own ``timestamp`` is older than the one already applied is recorded in the history
as late but does not overwrite the current status: chargers that queue status messages while offline
would otherwise roll the connector back to a state it has left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import parse_timestamp

logger = logging.getLogger(__name__)

STATUSES = frozenset(
    {"Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing"}
    | {"Reserved", "Unavailable", "Faulted"}
)
ERROR_CODES = frozenset(
    {"ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError"}
    | {"LocalListConflict", "NoError", "OtherError", "OverCurrentFailure", "PowerMeterFailure"}
    | {"PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "OverVoltage", "WeakSignal"}
)
_PLUGGED = frozenset({"Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing"})
_ACTIVE = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})
DEFAULT_HISTORY = 20


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of a connector's history. ``late``: arrived after a newer one and was not applied."""

    at: datetime
    status: str
    error_code: str = "NoError"
    info: str = ""
    vendor_error_code: str = ""
    reported_at: datetime | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """Current status of one connector (0 = the charger) and its recent changes, oldest first."""

    connector_id: int
    status: str | None = None
    error_code: str = "NoError"
    info: str = ""
    vendor_id: str = ""
    vendor_error_code: str = ""
    since: datetime | None = None
    updated: datetime | None = None
    reported_at: datetime | None = None
    history: tuple[StatusChange, ...] = ()

    @property
    def known(self) -> bool:
        """False until the charger has reported this connector (R2: never-reported counts as pinned)."""
        return self.status is not None

    @property
    def plugged(self) -> bool:
        return self.status in _PLUGGED

    @property
    def charging(self) -> bool:
        return self.status == "Charging"

    @property
    def suspended_ev(self) -> bool:
        return self.status == "SuspendedEV"

    @property
    def suspended_evse(self) -> bool:
        return self.status == "SuspendedEVSE"

    @property
    def faulted(self) -> bool:
        return self.status == "Faulted"

    @property
    def has_error(self) -> bool:
        """An error code other than NoError; chargers also send warnings this way while charging on."""
        return self.error_code != "NoError"

    @property
    def unavailable(self) -> bool:
        return self.status == "Unavailable"

    def active(self, has_transaction: bool = False) -> bool:
        """R2: Charging / SuspendedEV / SuspendedEVSE, or Preparing while a live transaction exists."""
        return self.status in _ACTIVE or (self.status == "Preparing" and has_transaction)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The outcome of one StatusNotification."""

    state: ConnectorStatus
    changed: bool
    applied: bool
    entered_active: bool = False
    left_active: bool = False
    add_zero_usage: bool = False
    new_connector: bool = False
    warnings: tuple[str, ...] = ()


def apply_status(
    current: ConnectorStatus | None,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    configured_connectors: int,
    has_transaction: bool = False,
    history_limit: int = DEFAULT_HISTORY,
    retiming: Retiming | None = None,
) -> StatusUpdate:
    """Apply one StatusNotification payload (camelCase) received at ``now`` to the connector's state.

    ``current`` is None for a connector seen for the first time. An unknown status keeps the previous one
    (with a warning); an unknown error code is kept as sent (the monitor shows it) with a warning.
    ``retiming`` puts the charger's timestamp on balanz's timeline before the lateness check: compared raw,
    one reading from a clock a year ahead would make every status after an NTP fix look late for a year.
    """
    connector_id = int(payload.get("connectorId", 0))
    state = current if current is not None else ConnectorStatus(connector_id)
    warnings: list[str] = []
    new_connector = current is None and connector_id > configured_connectors
    if new_connector:
        warnings.append(
            f"connector {connector_id} is not configured (charger has {configured_connectors}); "
            "created with defaults — add it to the charger's configuration"
        )
    status = payload.get("status")
    error_code = payload.get("errorCode") or "NoError"
    if error_code not in ERROR_CODES:
        warnings.append(f"connector {connector_id}: unknown errorCode {error_code!r}")
    if status not in STATUSES:
        warnings.append(f"connector {connector_id}: unknown status {status!r}, previous status kept")
        return StatusUpdate(
            state, changed=False, applied=False, new_connector=new_connector, warnings=tuple(warnings)
        )
    reported_at = parse_timestamp(payload.get("timestamp"))
    if reported_at is not None and retiming is not None:
        reported_at += retiming.shift(reported_at, now)
    change = StatusChange(
        at=now,
        status=status,
        error_code=error_code,
        info=str(payload.get("info") or ""),
        vendor_error_code=str(payload.get("vendorErrorCode") or ""),
        reported_at=reported_at,
    )
    late = reported_at is not None and state.reported_at is not None and reported_at < state.reported_at
    if late:
        history = (*state.history, replace(change, late=True))[-history_limit:]
        warnings.append(
            f"connector {connector_id}: {status} reported for {reported_at} arrived late, not applied"
        )
        return StatusUpdate(
            replace(state, history=history),
            changed=False,
            applied=False,
            new_connector=new_connector,
            warnings=tuple(warnings),
        )
    changed = (status, error_code) != (state.status, state.error_code)
    was_active = state.active(has_transaction)
    new_state = replace(
        state,
        status=status,
        error_code=error_code,
        info=change.info,
        vendor_id=str(payload.get("vendorId") or ""),
        vendor_error_code=change.vendor_error_code,
        since=now if changed else state.since,
        updated=now,
        reported_at=reported_at if reported_at is not None else state.reported_at,
        history=(*state.history, change)[-history_limit:] if changed else state.history,
    )
    is_active = new_state.active(has_transaction)
    return StatusUpdate(
        new_state,
        changed=changed,
        applied=True,
        entered_active=is_active and not was_active,
        left_active=was_active and not is_active,
        add_zero_usage=changed and status == "SuspendedEV" and state.status != "SuspendedEV",
        new_connector=new_connector,
        warnings=tuple(warnings),
    )
