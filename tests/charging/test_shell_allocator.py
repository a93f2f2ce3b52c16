"""The allocator shell without chargers: coalescing, surviving a failing run, sleeping until next_instant,
the external-limit input and the config → Site translation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio

from balanz.charging import allocator_task
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.site_model import build_site
from balanz.clock import SiteClock
from balanz.config.schema import AllocatorConfig, ChargerConfig, Config, ConnectorConfig, GroupConfig
from balanz.csms.meter_values import ConnectorMeter, Stamped
from balanz.events import EventBus, MeterUpdated, StatusChanged

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


class NoConnections:
    def connection(self, charger_id: str) -> None:
        return None


def config(**allocator: object) -> Config:
    return Config(
        allocator=AllocatorConfig(first_wait_s=0, timezone="UTC", **allocator),  # type: ignore[arg-type]
        group=(GroupConfig(id="site", max_allocation="32"),),
        charger=(ChargerConfig(id="CP1", group="site"), ChargerConfig(id="CP2", group="site")),
    )


async def start(nursery: trio.Nursery, cfg: Config) -> tuple[AllocatorService, EventBus, SiteClock]:
    clock = SiteClock(T0)
    bus = EventBus()
    service = AllocatorService.build(cfg, clock, bus, NoConnections())
    await nursery.start(service.run)
    return service, bus, clock


def meter(at: datetime, amps: float) -> MeterUpdated:
    m = ConnectorMeter(usage_phases_a=(amps, amps, amps), register_wh=Stamped(1000.0, at))
    return MeterUpdated("CP1", 1, at, 1, (), m)


async def test_a_burst_of_a_thousand_meter_values_costs_a_few_runs(nursery, autojump_clock):
    service, bus, clock = await start(nursery, config(debounce_s=0.2))
    await trio.sleep(1)
    before = service.runs
    for _ in range(1000):
        bus.publish(meter(clock.now(), 7.0))
        await trio.sleep(0.0001)
    await trio.sleep(1)
    assert 1 <= service.runs - before <= 3
    assert service.state.connector(("CP1", 1)).samples, "the samples reached the core's state"


async def test_a_failing_run_is_logged_and_retried_without_crashing(
    nursery, autojump_clock, monkeypatch, caplog
):
    real = allocator_task.plan
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("planner broke")
        return real(*args, **kwargs)

    monkeypatch.setattr(allocator_task, "plan", flaky)
    service, bus, clock = await start(nursery, config(run_interval_s=5))
    bus.publish(StatusChanged("CP1", 1, clock.now(), "Preparing", "NoError", False, False))
    await trio.sleep(1)
    assert service.failures == 1
    assert "allocator run failed" in caplog.text
    bus.publish(StatusChanged("CP1", 1, clock.now(), "Available", "NoError", False, False))
    await trio.sleep(1)
    assert service.runs >= 1
    assert service.state.connector(("CP1", 1)).status == "Available"


async def test_only_the_safety_net_runs_while_nothing_happens(nursery, autojump_clock):
    """With nothing happening the allocator runs only every run_interval_s (allocation.md: the safety
    net against a missed trigger) and those runs change nothing; the external-limit input reaches the core.
    """
    cfg = config(run_interval_s=60)
    service, _bus, _clock = await start(nursery, cfg)
    await trio.sleep(10)
    idle_runs = service.runs
    idle_state = service.state
    await trio.sleep(3600)
    assert 55 <= service.runs - idle_runs <= 61, "one safety-net run a minute, no faster polling"
    assert service.state.connectors == idle_state.connectors, "the safety-net runs changed nothing"
    service.set_external_limit("site", 20, valid_s=10)
    await trio.sleep(1)
    state = service.state.group("site").external
    assert state is not None
    assert state.amps == 20
    assert state.valid_until == T0 + timedelta(seconds=3620)


async def test_external_limit_for_an_unknown_group_names_it(nursery, autojump_clock):
    service, _bus, _clock = await start(nursery, config())
    with pytest.raises(KeyError, match='"garage"'):
        service.set_external_limit("garage", 10, valid_s=10)


def test_site_from_config_keeps_connector_overrides_and_tolerates_missing_groups():
    cfg = Config(
        allocator=AllocatorConfig(timezone="UTC"),
        group=(GroupConfig(id="site", max_allocation="48"),),
        charger=(
            ChargerConfig(
                id="CP1",
                group="site",
                connectors=2,
                phase_map="L2,L3,L1",
                connector=(ConnectorConfig(id=2, max_current_a=16, phases=1, phase_map="L3", priority=4),),
            ),
            ChargerConfig(id="CP9", group="elsewhere"),
        ),
    )
    site = build_site(cfg)
    one, two = site.charger_by_id["CP1"].connectors
    assert one.phase_map == (1, 2, 0)
    assert one.max_current_a == cfg.allocator.default_max_allocation_a
    assert (two.max_current_a, two.phases, two.phase_map, two.priority) == (16, 1, (2,), 4)
    assert ("CP1", 1) in site.roots
    assert site.uncontrolled_chargers() == ("CP9",)
