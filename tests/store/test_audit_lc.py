from balanz.store import AuditEvent, Store
from balanz.store.lc_state import AuthCacheEntry
from tests.store.conftest import T0, at


def test_audit_events_survive_and_filter(store_path):
    with Store(store_path) as store:
        seqs = [
            store.add_audit(
                AuditEvent(at(i), "key_provisioned", f"event {i}", "CP1" if i % 2 else None, {"i": i})
            )
            for i in range(5)
        ]
    assert seqs == sorted(seqs)
    with Store(store_path) as store:
        events = store.audit_events()
        assert [e.message for e in events] == [f"event {i}" for i in range(5)]
        assert events[1].data == {"i": 1}
        assert events[1].to_json()["t"] == "2025-03-04T10:01:08Z"
        assert [e.message for e in store.audit_events(since=at(1), until=at(3))] == ["event 1", "event 2"]
        assert [e.message for e in store.audit_events(charger_id="CP1")] == ["event 1", "event 3"]
        assert [e.message for e in store.audit_events(limit=2)] == ["event 3", "event 4"]
        assert store.prune_audit(at(2)) == 2
        assert len(store.audit_events()) == 3


def test_lc_auth_cache(store):
    store.cache_authorization(AuthCacheEntry("abc", "Accepted", T0, "ACME", at(60)))
    assert store.cached_authorization("ABC") == AuthCacheEntry("ABC", "Accepted", T0, "ACME", at(60))
    store.cache_authorization(AuthCacheEntry("ABC", "Blocked", at(1)))
    assert store.cached_authorization("abc").status == "Blocked"
    assert store.cached_authorization("other") is None


def test_lc_transaction_id_map(store):
    store.map_transaction_id("CP1", 1_000_000_000, 5501)
    assert store.upstream_transaction_id("CP1", 1_000_000_000) == 5501
    assert store.local_transaction_id("CP1", 5501) == 1_000_000_000
    assert store.upstream_transaction_id("CP2", 1_000_000_000) is None
    store.end_transaction_mapping("CP1", 1_000_000_000, T0)
    assert store.prune_transaction_mappings(T0) == 0
    assert store.prune_transaction_mappings(at(1)) == 1
    assert store.local_transaction_id("CP1", 5501) is None


def test_outbox_keeps_order_and_drops_only_droppable_oldest(store_path):
    with Store(store_path) as store:
        store.append_outbox(
            "CP1",
            "StartTransaction",
            {"connectorId": 1},
            category="transaction",
            droppable=False,
            queued_at=T0,
        )
        for i in range(4):
            store.append_outbox(
                "CP1", "MeterValues", {"n": i}, category="meter", droppable=i != 1, queued_at=at(i), limit=2
            )
        store.append_outbox("CP2", "MeterValues", {"n": 9}, category="meter", droppable=True, queued_at=T0)
    with Store(store_path) as store:
        entries = store.outbox("CP1")
        assert [(e.action, e.payload) for e in entries] == [
            ("StartTransaction", {"connectorId": 1}),
            ("MeterValues", {"n": 1}),
            ("MeterValues", {"n": 3}),
        ]
        store.remove_outbox_entry(entries[0].seq)
        assert [e.payload for e in store.outbox("CP1")] == [{"n": 1}, {"n": 3}]
        assert len(store.outbox("CP2")) == 1
