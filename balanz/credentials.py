"""Charger passwords for HTTP Basic auth (OCPP 1.6 security profiles 1 and 2).

Only salted hashes are kept, compared in constant time. Charger keys are long random strings set by the
server (AuthorizationKey), not human passwords, so a moderate PBKDF2 cost is enough and keeps a burst of
reconnecting chargers from stalling the event loop. Hashes imported from the earlier design
(``sha256("Basic " + base64(id:key))``, hex) stay valid until the key is rotated.

The daemon reads credentials through ``CredentialLookup``; ``InMemoryCredentials`` serves tests and
configurations without a store, the SQLite store implements the same method.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

PBKDF2 = "pbkdf2_sha256"
REFERENCE = "reference_sha256"
SALTED_SHA256 = "salted_sha256"  # the store's ``s256$`` form (balanz.store.credentials)
DEFAULT_ITERATIONS = 20_000


@dataclass(frozen=True, slots=True)
class StoredCredential:
    scheme: str
    digest: bytes
    salt: bytes = b""
    iterations: int = 0


class CredentialLookup(Protocol):
    def credential_for(self, charger_id: str) -> StoredCredential | None:
        """The stored credential, or None when the charger has none yet (it is then let in, flows.md §1.2)."""
        ...


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> StoredCredential:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return StoredCredential(PBKDF2, digest, salt, iterations)


def reference_credential(hex_digest: str) -> StoredCredential:
    """Wrap an imported reference hash (lowercase hex sha256 of the whole Basic header value)."""
    return StoredCredential(REFERENCE, bytes.fromhex(hex_digest))


def verify(stored: StoredCredential, charger_id: str, password: str) -> bool:
    if stored.scheme == PBKDF2:
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), stored.salt, stored.iterations)
    elif stored.scheme == SALTED_SHA256:
        candidate = hashlib.sha256(stored.salt + password.encode()).digest()
    elif stored.scheme == REFERENCE:
        token = base64.b64encode(f"{charger_id}:{password}".encode()).decode("ascii")
        candidate = hashlib.sha256(f"Basic {token}".encode()).digest()
    else:
        return False
    return hmac.compare_digest(candidate, stored.digest)


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


class InMemoryCredentials:
    def __init__(self) -> None:
        self._by_charger: dict[str, StoredCredential] = {}

    def set_password(self, charger_id: str, password: str) -> None:
        self._by_charger[charger_id] = hash_password(password)

    def set_credential(self, charger_id: str, credential: StoredCredential) -> None:
        self._by_charger[charger_id] = credential

    def credential_for(self, charger_id: str) -> StoredCredential | None:
        return self._by_charger.get(charger_id)
