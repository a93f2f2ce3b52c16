"""Hashing and checking of charger passwords (HTTP Basic, flows.md §1.2/§2.2). Pure.

Stored forms:
- `s256$<salt hex>$<sha256(salt + password) hex>` — what balanz writes. A fast salted hash is enough here:
  provisioned passwords are 20 random letters and digits (~119 bits), so brute force is hopeless and a slow
  KDF would only block the event loop at every connection.
- `ref$<hex>` — imported from the reference's `chargers.csv` `auth_sha`: unsalted SHA-256 of the whole
  `Authorization` header value (`"Basic " + base64(charger_id + ":" + password)`); kept so migrated chargers
  need no re-provisioning.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode("utf-8")).hexdigest()
    return f"s256${salt.hex()}${digest}"


def reference_hash(auth_sha: str) -> str:
    """Wrap a reference `auth_sha` value (64 hex characters) for storage."""
    value = auth_sha.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"auth_sha must be 64 hexadecimal characters, got {auth_sha!r}")
    return f"ref${value}"


def password_matches(stored: str, charger_id: str, password: str) -> bool:
    """Constant-time check of `password` (as presented by `charger_id`) against one stored hash."""
    kind, _, rest = stored.partition("$")
    if kind == "s256":
        salt_hex, _, digest = rest.partition("$")
        try:
            salt = bytes.fromhex(salt_hex)
        except ValueError:
            return False
        candidate = hashlib.sha256(salt + password.encode("utf-8")).hexdigest()
        return hmac.compare_digest(candidate, digest)
    if kind == "ref":
        token = base64.b64encode(f"{charger_id}:{password}".encode()).decode("ascii")
        candidate = hashlib.sha256(f"Basic {token}".encode()).hexdigest()
        return hmac.compare_digest(candidate, rest)
    return False
