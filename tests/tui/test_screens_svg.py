"""SVG snapshots of the main screens at 80×24 and 160×48 (pytest-textual-snapshot).

The app is fed the recorded snapshot directly (``load``), without a socket: the picture depends only on
the data, and every time on screen is relative to the snapshot's own clock, so these never drift.
Regenerate after an intended change with ``pytest tests/tui/test_screens_svg.py --snapshot-update`` and
look at the report before committing.
"""

import pytest

from balanz.tui.app import MonitorApp
from tests.tui.harness import wait_for
from tests.tui.sites import load_site

SMALL, LARGE = (80, 24), (160, 48)


def fed(site: str, connection: str = "connected", online: bool = True):
    snapshot = load_site(site)

    async def run_before(pilot):
        app = pilot.app
        app.show_connection(connection, online)
        app.load(snapshot, seq=1)
        await wait_for(pilot, lambda: app.flushes > 0, "the snapshot on screen")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_main_screen(snap_compare, size):
    assert snap_compare(MonitorApp(None), terminal_size=size, run_before=fed("site4.json"))


def test_main_screen_2000_chargers(snap_compare):
    assert snap_compare(MonitorApp(None), terminal_size=LARGE, run_before=fed("site2000.json.gz"))


def test_detail_on_a_small_terminal(snap_compare):
    assert snap_compare(
        MonitorApp(None), terminal_size=SMALL, press=["down", "down", "d"], run_before=fed("site4.json")
    )


def test_confirm_stop(snap_compare):
    assert snap_compare(MonitorApp(None), terminal_size=SMALL, press=["x"], run_before=fed("site4.json"))


def test_help_screen(snap_compare):
    assert snap_compare(
        MonitorApp(None), terminal_size=SMALL, press=["question_mark"], run_before=fed("site4.json")
    )


def test_disconnected(snap_compare):
    run_before = fed("site4.json", "disconnected, retrying in 2s", online=False)
    assert snap_compare(MonitorApp(None), terminal_size=SMALL, run_before=run_before)
