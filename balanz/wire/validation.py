"""Schema validation of OCPP 1.6 payloads through the ``ocpp`` library's schemas.

We call the library's cached ``get_validator`` ourselves instead of ``_validate_payload`` because the
library folds enum, range and ``multipleOf`` failures into one 2.0.1-spelled ``FormatViolation``; OCPP-J 1.6
Table 7 separates them, and the charger reads the code. The validator keyword decides the code here.
"""

from __future__ import annotations

import decimal
import json
from functools import cache
from pathlib import Path
from typing import Any

import ocpp.messages
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

from balanz.wire.errors import ErrorCode, PayloadInvalid

CALL = 2
CALLRESULT = 3

_SCHEMA_DIR = Path(ocpp.messages.__file__).parent / "v16" / "schemas"

# Actions whose schemas constrain floats with multipleOf 0.1: binary floats like 21.400000000000002 would
# fail, so both schema and payload are read with Decimal for these (the library does the same).
_DECIMAL_SCHEMAS = frozenset({(CALL, "SetChargingProfile"), (CALL, "RemoteStartTransaction"),
                              (CALLRESULT, "GetCompositeSchedule")})  # fmt: skip

_CODE_BY_KEYWORD = {
    "required": ErrorCode.PROTOCOL_ERROR,
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "maxLength": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
}
_DESCRIPTION_MAX = 200


@cache
def known_actions() -> frozenset[str]:
    """Every action OCPP 1.6 defines, in either direction (one schema file per request)."""
    return frozenset(p.stem for p in _SCHEMA_DIR.glob("*.json") if not p.stem.endswith("Response"))


def validate(message_type_id: int, action: str, payload: dict[str, Any]) -> None:
    """Raise ``PayloadInvalid`` carrying the 1.6 CALLERROR code when ``payload`` breaks the schema.

    The payload itself is never changed: handlers see the floats the charger sent.
    """
    if action not in known_actions():
        raise PayloadInvalid(action, ErrorCode.NOT_IMPLEMENTED, f"{action} is not an OCPP 1.6 action")
    if (message_type_id, action) in _DECIMAL_SCHEMAS:
        validator = ocpp.messages.get_validator(message_type_id, action, "1.6", parse_float=decimal.Decimal)
        instance = json.loads(json.dumps(payload), parse_float=decimal.Decimal)
    else:
        validator = ocpp.messages.get_validator(message_type_id, action, "1.6")
        instance = payload
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise _as_payload_invalid(action, error)


def _as_payload_invalid(action: str, error: SchemaError) -> PayloadInvalid:
    code = _CODE_BY_KEYWORD.get(str(error.validator), ErrorCode.PROPERTY_CONSTRAINT_VIOLATION)
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    text = f"{where}: {error.message}"
    if len(text) > _DESCRIPTION_MAX:
        text = text[: _DESCRIPTION_MAX - 1] + "…"
    return PayloadInvalid(action, code, text, {"path": where, "rule": str(error.validator)})
