"""Chargers whose clocks are far off (flows.md §2.8 rule 9): sessions land on balanz's timeline with their
full energy, and each charger's clock is warned about once, not per message."""

from __future__ import annotations

import logging
from datetime import timedelta

import trio

from balanz.clock import SiteClock
from balanz.control.intents import OperatorIntents
from balanz.control.site_snapshot import SiteFacts, build_snapshot
from balanz.store import SessionFilter

from .csms_charger import T0, scripted_charger, site_config, start_daemon

OFFSETS = {"CP1": timedelta(days=365), "CP2": timedelta(minutes=-20)}


async def _session(url: str, charger_id: str, own_clock: SiteClock) -> None:
    async with scripted_charger(url, charger_id, own_clock) as cp:
        await cp.boot()
        await cp.status(1, "Available")
        await trio.sleep(120)  # past the reconnect backlog window: the car arrives later
        await cp.status(1, "Preparing")
        tx = (await cp.start(1, "ALICE" if charger_id == "CP1" else "BOB", 10_000))["transactionId"]
        await cp.status(1, "Charging")
        for minute in range(1, 11):
            await trio.sleep(60)
            await cp.meter(1, tx, 10_000 + 250 * minute, 16)
        await trio.sleep(30)
        await cp.stop(tx, 12_600, "EVDisconnected")
        await cp.status(1, "Available")


async def test_chargers_a_year_ahead_and_twenty_minutes_behind(nursery, tmp_path, autojump_clock, caplog):
    clock = SiteClock(T0)
    running = await start_daemon(nursery, site_config(tmp_path), clock)
    service = running.csms.service
    started = clock.now()
    live_energy: dict[str, float | None] = {}

    async def watch() -> None:
        while True:
            await trio.sleep(5)
            for cid in OFFSETS:
                tx = service.connector(cid, 1).transaction
                if tx is not None:
                    live_energy[cid] = tx.energy_wh

    with caplog.at_level(logging.INFO):
        nursery.start_soon(watch)
        async with trio.open_nursery() as chargers:
            for cid, offset in OFFSETS.items():
                chargers.start_soon(_session, running.url, cid, SiteClock(T0 + offset))
    ended = clock.now()

    records = {r.charger_id: r for r in running.store.sessions(SessionFilter())}
    assert set(records) == set(OFFSETS)
    for cid, record in records.items():
        assert record.energy_wh == 2600, cid
        assert started + timedelta(seconds=100) <= record.start_time <= record.end_time <= ended, cid
        assert timedelta(minutes=10) <= record.end_time - record.start_time <= timedelta(minutes=11), cid
        assert "queued_offline" not in record.flags, cid
        assert live_energy[cid] == 2500, f"{cid}: energy while charging follows the register"
        view = service.charger(cid)
        assert view is not None
        assert view.clock_offset_s is not None
        assert abs(view.clock_offset_s - OFFSETS[cid].total_seconds()) < 5
    monitor = build_snapshot(
        service.snapshot(), SiteFacts(service.config, "test", None, {}, {}, OperatorIntents())
    )
    for cid, offset in OFFSETS.items():
        shown = monitor.charger(cid).clock_offset_s
        assert shown is not None
        assert abs(shown - offset.total_seconds()) < 5, "the monitor shows the charger's clock offset"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for cid in OFFSETS:
        about_clock = [w for w in warnings if w.startswith(f"charger {cid}:") and "clock" in w]
        assert len(about_clock) == 1, about_clock
    assert not [w for w in warnings if "timestamps" in w and "shifted" in w]
