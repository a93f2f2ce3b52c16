"""OCPP-J 1.6 on trio: framing, validation through the ``ocpp`` schemas, one connection class for both ends.

Depends on OCPP and trio only; it knows nothing about sites, groups or allocation.
"""

from balanz.wire.connection import OcppConnection, Transport, to_wire
from balanz.wire.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    ErrorCode,
    PayloadInvalid,
    ResponseInvalid,
    WireError,
)
from balanz.wire.registry import Registry, Route

__all__ = [
    "CallErrorReceived",
    "CallTimeout",
    "ConnectionLost",
    "ErrorCode",
    "OcppConnection",
    "PayloadInvalid",
    "Registry",
    "ResponseInvalid",
    "Route",
    "Transport",
    "WireError",
    "to_wire",
]
