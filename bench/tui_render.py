"""How fast the monitor takes in a 2,000-charger site (4,000 connector rows), headless.

Prints: first full table build, applying one delta that changes N connectors (pure ``delta.apply``), the
widget refresh for it (``update_cell`` of the changed cells only), a filter and a sort over all rows.
Run: ``.venv/bin/python bench/tui_render.py``.
"""

import asyncio
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanz.control.delta import apply, diff
from balanz.control.protocol import Push
from balanz.tui.app import MonitorApp
from balanz.tui.connectors import ConnectorTable
from tests.tui.sites import load_site


def changed_site(snapshot, count, seed=1):
    rng = random.Random(seed)
    picked = set(rng.sample(range(len(snapshot.chargers)), count))
    chargers = []
    for index, charger in enumerate(snapshot.chargers):
        if index in picked:
            conn = charger.connectors[0]
            offer = float(rng.choice((6, 8, 10, 12, 14, 16)))
            charger = replace(
                charger, connectors=(replace(conn, offer_a=offer, target_a=offer), *charger.connectors[1:])
            )
        chargers.append(charger)
    return replace(snapshot, at="2026-11-24T16:40:13+01:00", chargers=tuple(chargers))


def ms(start):
    return (time.perf_counter() - start) * 1000


async def main():
    site = load_site("site2000.json.gz")
    app = MonitorApp(None, refresh_interval=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ConnectorTable)
        start = time.perf_counter()
        app.load(site, seq=1)
        app.flush()
        await pilot.pause()
        print(f"first build of {table.row_count} rows: {ms(start):.0f} ms")
        snapshot = site
        for count in (20, 200, 2000):
            new = changed_site(snapshot, count, seed=count)
            delta = diff(snapshot, new)
            start = time.perf_counter()
            applied = apply(snapshot, delta)
            apply_ms = ms(start)
            assert applied == new
            start = time.perf_counter()
            app.snapshot = snapshot
            app.seq = 1
            app.on_push(Push("delta", 2, delta))
            app.flush()
            await pilot.pause()
            print(
                f"delta changing {count:>4} connectors: apply {apply_ms:6.1f} ms,"
                f" apply+refresh {ms(start):6.1f} ms, rebuilds {table.rebuilds}"
            )
            snapshot = new
        start = time.perf_counter()
        table.set_filter("P07", app.snapshot)
        await pilot.pause()
        print(f"filter to {table.row_count} rows: {ms(start):.0f} ms")
        start = time.perf_counter()
        table.set_filter("", app.snapshot)
        await pilot.pause()
        print(f"filter cleared, {table.row_count} rows again: {ms(start):.0f} ms")
        start = time.perf_counter()
        table.sort_by("offer")
        await pilot.pause()
        print(f"sort {table.row_count} rows by offer: {ms(start):.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
