"""Operator intents kept in the store reach the allocator again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from balanz.charging.allocator_task import AllocatorService
from balanz.charging.control_hooks import stored_intents
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, GroupConfig
from balanz.events import EventBus
from balanz.store import Store
from balanz.store.records import PriorityOverride

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


class NoConnections:
    def connection(self, charger_id: str) -> None:
        return None


async def test_stored_overrides_and_suspensions_survive_a_restart(nursery, tmp_path, autojump_clock):
    cfg = Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site"), ChargerConfig(id="CP2", group="site")),
    )
    store = Store(str(tmp_path / "balanz.sqlite"))
    try:
        store.set_priority_override(PriorityOverride("CP1", 1, 7, T0, 41))
        store.set_priority_override(PriorityOverride("CP2", 1, 9, T0, 12))  # an older session's
        store.suspend_group("site", T0)
        live = [
            SimpleNamespace(
                charger_id=cid,
                connector_id=1,
                transaction_id=tx,
                start_time=T0,
                meter_start_wh=0.0,
                id_tag="A",
            )
            for cid, tx in (("CP1", 41), ("CP2", 13))
        ]
        service = AllocatorService.build(cfg, SiteClock(T0), EventBus(), NoConnections(), store)
        service.live_transactions = lambda: live
        service.operator_intents = lambda state: stored_intents(store, service.site, state, T0)
        await nursery.start(service.run)
        cp1 = service.state.connector(("CP1", 1)).session
        cp2 = service.state.connector(("CP2", 1)).session
        assert cp1 is not None
        assert cp1.override_priority == 7
        assert cp2 is not None
        assert cp2.override_priority is None, "an override of an ended session does not carry over"
        assert service.state.group("site").suspended
    finally:
        store.close()
