"""The minimum a charger needs to come online: BootNotification, Heartbeat, StatusNotification.

Kept in memory only; connector status goes through ``balanz.csms.status.apply_status``. The fuller CSMS
mode (authorization, transactions, the store) registers its own actions on the same ``Registry`` and reads
``chargers`` / ``statuses`` from here, or replaces a handler with ``registry.add(action, fn, replace=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ocpp.charge_point import snake_to_camel_case
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, RegistrationStatus

from balanz.clock import SiteClock
from balanz.config.schema import Config
from balanz.csms.status import ConnectorStatus, apply_status
from balanz.wire import OcppConnection, Registry

log = logging.getLogger(__name__)


def ocpp_time(moment: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a ``Z``, the form chargers parse most reliably."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class ChargerIdentity:
    vendor: str
    model: str
    serial: str | None
    firmware: str | None
    booted_at: datetime


class CoreHandlers:
    def __init__(self, config: Config, *, now: Callable[[], datetime] | None = None) -> None:
        self.config = config.csms
        self.now = now or SiteClock().now
        self._connectors = {c.id: c.connectors for c in config.charger}
        self.chargers: dict[str, ChargerIdentity] = {}
        self.statuses: dict[tuple[str, int], ConnectorStatus] = {}

    def register(self, registry: Registry) -> None:
        registry.add(Action.boot_notification, self.boot_notification)
        registry.add(Action.heartbeat, self.heartbeat)
        registry.add(Action.status_notification, self.status_notification)

    def boot_notification(
        self,
        conn: OcppConnection,
        charge_point_vendor: str,
        charge_point_model: str,
        charge_point_serial_number: str | None = None,
        charge_box_serial_number: str | None = None,
        firmware_version: str | None = None,
        **_other: object,
    ) -> call_result.BootNotification:
        identity = ChargerIdentity(
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial=charge_point_serial_number or charge_box_serial_number,
            firmware=firmware_version,
            booted_at=self.now(),
        )
        self.chargers[conn.charger_id] = identity
        log.info(
            "charger %s booted: %s %s serial %s firmware %s",
            conn.charger_id,
            identity.vendor,
            identity.model,
            identity.serial,
            identity.firmware,
        )
        return call_result.BootNotification(
            current_time=ocpp_time(identity.booted_at),
            interval=self.config.heartbeat_interval_s,
            status=RegistrationStatus.accepted,
        )

    def heartbeat(self, conn: OcppConnection, **_other: object) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_time(self.now()))

    def status_notification(self, conn: OcppConnection, **payload: object) -> call_result.StatusNotification:
        key = (conn.charger_id, int(str(payload["connector_id"])))
        update = apply_status(
            self.statuses.get(key),
            snake_to_camel_case(payload),
            now=self.now(),
            configured_connectors=self._connectors.get(conn.charger_id, 0),
        )
        for warning in update.warnings:
            log.warning("charger %s: %s", conn.charger_id, warning)
        self.statuses[key] = update.state
        if update.changed:
            log.info("charger %s connector %d: %s (%s)", *key, update.state.status, update.state.error_code)
        return call_result.StatusNotification()
