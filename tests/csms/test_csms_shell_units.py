"""Units of the CSMS shell: the site clock, the event bus, store retries, firmware matching, credentials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import trio

from balanz.clock import SiteClock
from balanz.config.schema import ChargerConfig, Config, FirmwareConfig
from balanz.csms.operator import firmware_matches
from balanz.csms.service import CsmsService
from balanz.csms.watchdog import close_stale
from balanz.events import ChargerConnected, EventBus
from balanz.sessions import LiveTransaction
from balanz.store import RetryPolicy, Store, StoreUnavailable

T0 = datetime(2025, 3, 4, 6, 0, tzinfo=UTC)


async def test_site_clock_follows_trio_time(autojump_clock):
    clock = SiteClock(T0)
    assert clock.now() == T0
    await trio.sleep(90.5)
    assert clock.now() == T0 + timedelta(seconds=90.5)
    target = T0 + timedelta(hours=1)
    await trio.sleep_until(clock.trio_time_at(target))
    assert clock.now() == target


async def test_site_clock_without_start_uses_wall_clock_once():
    before = datetime.now(UTC)
    clock = SiteClock()
    first = clock.now()
    assert before <= first <= datetime.now(UTC)
    assert first.tzinfo is not None


def test_site_clock_refuses_naive_start():
    with pytest.raises(ValueError, match="time zone"):
        SiteClock(datetime(2025, 3, 4, 6, 0))


async def test_publish_never_blocks_slow_subscriber_counts_drops(caplog):
    bus = EventBus()
    slow = bus.subscribe("slow", capacity=2)
    fast = bus.subscribe("fast", capacity=10)
    with caplog.at_level(logging.WARNING, logger="balanz.events"):
        for n in range(5):
            bus.publish(ChargerConnected("CP1", T0, n))
    assert slow.dropped == 3
    assert fast.dropped == 0
    assert [slow.receive.receive_nowait().generation for _ in range(2)] == [0, 1]
    assert sum("slow is behind" in r.getMessage() for r in caplog.records) == 1
    bus.unsubscribe(fast)
    bus.publish(ChargerConnected("CP1", T0, 9))
    assert bus.published == 6


async def test_subscriber_that_closed_its_end_is_forgotten():
    bus = EventBus()
    sub = bus.subscribe("gone")
    sub.receive.close()
    bus.publish(ChargerConnected("CP1", T0, 1))
    bus.publish(ChargerConnected("CP1", T0, 2))
    assert sub.dropped == 0


@pytest.fixture
def service(tmp_path):
    config = Config(charger=(ChargerConfig(id="CP1", group="site", connectors=2),))
    with Store(tmp_path / "s.sqlite") as store:
        yield CsmsService(
            config, store, clock=SiteClock(T0), retry=RetryPolicy(initial_s=1, factor=2, max_s=8)
        )


async def test_durable_retries_on_policy_schedule(service, autojump_clock):
    calls = []

    def flaky() -> str:
        calls.append(trio.current_time())
        if len(calls) < 4:
            raise StoreUnavailable("s.sqlite", "locked", "database is locked")
        return "written"

    assert await service.durable("test write", flaky) == "written"
    assert [round(t - calls[0], 6) for t in calls] == [0, 1, 3, 7]
    assert service.store_failures == 3


async def test_durable_gives_up_after_its_bound(service, autojump_clock):
    def never() -> None:
        raise StoreUnavailable("s.sqlite", "full", "database or disk is full")

    started = trio.current_time()
    with pytest.raises(StoreUnavailable):
        await service.durable("test write", never, bound_s=20)
    assert trio.current_time() - started <= 20


def test_service_lists_configured_connectors(service):
    assert [v.connector_id for v in service.charger_connectors("CP1")] == [0, 1, 2]
    assert service.fallback_priority("CP1", 1) == (1, "default")


@pytest.mark.parametrize(
    ("vendor", "model", "version", "fits"),
    [
        ("ACME", "Wallbox", "1.4", True),
        ("ACME", "Wallbox Pro", "1.4", False),
        ("ACME", "Wallbox", "2.0", False),
        ("ACME", "Wallbox", None, False),
        ("XACME", "Wallbox", "1.4", False),
    ],
)
def test_firmware_catalogue_full_match(vendor, model, version, fits):
    entry = FirmwareConfig(
        firmware_id="wb-2",
        url="https://fw.example/wb.bin",
        charge_point_vendor="AC.*",
        charge_point_model="Wallbox",
        firmware_version="2.0",
        upgrade_from_versions=r"1\..*",
    )
    assert firmware_matches(entry, vendor, model, version) is fits


async def test_stale_close_that_cannot_be_written_is_retried_next_check(service, autojump_clock, monkeypatch):
    tx = LiveTransaction("CP1", 1, 7, "ALICE", T0, T0, 100.0, last_register_wh=900.0, last_seen=T0)
    service.set_transaction(tx)
    service.update_charger("CP1", connected=False, disconnected_since=service.clock.now())
    await trio.sleep(3599)
    assert close_stale(service) == [], "not yet"
    await trio.sleep(2)

    def locked(_record: object) -> None:
        raise StoreUnavailable("s.sqlite", "locked", "database is locked")

    monkeypatch.setattr(service.store, "complete_session", locked)
    assert close_stale(service) == []
    assert service.connector("CP1", 1).transaction == tx
    monkeypatch.undo()
    (record,) = close_stale(service)
    assert (record.stop_reason, record.energy_wh, record.group_id) == ("Timeout", 800.0, "site")
    assert service.connector("CP1", 1).transaction is None
