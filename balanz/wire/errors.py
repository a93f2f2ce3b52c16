"""Typed failures of the wire layer.

Callers of ``OcppConnection.call`` need to tell "the charger said no" (a CALLERROR, with the charger's own
code and text) from "the charger said nothing" (timeout) from "the connection is gone": each leads to a
different reaction (log and move on, retry later, wait for the reconnect). Hence one exception per case,
all under ``WireError``.
"""

from __future__ import annotations

from typing import Any


class ErrorCode:
    """OCPP-J 1.6 CALLERROR codes (Table 7) in 1.6 spelling (errata 5.1/5.2: "do not fix")."""

    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"


class WireError(Exception):
    """Base of everything the wire layer raises on purpose."""


class PayloadInvalid(WireError, ValueError):
    """A payload does not match the OCPP 1.6 JSON schema of its action.

    ``code`` is the CALLERROR code the mismatch maps to, so the same object answers an inbound CALL and
    explains a rejected outbound one.
    """

    def __init__(
        self, action: str, code: str, description: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{action}: {code}: {description}")
        self.action = action
        self.code = code
        self.description = description
        self.details = details or {}


class CallErrorReceived(WireError):
    """The other side answered our CALL with a CALLERROR."""

    def __init__(
        self, charger_id: str, action: str, code: str, description: str, details: dict[str, Any]
    ) -> None:
        super().__init__(
            f"charger {charger_id!r} answered {action} with {code}: {description or '(no text)'}"
        )
        self.charger_id = charger_id
        self.action = action
        self.code = code
        self.description = description
        self.details = details


class CallTimeout(WireError):
    """No CALLRESULT/CALLERROR arrived within the call timeout."""

    def __init__(self, charger_id: str, action: str, timeout_s: float) -> None:
        super().__init__(f"charger {charger_id!r} did not answer {action} within {timeout_s:g} s")
        self.charger_id = charger_id
        self.action = action
        self.timeout_s = timeout_s


class ResponseInvalid(WireError):
    """The answer to our CALL arrived but does not match the response schema of the action."""

    def __init__(self, charger_id: str, problem: PayloadInvalid) -> None:
        super().__init__(
            f"charger {charger_id!r} sent an invalid {problem.action} result: {problem.description}"
        )
        self.charger_id = charger_id
        self.problem = problem


class ConnectionLost(WireError):
    """The connection closed before (or while) our CALL could be answered."""

    def __init__(self, charger_id: str, action: str) -> None:
        super().__init__(f"connection to charger {charger_id!r} closed; {action} was not answered")
        self.charger_id = charger_id
        self.action = action
