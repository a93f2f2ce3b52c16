"""CSMS answers to the charger messages that are not about transactions (flows.md §2.3–2.5, §2.11).

BootNotification, Heartbeat and StatusNotification replace the in-memory ones of ``core_handlers``;
DataTransfer and the notifications balanz does not act on are answered as the spec requires and logged,
never with NotImplemented. ``register_csms`` puts these and the transaction handlers on a registry.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.v16.enums import Action

from balanz.csms.meter_values import status_usage_sample
from balanz.csms.service import CsmsService
from balanz.csms.status import apply_status
from balanz.csms.tags import format_time
from balanz.csms.transaction_handlers import TransactionHandlers
from balanz.events import ChargerBooted, StatusChanged
from balanz.store import StoreUnavailable
from balanz.wire import OcppConnection, Registry

log = logging.getLogger(__name__)

ACCEPTED, PENDING, REJECTED = "Accepted", "Pending", "Rejected"
PENDING_RETRY_S = 60


class CsmsHandlers:
    def __init__(self, service: CsmsService) -> None:
        self.service = service
        self.transactions = TransactionHandlers(service)

    def register(self, registry: Registry) -> None:
        registry.add(Action.boot_notification, self.boot_notification, replace=True)
        registry.add(Action.heartbeat, self.heartbeat, replace=True)
        registry.add(Action.status_notification, self.status_notification, replace=True)
        registry.add(Action.data_transfer, self.data_transfer, replace=True)
        for action in (
            Action.diagnostics_status_notification,
            Action.firmware_status_notification,
            Action.signed_firmware_status_notification,
            Action.log_status_notification,
            Action.security_event_notification,
        ):
            registry.add(action, self.notification(str(action)), replace=True)
        registry.add(Action.sign_certificate, self.sign_certificate, replace=True)
        self.transactions.register(registry)

    async def boot_notification(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        svc = self.service
        cid = conn.charger_id
        now = svc.seen(cid)
        interval = svc.config.csms.heartbeat_interval_s
        # Accepted: configured, stored, or autoregistered now. Rejected: unknown (the listener refuses those
        # with 404 unless a custom ``is_known`` let it through). Pending: its registration cannot be
        # stored yet, so it asks again after ``PENDING_RETRY_S``.
        try:
            status = ACCEPTED if await svc.admit(conn) else REJECTED
        except StoreUnavailable:
            status, interval = PENDING, PENDING_RETRY_S
        p = snake_to_camel_case(payload)
        identity = {
            "vendor": str(p.get("chargePointVendor", "")),
            "model": str(p.get("chargePointModel", "")),
            "serial": p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
            "firmware": p.get("firmwareVersion"),
            "meter_type": p.get("meterType"),
            "meter_serial": p.get("meterSerialNumber"),
            "iccid": p.get("iccid"),
            "imsi": p.get("imsi"),
        }
        log.info(
            "charger %s booted (%s): %s %s serial %s firmware %s",
            cid,
            status,
            identity["vendor"],
            identity["model"],
            identity["serial"],
            identity["firmware"],
        )
        if svc.known(cid):
            svc.update_charger(cid, boot_status=status, booted_at=now, **identity)
            svc.audit("BOOT", f"BootNotification answered {status}", cid, **identity)
        else:
            log.warning("charger %s is not configured: BootNotification answered %s", cid, status)
        svc.events.publish(
            ChargerBooted(cid, now, status, identity["vendor"], identity["model"], identity["firmware"])
        )
        return {"status": status, "currentTime": format_time(now), "interval": interval}

    def heartbeat(self, conn: OcppConnection, **_payload: Any) -> dict[str, Any]:
        return {"currentTime": format_time(self.service.seen(conn.charger_id))}

    async def status_notification(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        svc = self.service
        cid = conn.charger_id
        now, p = await svc.receive(conn, payload)
        connector_id = int(p["connectorId"])
        charger = svc.charger(cid)
        configured = charger.connectors if charger else 0
        current = svc.connector(cid, connector_id)
        view = svc.ensure_connector(cid, connector_id)
        update = apply_status(
            current.status if current is not None and current.status.known else None,
            p,
            now=now,
            configured_connectors=configured if current is None else max(configured, connector_id),
            has_transaction=view.transaction is not None,
            retiming=svc.retiming(cid, now),
        )
        for warning in update.warnings:
            log.warning("charger %s: %s", cid, warning)
        meter = status_usage_sample(view.meter, now) if update.add_zero_usage else view.meter
        svc.set_connector(replace(view, status=update.state, meter=meter))
        if update.new_connector and charger is not None and charger.autoregistered:
            await self._grow_runtime_charger(cid, connector_id)
        if update.changed:
            log.info(
                "charger %s connector %d: %s (%s)",
                cid,
                connector_id,
                update.state.status,
                update.state.error_code,
            )
            svc.events.publish(
                StatusChanged(
                    cid,
                    connector_id,
                    now,
                    update.state.status or "",
                    update.state.error_code,
                    update.entered_active,
                    update.left_active,
                )
            )
        return {}

    async def _grow_runtime_charger(self, charger_id: str, connectors: int) -> None:
        svc = self.service
        stored = svc.store.runtime_charger(charger_id)
        if stored is None or stored.connectors >= connectors:
            return
        try:
            await svc.durable(
                f"connector count of {charger_id}",
                lambda: svc.store.update_runtime_charger(replace(stored, connectors=connectors)),
            )
        except StoreUnavailable:
            return
        svc.update_charger(charger_id, connectors=connectors)

    def data_transfer(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        p = snake_to_camel_case(payload)
        log.info(
            "charger %s: DataTransfer vendor %r message %r answered UnknownVendorId (data %.200r)",
            conn.charger_id,
            p.get("vendorId"),
            p.get("messageId"),
            p.get("data"),
        )
        return {"status": "UnknownVendorId"}

    def notification(self, action: str) -> Any:
        """A handler that records a notification balanz only shows (and audits) and answers ``{}``."""

        def handle(conn: OcppConnection, **payload: Any) -> dict[str, Any]:
            svc = self.service
            svc.seen(conn.charger_id)
            p = snake_to_camel_case(payload)
            log.info("charger %s: %s %s", conn.charger_id, action, p)
            status = p.get("status")
            if svc.known(conn.charger_id) and action == "DiagnosticsStatusNotification":
                svc.update_charger(conn.charger_id, diagnostics_status=status)
            elif svc.known(conn.charger_id) and action.endswith("FirmwareStatusNotification"):
                svc.update_charger(conn.charger_id, firmware_status=status)
                svc.audit("FIRMWARE", f"{action}: {status}", conn.charger_id, **p)
            elif action == "SecurityEventNotification":
                svc.audit("SECURITY", f"{p.get('type')}: {p.get('techInfo', '')}", conn.charger_id, **p)
            return {}

        handle.__qualname__ = f"CsmsHandlers.notification[{action}]"
        return handle

    def sign_certificate(self, conn: OcppConnection, **_payload: Any) -> dict[str, Any]:
        log.info(
            "charger %s: SignCertificate answered Rejected (balanz signs no certificates)", conn.charger_id
        )
        return {"status": "Rejected"}
