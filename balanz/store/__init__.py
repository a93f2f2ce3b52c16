"""Durable runtime state in SQLite: sessions, live transactions, runtime tags and chargers, counters."""

from balanz.store.errors import (
    RetryPolicy,
    StoreError,
    StoreIntegrityError,
    StoreUnavailable,
    StoreVersionError,
)
from balanz.store.migrations import SCHEMA_VERSION
from balanz.store.records import (
    AuditEvent,
    ChargerCapabilities,
    ConnectorState,
    CredentialState,
    GroupLimitOverride,
    PriorityOverride,
    RuntimeCharger,
)
from balanz.store.session_log import Completion, SessionFilter
from balanz.store.store import RuntimeState, Store

__all__ = [
    "SCHEMA_VERSION",
    "AuditEvent",
    "ChargerCapabilities",
    "Completion",
    "ConnectorState",
    "CredentialState",
    "GroupLimitOverride",
    "PriorityOverride",
    "RetryPolicy",
    "RuntimeCharger",
    "RuntimeState",
    "SessionFilter",
    "Store",
    "StoreError",
    "StoreIntegrityError",
    "StoreUnavailable",
    "StoreVersionError",
]
