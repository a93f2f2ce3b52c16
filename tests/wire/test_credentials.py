"""Charger credentials: salted hashes, the imported reference form, Basic header parsing."""

from __future__ import annotations

import base64
import hashlib

from balanz.credentials import InMemoryCredentials, hash_password, parse_basic, reference_credential, verify


def test_salted_hash_verifies_only_the_password():
    one, two = hash_password("0123456789abcdef"), hash_password("0123456789abcdef")
    assert one.salt != two.salt
    assert one.digest != two.digest
    assert verify(one, "CP1", "0123456789abcdef")
    assert not verify(one, "CP1", "0123456789abcdeF")


def test_reference_hash_still_valid():
    header = "Basic " + base64.b64encode(b"CP1:key-from-old-system").decode()
    stored = reference_credential(hashlib.sha256(header.encode()).hexdigest())
    assert verify(stored, "CP1", "key-from-old-system")
    assert not verify(stored, "CP2", "key-from-old-system")


def test_parse_basic():
    token = base64.b64encode(b"CP1:pa:ss").decode().encode()
    assert parse_basic(b"Basic " + token) == ("CP1", "pa:ss")
    assert parse_basic(b"basic " + token) == ("CP1", "pa:ss")
    assert parse_basic(b"Bearer " + token) is None
    assert parse_basic(b"Basic %%%") is None
    assert parse_basic(b"Basic " + base64.b64encode(b"no-colon")) is None


def test_in_memory_lookup():
    store = InMemoryCredentials()
    assert store.credential_for("CP1") is None
    store.set_password("CP1", "secret")
    assert verify(store.credential_for("CP1"), "CP1", "secret")
