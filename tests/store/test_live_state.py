import pytest

from balanz.sessions import HistoryEntry
from balanz.store import ConnectorState, PriorityOverride, Store
from balanz.store.live_state import MAX_TRANSACTION_ID
from tests.store.conftest import T0, at, live


def test_transaction_ids_start_at_config_value_and_increase(store):
    assert [store.next_transaction_id(1042) for _ in range(3)] == [1042, 1043, 1044]


def test_transaction_ids_are_unique_across_restarts(store_path):
    with Store(store_path) as store:
        first = [store.next_transaction_id(1) for _ in range(3)]
    with Store(store_path) as store:
        assert store.next_transaction_id(1) == first[-1] + 1


def test_raising_the_start_moves_the_counter_up_lowering_does_not(store):
    assert store.next_transaction_id(5) == 5
    assert store.next_transaction_id(100) == 100
    assert store.next_transaction_id(1) == 101


def test_counter_wraps_after_31_bits(store):
    assert store.next_transaction_id(MAX_TRANSACTION_ID) == MAX_TRANSACTION_ID
    assert store.next_transaction_id(7) == 7


def test_counter_start_out_of_range_is_refused(store):
    with pytest.raises(ValueError, match="start must be"):
        store.next_transaction_id(0)


def test_lc_local_counter_is_separate(store):
    assert store.next_transaction_id(1) == 1
    assert store.next_local_transaction_id(1_000_000_000) == 1_000_000_000
    assert store.next_transaction_id(1) == 2


def test_live_transaction_round_trip_and_resume_after_restart(store_path):
    tx = live(
        last_register_wh=1238021.0,
        last_seen=at(5),
        priority=5,
        priority_source="override",
        history=(HistoryEntry(at(1), 6.0, None),),
        flags=frozenset({"partial"}),
    )
    with Store(store_path) as store:
        store.upsert_live_transaction(tx)
        store.upsert_live_transaction(live(charger="CP2", tx=7), durable=False)
    with Store(store_path) as store:
        resumed = store.live_transactions()
    assert resumed == [tx, live(charger="CP2", tx=7)]
    assert resumed[0].energy_wh == 1238021 - 1234500


def test_live_transaction_upsert_replaces_per_connector(store):
    store.upsert_live_transaction(live(last_register_wh=1.0))
    store.upsert_live_transaction(live(last_register_wh=2.0))
    assert [t.last_register_wh for t in store.live_transactions()] == [2.0]
    assert store.find_live_transaction("CP1", 1042).last_register_wh == 2.0
    assert store.find_live_transaction("CP1", 9) is None
    store.delete_live_transaction("CP1", 1)
    assert store.live_transactions() == []


def test_connector_state_round_trip(store_path):
    states = [
        ConnectorState("CP1", 1, 16.0, 16.0, at(1), {"ev_cap_a": 16, "suspend_until": None}),
        ConnectorState("CP1", 2, None, 32.0, at(2)),
    ]
    with Store(store_path) as store:
        for state in states:
            store.save_connector_state(state)
        store.save_connector_state(ConnectorState("CP1", 1, 10.0, 16.0, at(3), {"ev_cap_a": 10}))
    with Store(store_path) as store:
        stored = store.connector_states()
        assert stored == {
            ("CP1", 1): ConnectorState("CP1", 1, 10.0, 16.0, at(3), {"ev_cap_a": 10}),
            ("CP1", 2): states[1],
        }
        assert dict(stored["CP1", 1].allocator) == {"ev_cap_a": 10}
        store.forget_connector_states("CP1")
        assert store.connector_states() == {}


def test_priority_overrides(store_path):
    with Store(store_path) as store:
        store.set_priority_override(PriorityOverride("CP1", 1, 9, T0, 1042))
        store.set_priority_override(PriorityOverride("CP1", 1, 10, at(1), 1042))
        store.set_priority_override(PriorityOverride("CP2", 1, 3, T0))
    with Store(store_path) as store:
        assert store.priority_overrides() == {
            ("CP1", 1): PriorityOverride("CP1", 1, 10, at(1), 1042),
            ("CP2", 1): PriorityOverride("CP2", 1, 3, T0, None),
        }
        assert store.clear_priority_override("CP2", 1) is True
        assert store.clear_priority_override("CP2", 1) is False


def test_group_suspension_persists(store_path):
    with Store(store_path) as store:
        store.suspend_group("HQ", T0)
        store.suspend_group("HQ", at(5))  # already suspended: keeps the first time
        store.suspend_group("RR1", at(1))
        assert store.resume_group("RR1") is True
        assert store.resume_group("RR1") is False
    with Store(store_path) as store:
        assert store.suspended_groups() == {"HQ": T0}


def test_runtime_state_after_restart_has_everything_r23_needs(store_path):
    from balanz.config.schema import TagConfig
    from balanz.store import RuntimeCharger
    from balanz.store.tags import RuntimeTag, TagChange

    with Store(store_path) as store:
        store.upsert_live_transaction(live())
        store.save_connector_state(ConnectorState("CP1", 1, 16.0, 16.0, at(1), {"ev_cap_a": 16}))
        store.set_priority_override(PriorityOverride("CP1", 1, 9, T0, 1042))
        store.suspend_group("HQ", T0)
        store.register_charger(RuntimeCharger("CP9", "Default", 1, T0))
        store.apply_tag_change(TagChange(upsert=RuntimeTag(TagConfig("NEW1"), T0)))
    with Store(store_path) as store:
        state = store.load_runtime_state()
    assert state.live_transactions == (live(),)
    assert state.connector_states["CP1", 1].allocator == {"ev_cap_a": 16}
    assert state.priority_overrides["CP1", 1].priority == 9
    assert state.suspended_groups == {"HQ": T0}
    assert [c.charger_id for c in state.runtime_chargers] == ["CP9"]
    assert [t.id for t in state.runtime_tags] == ["NEW1"]


def test_released_chargers_outlive_a_restart_until_reasserted(store_path):
    with Store(store_path) as store:
        store.release_charger("CP2", T0, "ops")
        store.release_charger("CP2", at(60), "ops")  # released again: the first instant stays
    with Store(store_path) as store:
        assert store.released_chargers() == {"CP2": T0}
        assert store.unrelease_charger("CP2")
        assert not store.unrelease_charger("CP2")
        assert store.released_chargers() == {}
