"""Running the monitor against the fake daemon inside this trio-mode suite.

Textual needs asyncio and pytest-trio claims every ``async def`` test, so each test is a plain function that
calls ``run_monitor`` (``asyncio.run`` inside), as measured in stack.md §4. Waiting is on conditions, never on
a fixed delay: ``wait_for`` lets the app's loop run until the state the test expects is there.
"""

import asyncio
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from balanz.control.client import Backoff
from balanz.control.snapshot import Snapshot
from balanz.tui.app import MonitorApp
from tests.control.fake_daemon import FakeDaemon, listen, short_socket_path
from tests.tui.sites import load_site

Scenario = Callable[[MonitorApp, Pilot, FakeDaemon], Awaitable[None]]


async def wait_for(
    pilot: Pilot, condition: Callable[[], bool], what: str = "", timeout: float = 60.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.01)


def make_app(path: str) -> MonitorApp:
    return MonitorApp(path, refresh_interval=0.02, backoff=Backoff(initial=0.02, maximum=0.1))


def run_monitor(
    scenario: Scenario, site: Snapshot | str = "site4.json", size: tuple[int, int] = (160, 48)
) -> None:
    snapshot = load_site(site) if isinstance(site, str) else site

    async def main() -> None:
        path = short_socket_path()
        daemon = await FakeDaemon(snapshot, listen(path)).start()
        app = make_app(path)
        try:
            async with app.run_test(size=size) as pilot:
                await wait_for(pilot, lambda: app.flushes > 0, "the first snapshot on screen")
                await scenario(app, pilot, daemon)
        finally:
            await daemon.close()

    asyncio.run(main())
