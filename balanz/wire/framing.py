"""OCPP-J 1.6 framing: one text frame in, one typed frame out.

Pure functions, no I/O: the connection decides what to send. A frame that cannot be understood becomes
``BadFrame``; when a CALL's message id can still be read (even out of broken JSON) the connection answers
it with a CALLERROR, otherwise it is logged and dropped (OCPP-J 1.6 §4.1.3: unknown message types are
ignored; a reply needs an id).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ocpp.messages import Call as _LibCall
from ocpp.messages import CallError as _LibCallError
from ocpp.messages import CallResult as _LibCallResult

from balanz.wire.errors import ErrorCode

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MESSAGE_ID_MAX = 36

# Reads the id of something that starts like a CALL, for answering frames that are not valid JSON.
_CALL_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


@dataclass(frozen=True, slots=True)
class CallFrame:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResultFrame:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    unique_id: str
    code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Not a usable message. ``reply_to`` is the CALL id to answer with ``code``, or None: log and drop."""

    reply_to: str | None
    code: str
    description: str


Frame = CallFrame | ResultFrame | ErrorFrame | BadFrame


def new_message_id() -> str:
    """UUID4: unique across reconnects and daemon restarts, unlike a per-connection counter."""
    return str(uuid.uuid4())


def decode(raw: str | bytes) -> Frame:
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
        return _bad(text, "binary frame; OCPP-J messages are UTF-8 JSON text frames")
    try:
        msg = json.loads(raw)
    except ValueError as exc:
        return _bad(raw, f"not valid JSON: {exc}")
    if not isinstance(msg, list) or not msg:
        return BadFrame(
            None, ErrorCode.FORMATION_VIOLATION, "not a JSON array [MessageTypeId, UniqueId, ...]"
        )
    kind = msg[0]
    if kind not in (CALL, CALLRESULT, CALLERROR) or isinstance(kind, bool):
        return BadFrame(None, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, f"unknown MessageTypeId {kind!r}")
    unique_id = msg[1] if len(msg) > 1 else None
    if not isinstance(unique_id, str) or not unique_id:
        return BadFrame(None, ErrorCode.FORMATION_VIOLATION, "UniqueId missing or not a string")
    if kind == CALL:
        return _decode_call(msg, unique_id)
    if kind == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict | None):
            return BadFrame(
                None, ErrorCode.FORMATION_VIOLATION, f"CALLRESULT {unique_id!r} is not [3, id, {{}}]"
            )
        return ResultFrame(unique_id, msg[2] or {})
    if len(msg) not in (4, 5) or not isinstance(msg[2], str):
        return BadFrame(None, ErrorCode.FORMATION_VIOLATION, f"CALLERROR {unique_id!r} is malformed")
    description = msg[3] if isinstance(msg[3], str) else str(msg[3])
    details = msg[4] if len(msg) == 5 and isinstance(msg[4], dict) else {}
    return ErrorFrame(unique_id, msg[2], description, details)


def _decode_call(msg: list[Any], unique_id: str) -> Frame:
    if len(unique_id) > MESSAGE_ID_MAX:
        return BadFrame(unique_id, ErrorCode.FORMATION_VIOLATION, f"UniqueId longer than {MESSAGE_ID_MAX}")
    if len(msg) != 4:
        return BadFrame(unique_id, ErrorCode.FORMATION_VIOLATION, "a CALL has 4 elements [2, id, action, {}]")
    if not isinstance(msg[2], str) or not msg[2]:
        return BadFrame(unique_id, ErrorCode.FORMATION_VIOLATION, "Action is not a string")
    if not isinstance(msg[3], dict):
        return BadFrame(unique_id, ErrorCode.FORMATION_VIOLATION, "payload is not a JSON object")
    return CallFrame(unique_id, msg[2], msg[3])


def _bad(text: str, description: str) -> BadFrame:
    match = _CALL_ID.match(text)
    return BadFrame(match.group(1) if match else None, ErrorCode.FORMATION_VIOLATION, description)


def encode_call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return str(_LibCall(unique_id, action, payload).to_json())


def encode_result(unique_id: str, payload: dict[str, Any]) -> str:
    return str(_LibCallResult(unique_id, payload).to_json())


def encode_error(unique_id: str, code: str, description: str, details: dict[str, Any] | None = None) -> str:
    return str(_LibCallError(unique_id, code, description, details or {}).to_json())
