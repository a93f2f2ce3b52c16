"""HTTP Basic authentication of chargers at the websocket upgrade (flows.md §1.2, security profiles 1/2).

The hash forms and the constant-time comparison live in ``balanz.store.credentials``; this module reads the
Authorization header and decides. The server asks a ``CredentialLookup`` for a charger's credential:
``balanz.store.Store`` is one (its ``credential`` method), ``InMemoryCredentials`` serves tests and runs
without a store.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Protocol

from balanz.store.credentials import hash_password, password_matches
from balanz.store.records import CredentialState


class CredentialLookup(Protocol):
    def credential(self, charger_id: str) -> CredentialState | None: ...


def parse_basic(header_value: bytes) -> tuple[str, str] | None:
    """``(user, password)`` from an Authorization header value, or None if it is not valid Basic."""
    scheme, _, token = header_value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def refusal(state: CredentialState | None, charger_id: str, header_value: bytes | None) -> str | None:
    """Why the upgrade must be refused with 401, or None to let the charger in.

    A charger without an active or pending credential is let in (provisioning follows, flows.md §2.2); a
    provisioned-but-unconfirmed password is accepted as well as the active one.
    """
    if state is None or state.state == "none":
        return None
    parsed = parse_basic(header_value) if header_value is not None else None
    if parsed is None:
        return "no Basic Authorization header"
    user, password = parsed
    if user != charger_id:
        return f"user name {user!r} is not the charger id"
    hashes = ((state.active_hash,) if state.active_hash else ()) + state.pending_hashes
    if any(password_matches(h, charger_id, password) for h in hashes):
        return None
    return "wrong password"


class InMemoryCredentials:
    def __init__(self) -> None:
        self._by_charger: dict[str, CredentialState] = {}

    def set_password(self, charger_id: str, password: str) -> None:
        self._by_charger[charger_id] = CredentialState(
            charger_id, hash_password(password), (), None, datetime.now(UTC)
        )

    def credential(self, charger_id: str) -> CredentialState | None:
        return self._by_charger.get(charger_id)
