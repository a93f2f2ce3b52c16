"""Upgrade-time Basic auth decisions over the store's hash forms."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from balanz.credentials import InMemoryCredentials, parse_basic, refusal
from balanz.store.credentials import hash_password, reference_hash
from balanz.store.records import CredentialState

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def header(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def state(active: str | None, *pending: str) -> CredentialState:
    return CredentialState("CP1", active, pending, NOW if pending else None, NOW)


def test_active_password():
    stored = state(hash_password("0123456789abcdef"))
    assert refusal(stored, "CP1", header("CP1", "0123456789abcdef")) is None
    assert refusal(stored, "CP1", header("CP1", "0123456789abcdeF")) == "wrong password"
    assert (
        refusal(stored, "CP1", header("CP2", "0123456789abcdef")) == "user name 'CP2' is not the charger id"
    )
    assert refusal(stored, "CP1", None) == "no Basic Authorization header"


def test_pending_candidate_also_accepted():
    stored = state(hash_password("old-key-old-key"), hash_password("new-key-new-key"))
    assert refusal(stored, "CP1", header("CP1", "old-key-old-key")) is None
    assert refusal(stored, "CP1", header("CP1", "new-key-new-key")) is None
    assert refusal(stored, "CP1", header("CP1", "other")) == "wrong password"


def test_no_credential_lets_in():
    assert refusal(None, "CP1", None) is None
    assert refusal(state(None), "CP1", header("CP1", "x")) is None


def test_reference_hash_still_valid():
    value = header("CP1", "key-from-old-system")
    stored = state(reference_hash(hashlib.sha256(value).hexdigest()))
    assert refusal(stored, "CP1", value) is None


def test_parse_basic():
    token = base64.b64encode(b"CP1:pa:ss")
    assert parse_basic(b"Basic " + token) == ("CP1", "pa:ss")
    assert parse_basic(b"basic " + token) == ("CP1", "pa:ss")
    assert parse_basic(b"Bearer " + token) is None
    assert parse_basic(b"Basic %%%") is None
    assert parse_basic(b"Basic " + base64.b64encode(b"no-colon")) is None


def test_in_memory_lookup():
    store = InMemoryCredentials()
    assert store.credential("CP1") is None
    store.set_password("CP1", "secret")
    assert refusal(store.credential("CP1"), "CP1", header("CP1", "secret")) is None
