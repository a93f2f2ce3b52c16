"""Control-socket commands that are OCPP calls to one charger, routed to ``CsmsOperator``.

The operator raises one error class per failure; the control protocol has one code per failure, and this
module is the translation. A charger that answers with a negative status (Rejected, NotSupported,
UnlockFailed...) gets ``ChargerError`` with its status: the command did not take effect, and the reply must
not read as success.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from balanz.control.protocol import ErrorCode, ProtocolError
from balanz.csms.operator import (
    ChargerFailed,
    ChargerOffline,
    ChargerTimeout,
    CommandAnswer,
    CommandError,
    CsmsOperator,
)

logger = logging.getLogger(__name__)

NEGATIVE = frozenset({"Rejected", "NotSupported", "NotImplemented", "UnlockFailed", "Failed"})
PROFILE_ACTIONS = frozenset({"SetChargingProfile", "ClearChargingProfile"})
Handler = Callable[[CsmsOperator, dict[str, Any]], Awaitable[CommandAnswer]]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _composite(op: CsmsOperator, a: dict[str, Any]) -> Awaitable[CommandAnswer]:
    request = {"connectorId": a["connector"], "duration": a["duration"], "chargingRateUnit": a["unit"]}
    return op.call(a["charger"], "GetCompositeSchedule", request)


HANDLERS: dict[str, Handler] = {
    "remote-start": lambda op, a: op.remote_start(a["charger"], a["id_tag"], a["connector"]),
    "remote-stop": lambda op, a: op.remote_stop(
        a["charger"], a["connector"], transaction_id=a["transaction_id"]
    ),
    "reset": lambda op, a: op.reset(a["charger"], a["type"]),
    "trigger": lambda op, a: op.trigger(a["charger"], a["message"], a["connector"]),
    "get-config": lambda op, a: op.get_configuration(a["charger"], a["keys"]),
    "set-config": lambda op, a: op.change_configuration(a["charger"], a["key"], a["value"]),
    "unlock": lambda op, a: op.unlock(a["charger"], a["connector"]),
    "availability": lambda op, a: op.change_availability(
        a["charger"], a["connector"], a["type"] == "Operative"
    ),
    "clear-cache": lambda op, a: op.clear_cache(a["charger"]),
    "update-firmware": lambda op, a: op.update_firmware(
        a["charger"], a["location"], retrieve_date=_time(a["retrieve_date"])
    ),
    "diagnostics": lambda op, a: op.call(a["charger"], "GetDiagnostics", {"location": a["location"]}),
    "composite": _composite,
    "call": lambda op, a: op.call(a["charger"], a["action"], a["payload"]),
}


def refuse_unsafe_call(args: dict[str, Any], smart_charging: bool) -> None:
    """flows.md §2.12: raw profile calls would bypass the allocator's invariant on a controlled charger."""
    action = args["action"]
    with_profile = action == "RemoteStartTransaction" and "chargingProfile" in args["payload"]
    if smart_charging and (action in PROFILE_ACTIONS or with_profile):
        raise ProtocolError(
            ErrorCode.REFUSED,
            f"call {action} to {args['charger']}: refused while smart charging controls the charger "
            "(it would bypass the supply limit); use reassert-profiles / release-profiles",
        )


async def run_charger_command(operator: CsmsOperator, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = await HANDLERS[cmd](operator, args)
    except ChargerOffline as exc:
        raise ProtocolError(ErrorCode.NOT_CONNECTED, str(exc)) from None
    except ChargerTimeout as exc:
        raise ProtocolError(ErrorCode.TIMEOUT, str(exc)) from None
    except ChargerFailed as exc:
        raise ProtocolError(ErrorCode.CHARGER_ERROR, str(exc)) from None
    except CommandError as exc:
        code = ErrorCode.NOT_IN_TRANSACTION if "open transactions" in str(exc) else ErrorCode.REFUSED
        raise ProtocolError(code, str(exc)) from None
    if answer.status in NEGATIVE:
        raise ProtocolError(
            ErrorCode.CHARGER_ERROR,
            f"{answer.action} to charger {answer.charger_id}: answered {answer.status}",
        )
    return {"action": answer.action, "request": answer.request, "answer": answer.answer}
