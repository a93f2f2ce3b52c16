"""The 2,000-charger recording: live deltas touch only their cells, filter and sort work on all rows."""

from dataclasses import replace

from balanz.tui.connectors import ConnectorTable
from balanz.tui.header import SiteHeader
from tests.tui.harness import run_monitor, wait_for
from tests.tui.sites import load_site


def test_large_site_updates_in_place_and_filters():
    site = load_site("site2000.json.gz")

    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        assert table.row_count == 4000
        header = str(app.query_one(SiteHeader).render())
        assert header == " balanz connected · LC · Campus Park · upstream 1960↑ 40↓ outbox 12 · 16:40:12"
        rebuilds = table.rebuilds
        changed = {c.id for c in site.chargers[::40]}
        new = replace(
            site,
            at="2026-11-24T16:40:13+01:00",
            chargers=tuple(
                replace(c, connectors=(replace(c.connectors[0], offer_a=31.0), *c.connectors[1:]))
                if c.id in changed
                else c
                for c in site.chargers
            ),
        )
        delta = await daemon.publish(new)
        assert set(delta["chargers"]["change"]) == changed
        await wait_for(pilot, lambda: app.snapshot.at == new.at, "the delta applied")
        await wait_for(
            pilot,
            lambda: all(str(table.get_cell(f"{cid}/1", "offer")) == "31.0" for cid in changed),
            "the changed cells",
        )
        assert table.rebuilds == rebuilds
        assert str(table.get_cell(f"{site.chargers[1].id}/1", "offer")) != "31.0"
        table.sort_by("offer", reverse=True)
        top = [str(table.get_cell(row.key, "offer")) for row in table.ordered_rows[: len(changed)]]
        assert top == ["31.0"] * len(changed)
        await pilot.press("slash", *"p07 charging", "enter")
        charging_p07 = sum(
            1 for c in site.chargers if c.group == "P07" for k in c.connectors if k.status == "Charging"
        )
        assert table.row_count == charging_p07

    run_monitor(scenario, site=site)
