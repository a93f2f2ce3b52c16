"""Operator commands to chargers (flows.md §2.12), callable from Python and later from the monitor socket.

Each command returns the charger's answer verbatim (``CommandAnswer``) or raises one ``CommandError``
subclass saying which of the four things went wrong: the request itself makes no sense
(``CommandRefused``), the charger is not connected (``ChargerOffline``), it did not answer in time
(``ChargerTimeout``), or it answered with a CALLERROR or an invalid answer (``ChargerFailed``). Calls go
through the connection's FIFO, one at a time per charger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from balanz.config.schema import FirmwareConfig
from balanz.control.requests import TRIGGER_MESSAGES
from balanz.csms.service import ChargerView, CsmsService
from balanz.csms.tags import format_time, normalize_id_tag
from balanz.wire import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    OcppConnection,
    PayloadInvalid,
    ResponseInvalid,
)

log = logging.getLogger(__name__)

TRIGGERABLE = TRIGGER_MESSAGES


class CommandError(Exception):
    def __init__(self, charger_id: str, action: str, message: str) -> None:
        super().__init__(f"{action} to charger {charger_id}: {message}")
        self.charger_id = charger_id
        self.action = action


class CommandRefused(CommandError):
    """balanz did not send anything: the request is invalid or unsafe (the message says why)."""


class ChargerOffline(CommandError):
    """The charger has no connection now, or lost it before answering."""


class ChargerTimeout(CommandError):
    """Sent, but no answer within ``server.call_timeout_s``."""


class ChargerFailed(CommandError):
    """The charger answered with a CALLERROR (``code``) or with a payload that breaks the schema."""

    def __init__(self, charger_id: str, action: str, message: str, code: str = "") -> None:
        super().__init__(charger_id, action, message)
        self.code = code


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    charger_id: str
    action: str
    request: dict[str, Any]
    answer: dict[str, Any]

    @property
    def status(self) -> str | None:
        value = self.answer.get("status")
        return str(value) if value is not None else None


def firmware_matches(firmware: FirmwareConfig, vendor: str, model: str, version: str | None) -> bool:
    """A catalogue entry fits a charger when vendor, model and current version fully match its regexes
    and the charger does not run the target version already."""
    if firmware.firmware_version and version == firmware.firmware_version:
        return False
    return bool(
        re.fullmatch(firmware.charge_point_vendor, vendor)
        and re.fullmatch(firmware.charge_point_model, model)
        and re.fullmatch(firmware.upgrade_from_versions, version or "")
    )


class CsmsOperator:
    def __init__(self, service: CsmsService, connection: Callable[[str], OcppConnection | None]) -> None:
        self.service = service
        self.connection = connection

    async def call(self, charger_id: str, action: str, request: dict[str, Any]) -> CommandAnswer:
        """Any CALL, raw; the typed commands below validate their arguments first."""
        conn = self.connection(charger_id)
        if conn is None or conn.closed:
            raise ChargerOffline(charger_id, action, "not connected")
        self.service.audit("COMMAND", f"{action} {request}", charger_id, action=action, request=request)
        try:
            answer = await conn.call_raw(action, request)
        except PayloadInvalid as exc:
            raise CommandRefused(charger_id, action, f"invalid request: {exc.description}") from exc
        except ConnectionLost as exc:
            raise ChargerOffline(charger_id, action, "connection closed before the answer") from exc
        except CallTimeout as exc:
            raise ChargerTimeout(charger_id, action, f"no answer within {exc.timeout_s:g} s") from exc
        except CallErrorReceived as exc:
            raise ChargerFailed(charger_id, action, f"{exc.code}: {exc.description}", exc.code) from exc
        except ResponseInvalid as exc:
            raise ChargerFailed(charger_id, action, str(exc), "ResponseInvalid") from exc
        log.info("charger %s: %s → %s", charger_id, action, answer)
        return CommandAnswer(charger_id, action, request, answer)

    def _charger(self, charger_id: str, action: str) -> ChargerView:
        view = self.service.charger(charger_id)
        if view is None:
            raise CommandRefused(charger_id, action, "unknown charger (not configured or registered)")
        return view

    def _connector(self, charger_id: str, connector_id: int, action: str, *, allow_zero: bool) -> None:
        """Configured connectors, and those the charger has reported, exist; 0 is the whole charger."""
        self._charger(charger_id, action)
        if (
            connector_id < (0 if allow_zero else 1)
            or self.service.connector(charger_id, connector_id) is None
        ):
            raise CommandRefused(charger_id, action, f"connector {connector_id} does not exist")

    async def remote_start(
        self, charger_id: str, id_tag: str, connector_id: int | None = None
    ) -> CommandAnswer:
        """Never with a charging profile: the allocator decides the current."""
        request: dict[str, Any] = {"idTag": normalize_id_tag(id_tag)}
        if connector_id is not None:
            self._connector(charger_id, connector_id, "RemoteStartTransaction", allow_zero=False)
            request["connectorId"] = connector_id
        else:
            self._charger(charger_id, "RemoteStartTransaction")
        return await self.call(charger_id, "RemoteStartTransaction", request)

    async def remote_stop(
        self, charger_id: str, connector_id: int | None = None, *, transaction_id: int | None = None
    ) -> CommandAnswer:
        """By connector (the id is looked up from the live transaction) or by transaction id."""
        action = "RemoteStopTransaction"
        self._charger(charger_id, action)
        if transaction_id is None:
            live = [
                v.transaction
                for v in self.service.charger_connectors(charger_id)
                if v.transaction is not None and (connector_id is None or v.connector_id == connector_id)
            ]
            if len(live) != 1:
                where = f"connector {connector_id}" if connector_id is not None else "this charger"
                raise CommandRefused(
                    charger_id, action, f"{len(live)} open transactions on {where}; name the connector"
                )
            transaction_id = live[0].transaction_id
        return await self.call(charger_id, action, {"transactionId": transaction_id})

    async def reset(self, charger_id: str, kind: str = "Soft") -> CommandAnswer:
        wanted = kind.strip().capitalize()
        if wanted not in ("Soft", "Hard"):
            raise CommandRefused(charger_id, "Reset", f"type {kind!r}: use soft or hard")
        self._charger(charger_id, "Reset")
        return await self.call(charger_id, "Reset", {"type": wanted})

    async def unlock(self, charger_id: str, connector_id: int) -> CommandAnswer:
        self._connector(charger_id, connector_id, "UnlockConnector", allow_zero=False)
        return await self.call(charger_id, "UnlockConnector", {"connectorId": connector_id})

    async def change_availability(self, charger_id: str, connector_id: int, operative: bool) -> CommandAnswer:
        self._connector(charger_id, connector_id, "ChangeAvailability", allow_zero=True)
        kind = "Operative" if operative else "Inoperative"
        return await self.call(charger_id, "ChangeAvailability", {"connectorId": connector_id, "type": kind})

    async def trigger(self, charger_id: str, message: str, connector_id: int | None = None) -> CommandAnswer:
        view = self._charger(charger_id, "TriggerMessage")
        if message not in TRIGGERABLE:
            raise CommandRefused(
                charger_id, "TriggerMessage", f"{message!r}: use one of {', '.join(TRIGGERABLE)}"
            )
        if message == "BootNotification" and view.boot_status == "Accepted":
            raise CommandRefused(
                charger_id,
                "TriggerMessage",
                "BootNotification not triggered: the charger is Accepted (errata)",
            )
        request: dict[str, Any] = {"requestedMessage": message}
        if connector_id is not None:
            request["connectorId"] = connector_id
        return await self.call(charger_id, "TriggerMessage", request)

    async def get_configuration(self, charger_id: str, keys: Sequence[str] = ()) -> CommandAnswer:
        self._charger(charger_id, "GetConfiguration")
        return await self.call(charger_id, "GetConfiguration", {"key": list(keys)} if keys else {})

    async def change_configuration(self, charger_id: str, key: str, value: str) -> CommandAnswer:
        self._charger(charger_id, "ChangeConfiguration")
        if key.strip().lower() == "authorizationkey":
            raise CommandRefused(
                charger_id, "ChangeConfiguration", "AuthorizationKey is provisioned by balanz; use reset-auth"
            )
        return await self.call(charger_id, "ChangeConfiguration", {"key": key, "value": value})

    async def clear_cache(self, charger_id: str) -> CommandAnswer:
        self._charger(charger_id, "ClearCache")
        return await self.call(charger_id, "ClearCache", {})

    def firmware_options(self, charger_id: str) -> list[FirmwareConfig]:
        """The ``[[firmware]]`` entries that fit the charger's last BootNotification."""
        view = self._charger(charger_id, "UpdateFirmware")
        if view.booted_at is None:
            return []
        return [
            f
            for f in self.service.config.firmware
            if firmware_matches(f, view.vendor, view.model, view.firmware)
        ]

    async def update_firmware(
        self,
        charger_id: str,
        firmware_id: str,
        *,
        retrieve_date: datetime | None = None,
        retries: int | None = None,
        retry_interval_s: int | None = None,
    ) -> CommandAnswer:
        options = {f.firmware_id: f for f in self.firmware_options(charger_id)}
        if firmware_id not in options:
            fitting = ", ".join(options) or "none (has the charger sent a BootNotification?)"
            raise CommandRefused(
                charger_id,
                "UpdateFirmware",
                f"firmware {firmware_id!r} does not fit this charger; fitting: {fitting}",
            )
        request: dict[str, Any] = {
            "location": options[firmware_id].url,
            "retrieveDate": format_time(retrieve_date or self.service.clock.now()),
        }
        if retries is not None:
            request["retries"] = retries
        if retry_interval_s is not None:
            request["retryInterval"] = retry_interval_s
        return await self.call(charger_id, "UpdateFirmware", request)
