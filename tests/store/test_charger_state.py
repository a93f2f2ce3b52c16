import base64
import hashlib

import pytest

from balanz.store import RuntimeCharger, StoreIntegrityError
from balanz.store.credentials import hash_password, password_matches, reference_hash
from tests.store.conftest import T0, at


def test_autoregistered_charger_is_kept_once(store):
    first = RuntimeCharger("CP9", "Default", 1, T0, alias="CP9")
    assert store.register_charger(first) == first
    assert store.register_charger(RuntimeCharger("CP9", "Other", 2, at(5))) == first
    store.update_runtime_charger(
        RuntimeCharger("CP9", "HQ", 2, T0, alias="CP9", max_current_a=16, priority=3)
    )
    assert store.runtime_chargers() == [RuntimeCharger("CP9", "HQ", 2, T0, "CP9", 16, 3)]
    assert store.forget_runtime_charger("CP9") is True
    assert store.runtime_charger("CP9") is None
    assert store.forget_runtime_charger("CP9") is False


def test_update_of_unknown_runtime_charger_names_it(store):
    with pytest.raises(StoreIntegrityError, match="CP404"):
        store.update_runtime_charger(RuntimeCharger("CP404", "HQ", 1, T0))


def test_password_hash_is_salted_and_checked():
    one, two = hash_password("secret"), hash_password("secret")
    assert one != two
    assert password_matches(one, "CP1", "secret")
    assert not password_matches(one, "CP1", "Secret")
    assert not password_matches("s256$zz$00", "CP1", "secret")
    assert not password_matches("unknown$x", "CP1", "secret")


def test_reference_auth_sha_keeps_working():
    header = "Basic " + base64.b64encode(b"TACW1:key123").decode()
    stored = reference_hash(hashlib.sha256(header.encode()).hexdigest().upper())
    assert password_matches(stored, "TACW1", "key123")
    assert not password_matches(stored, "TACW2", "key123")
    with pytest.raises(ValueError, match="64 hexadecimal"):
        reference_hash("abc")


def test_provisioning_pending_then_promoted(store):
    assert store.credential("CP1") is None
    store.set_pending_credential("CP1", ["plainpw", "706c61696e7077"], T0)
    state = store.credential("CP1")
    assert state.state == "pending"
    assert state.pending_since == T0
    assert "plainpw" not in str(state)
    assert store.promote_pending_credential("CP1", "wrong", at(1)) is False
    assert store.promote_pending_credential("CP1", "706c61696e7077", at(1)) is True
    state = store.credential("CP1")
    assert state.state == "active"
    assert state.pending_hashes == ()
    assert password_matches(state.active_hash, "CP1", "706c61696e7077")
    assert not password_matches(state.active_hash, "CP1", "plainpw")


def test_reprovisioning_keeps_active_until_promotion_and_discard_keeps_it(store):
    store.set_pending_credential("CP1", ["first"], T0)
    store.promote_pending_credential("CP1", "first", T0)
    store.set_pending_credential("CP1", ["second"], at(1))
    assert password_matches(store.credential("CP1").active_hash, "CP1", "first")
    store.discard_pending_credential("CP1", at(2))
    state = store.credential("CP1")
    assert state.state == "active"
    assert password_matches(state.active_hash, "CP1", "first")


def test_reset_and_import(store):
    store.import_reference_credential("CP1", "a" * 64, T0)
    assert store.credential("CP1").active_hash == "ref$" + "a" * 64
    assert store.reset_credential("CP1") is True
    assert store.credential("CP1") is None
    assert store.promote_pending_credential("CP1", "x", T0) is False
    with pytest.raises(ValueError, match="no candidate"):
        store.set_pending_credential("CP1", [], T0)


def test_capabilities_and_learned_strategy(store):
    caps = {"SupportedFeatureProfiles": "Core,SmartCharging", "ChargeProfileMaxStackLevel": 8}
    store.save_capabilities("CP1", caps, T0, vendor="ABB", model="TAC", firmware_version="1.6.5")
    store.save_strategy("CP1", "tx_level0", at(1))
    store.save_capabilities("CP1", caps, at(2), vendor="ABB", model="TAC", firmware_version="1.6.5")
    stored = store.capabilities("CP1")
    assert stored.capabilities == caps
    assert (stored.probed_at, stored.strategy, stored.strategy_at) == (at(2), "tx_level0", at(1))
    assert store.learned_strategy("ABB", "TAC", "1.6.5") == "tx_level0"
    assert store.learned_strategy("ABB", "TAC", "1.7.0") is None
    store.save_strategy("CP2", "default_only", at(3))
    assert store.capabilities("CP2").capabilities == {}
    assert store.capabilities("CP3") is None
