"""One connector's state and the status OCPP 1.6 draws for it (ocpp-1.6-edition2.txt §4.9, errata 3.55).

Pure: events return a new `Connector`; the status is derived from the state, never stored, so the shell
sends a StatusNotification exactly when `status(before) != status(after)`. The order of precedence:
Faulted, then Unavailable (when no transaction holds the connector), then the transaction's EV-driven
status (Charging / SuspendedEV / SuspendedEVSE), then Finishing (stopped, cable still in), Preparing
(cable in or a tag presented), Available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from balanz.sim.ev import EvStatus

logger = logging.getLogger(__name__)


class Status(StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Availability(StrEnum):
    ACCEPTED = "Accepted"
    SCHEDULED = "Scheduled"


@dataclass(frozen=True)
class Connector:
    id: int
    plugged: bool = False
    tag: str | None = None
    """The tag authorized for the next (or the running) transaction."""
    starting: bool = False
    """StartTransaction sent, its answer not yet in."""
    transaction_id: int | None = None
    transaction_start: datetime | None = None
    finishing: bool = False
    operative: bool = True
    inoperative_after_transaction: bool = False
    fault: str | None = None
    ev_status: EvStatus = EvStatus.SUSPENDED_EV
    meter_wh: float = 0.0
    """The connector's energy register (Energy.Active.Import.Register); survives reboots."""

    @property
    def in_transaction(self) -> bool:
        return self.starting or self.transaction_id is not None


def status(c: Connector) -> Status:
    if c.fault is not None:
        return Status.FAULTED
    if c.in_transaction:
        return {
            EvStatus.CHARGING: Status.CHARGING,
            EvStatus.SUSPENDED_EVSE: Status.SUSPENDED_EVSE,
        }.get(c.ev_status, Status.SUSPENDED_EV)
    if not c.operative:
        return Status.UNAVAILABLE
    if c.finishing and c.plugged:
        return Status.FINISHING
    if c.plugged or c.tag is not None:
        return Status.PREPARING
    return Status.AVAILABLE


def error_code(c: Connector) -> str:
    return c.fault or "NoError"


def usable(c: Connector) -> bool:
    """Free for a new transaction: operative, not faulted, none running or finishing."""
    return c.operative and c.fault is None and not c.in_transaction and not c.finishing


def plug(c: Connector) -> Connector:
    return replace(c, plugged=True, finishing=False, ev_status=EvStatus.SUSPENDED_EV)


def unplug(c: Connector) -> Connector:
    return replace(c, plugged=False, finishing=False, tag=None)


def authorize(c: Connector, tag: str) -> Connector:
    return replace(c, tag=tag)


def ready_to_start(c: Connector) -> bool:
    return c.plugged and c.tag is not None and usable(c)


def start_requested(c: Connector) -> Connector:
    return replace(c, starting=True)


def started(c: Connector, transaction_id: int, at: datetime) -> Connector:
    return replace(c, starting=False, transaction_id=transaction_id, transaction_start=at)


def start_refused(c: Connector) -> Connector:
    """StartTransaction answered with an idTag not Accepted: the charger does not energize."""
    return replace(c, starting=False, tag=None, finishing=c.plugged)


def stopped(c: Connector) -> Connector:
    """The transaction ended; a ChangeAvailability(Inoperative) that was Scheduled takes effect now."""
    operative = c.operative and not c.inoperative_after_transaction
    return replace(
        c,
        starting=False,
        transaction_id=None,
        transaction_start=None,
        tag=None,
        finishing=c.plugged,
        operative=operative,
        inoperative_after_transaction=False,
        ev_status=EvStatus.SUSPENDED_EV,
    )


def change_availability(c: Connector, operative: bool) -> tuple[Connector, Availability]:
    """ChangeAvailability: a running transaction defers Inoperative until it ends (§5.2)."""
    if not operative and c.in_transaction:
        return replace(c, inoperative_after_transaction=True), Availability.SCHEDULED
    return replace(c, operative=operative, inoperative_after_transaction=False), Availability.ACCEPTED


def rebooted(c: Connector) -> Connector:
    """After a reboot only the hardware facts remain: the cable, availability, fault and the register."""
    return Connector(c.id, plugged=c.plugged, operative=c.operative, fault=c.fault, meter_wh=c.meter_wh)
