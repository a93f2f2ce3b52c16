"""What the simulated charger answers to each CALL from the central system.

Handlers take the request as the wire layer gives it (snake_case keywords) and answer with the camelCase
payload; the wire layer validates both against the OCPP 1.6 schemas. Every answer is written to the event
log as a `Told` record. The quirks that concern answering (never, slowly) wrap every handler here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import trio
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import (
    FormatViolationError,
    OccurrenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    TypeConstraintViolationError,
)

from balanz.profiles import ClearStatus, ProfileError
from balanz.profiles.messages import clear_charging_profile, get_composite_schedule, set_charging_profile
from balanz.profiles.model import parse_time
from balanz.sim import connector as cn
from balanz.sim.eventlog import Told
from balanz.sim.spec import change_configuration, get_configuration
from balanz.wire import OcppConnection, Registry

if TYPE_CHECKING:
    from balanz.sim.charger import SimCharger

logger = logging.getLogger(__name__)

_ERRORS: dict[str, type[OCPPError]] = {
    "PropertyConstraintViolation": PropertyConstraintViolationError,
    "TypeConstraintViolation": TypeConstraintViolationError,
    "FormationViolation": FormatViolationError,
    "OccurenceConstraintViolation": OccurrenceConstraintViolationError,
}
TRIGGERABLE = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
               "Heartbeat", "MeterValues", "StatusNotification")  # fmt: skip
FIRMWARE_STEPS_S = (("Downloading", 0.0), ("Downloaded", 30.0), ("Installing", 10.0))
"""FirmwareStatusNotification sequence and the simulated seconds before each; then a reboot, Installed."""

Request = dict[str, Any]
Action = Callable[["SimCharger", Request, datetime], Request]


def _as_ocpp_error(exc: ProfileError) -> OCPPError:
    return _ERRORS.get(exc.code, PropertyConstraintViolationError)(description=str(exc))


def _quirk_refusal(ch: SimCharger, body: Request) -> str:
    """Why a quirky charger refuses a profile the spec would accept, or ""."""
    quirks = ch.spec.quirks
    periods = body.get("chargingSchedule", {}).get("chargingSchedulePeriod", [])
    checks = [
        (quirks.no_smart_charging, "no SmartCharging feature profile"),
        (
            quirks.rejects_max_profile and body.get("chargingProfilePurpose") == "ChargePointMaxProfile",
            "ChargePointMaxProfile not supported",
        ),
        (quirks.relative_only and body.get("chargingProfileKind") != "Relative", "only Relative profiles"),
        (quirks.rejects_zero and any(float(p.get("limit", 1)) == 0 for p in periods), "a limit of 0"),
    ]
    return next((reason for refused, reason in checks if refused), "")


def set_profile(ch: SimCharger, req: Request, now: datetime) -> Request:
    refusal = _quirk_refusal(ch, req.get("csChargingProfiles", {}))
    if refusal:
        logger.info("charger %s: SetChargingProfile Rejected (quirk): %s", ch.id, refusal)
        return {"status": "Rejected"}
    change = set_charging_profile(ch.told, req, now, ch.transactions(), ch.capabilities())
    if change.reason:
        logger.info("charger %s: SetChargingProfile %s: %s", ch.id, change.status, change.reason)
    ch.set_profiles(change.store)
    return {"status": change.status.value}


def clear_profile(ch: SimCharger, req: Request, now: datetime) -> Request:
    change = clear_charging_profile(ch.told, req)
    ch.set_profiles(change.store)
    status = ClearStatus.UNKNOWN if ch.spec.quirks.clear_answers_unknown else change.status
    return {"status": status.value}


def composite(ch: SimCharger, req: Request, now: datetime) -> Request:
    if ch.spec.quirks.no_smart_charging:
        return {"status": "Rejected"}
    return get_composite_schedule(ch.view(), req, now)


def get_config(ch: SimCharger, req: Request, now: datetime) -> Request:
    return get_configuration(ch.spec, ch.config, req.get("key"))


def change_config(ch: SimCharger, req: Request, now: datetime) -> Request:
    ch.config, status = change_configuration(ch.spec, ch.config, req["key"], req["value"])
    ch.poke()
    return {"status": status}


def remote_start(ch: SimCharger, req: Request, now: datetime) -> Request:
    wanted = req.get("connectorId")
    if wanted is not None and wanted not in ch.connectors:
        return {"status": "Rejected"}
    target = ch.free_connector(wanted)
    if target is None:
        return {"status": "Rejected"}
    if "chargingProfile" in req:
        if req["chargingProfile"].get("chargingProfilePurpose") != "TxProfile":
            return {"status": "Rejected"}
        ch.remote_profiles[target] = req["chargingProfile"]
    tag = req["idTag"]
    if ch.config["AuthorizeRemoteTxRequests"] == "true":
        ch.send("Authorize", {"idTag": tag}, lambda answer: ch.on_authorize(target, tag, answer))
    else:
        ch.authorize_on(target, tag)
    return {"status": "Accepted"}


def remote_stop(ch: SimCharger, req: Request, now: datetime) -> Request:
    for n, c in ch.connectors.items():
        if c.transaction_id == req["transactionId"]:
            ch.stop_transaction(n, "Remote")
            return {"status": "Accepted"}
    return {"status": "Rejected"}


def reset(ch: SimCharger, req: Request, now: datetime) -> Request:
    return {"status": "Accepted"}


def unlock(ch: SimCharger, req: Request, now: datetime) -> Request:
    n = req["connectorId"]
    if n not in ch.connectors:
        return {"status": "NotSupported"}
    if ch.connectors[n].in_transaction:
        ch.stop_transaction(n, "UnlockCommand")
    return {"status": "Unlocked"}


def trigger(ch: SimCharger, req: Request, now: datetime) -> Request:
    wanted, n = req["requestedMessage"], req.get("connectorId")
    if wanted not in TRIGGERABLE:
        return {"status": "NotImplemented"}
    if n is not None and n not in ch.connectors and not (n == 0 and wanted == "StatusNotification"):
        return {"status": "Rejected"}
    return {"status": "Accepted"}


def change_availability(ch: SimCharger, req: Request, now: datetime) -> Request:
    n, operative = req["connectorId"], req["type"] == "Operative"
    if n != 0 and n not in ch.connectors:
        return {"status": "Rejected"}
    answers = []
    for m in [n] if n else list(ch.connectors):
        ch.connectors[m], answer = cn.change_availability(ch.connectors[m], operative)
        answers.append(answer)
    ch.poke()
    scheduled = cn.Availability.SCHEDULED in answers
    return {"status": (cn.Availability.SCHEDULED if scheduled else cn.Availability.ACCEPTED).value}


def update_firmware(ch: SimCharger, req: Request, now: datetime) -> Request:
    if ch.nursery is not None:
        ch.nursery.start_soon(_firmware, ch, parse_time(req["retrieveDate"], "retrieveDate"))
    return {}


def clear_cache(ch: SimCharger, req: Request, now: datetime) -> Request:
    ch.auth_cache.clear()
    return {"status": "Accepted"}


def data_transfer(ch: SimCharger, req: Request, now: datetime) -> Request:
    return {"status": "UnknownVendorId"}


ACTIONS: dict[str, Action] = {
    "SetChargingProfile": set_profile,
    "ClearChargingProfile": clear_profile,
    "GetCompositeSchedule": composite,
    "GetConfiguration": get_config,
    "ChangeConfiguration": change_config,
    "RemoteStartTransaction": remote_start,
    "RemoteStopTransaction": remote_stop,
    "Reset": reset,
    "UnlockConnector": unlock,
    "TriggerMessage": trigger,
    "ChangeAvailability": change_availability,
    "UpdateFirmware": update_firmware,
    "ClearCache": clear_cache,
    "DataTransfer": data_transfer,
}


async def _firmware(ch: SimCharger, retrieve_at: datetime) -> None:
    if retrieve_at > ch.clock.now():
        await ch.clock.sleep_until(retrieve_at)
    for status, before_s in FIRMWARE_STEPS_S:
        await ch.clock.sleep(before_s)
        ch.send("FirmwareStatusNotification", {"status": status}, keep=True)
    ch.firmware_status_after_boot = "Installed"
    await ch.clock.sleep(5)
    ch.reboot("HardReset")


def after_reset(ch: SimCharger, req: Request) -> None:
    ch.reboot("SoftReset" if req["type"] == "Soft" else "HardReset")


def after_trigger(ch: SimCharger, req: Request) -> None:
    if trigger(ch, req, ch.clock.now())["status"] != "Accepted":
        return
    wanted, n, now = req["requestedMessage"], req.get("connectorId"), ch.clock.now()
    if wanted == "BootNotification":
        ch.send("BootNotification", ch.boot_payload(), ch.on_boot_answer)
    elif wanted == "Heartbeat":
        ch.send("Heartbeat", {})
    elif wanted == "StatusNotification":
        for m in [n] if n is not None else [0, *ch.connectors]:
            ch.send("StatusNotification", ch.status_payload(m, now))
    elif wanted == "MeterValues":
        for m in [n] if n else list(ch.connectors):
            ch.send("MeterValues", ch.meter_payload(m, now, "Trigger"))
    elif wanted == "FirmwareStatusNotification":
        ch.send("FirmwareStatusNotification", {"status": "Idle"})
    else:
        ch.send("DiagnosticsStatusNotification", {"status": "Idle"})


AFTER: dict[str, Callable[[SimCharger, Request], None]] = {
    "Reset": after_reset,
    "TriggerMessage": after_trigger,
}


def charger_registry(ch: SimCharger) -> Registry:
    """The Registry a simulated charger serves on every connection."""
    registry = Registry()
    for name, action in ACTIONS.items():
        registry.add(name, _answering(ch, name, action))
    for name, hook in AFTER.items():
        registry.add_after(name, _after(ch, hook))
    return registry


def _answering(ch: SimCharger, name: str, action: Action) -> Callable[..., Any]:
    async def handler(conn: OcppConnection, **kwargs: Any) -> Request:
        request = snake_to_camel_case(kwargs)
        quirks = ch.spec.quirks
        if quirks.never_answers:
            ch.events.emit(Told(ch.clock.now(), ch.id, name, request, None))
            await trio.sleep_forever()
        if quirks.answer_delay_s > 0:
            await ch.clock.sleep(quirks.answer_delay_s)
        now = ch.clock.now()
        try:
            answer = action(ch, request, now)
        except ProfileError as exc:
            ch.events.emit(Told(now, ch.id, name, request, {"error": exc.code, "description": str(exc)}))
            raise _as_ocpp_error(exc) from exc
        ch.events.emit(Told(now, ch.id, name, request, answer))
        return answer

    return handler


def _after(ch: SimCharger, hook: Callable[[SimCharger, Request], None]) -> Callable[..., None]:
    def run(conn: OcppConnection, **kwargs: Any) -> None:
        hook(ch, snake_to_camel_case(kwargs))

    return run
