"""Fixtures: a central system (balanz itself or a scripted one) on 127.0.0.1 plus N simulated chargers.

Everything runs in the test's nursery under trio's MockClock (autojump), so simulated hours take
milliseconds. `T0` is the simulated instant at the start of each test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import trio

from balanz.config.schema import Config, ModelConfig, ServerConfig
from balanz.csms.core_handlers import CoreHandlers
from balanz.server import OcppServer
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.eventlog import EventLog
from balanz.sim.spec import SimChargerSpec
from balanz.sim.testcsms import ScriptedCsms, csms_config, scripted_server
from balanz.wire import Registry
from tests.e2e.test_tls import certificate  # noqa: F401  (self-signed certificate fixture, shared with e2e)

T0 = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)


@dataclass
class Csms:
    """A running central system: its server, its URL and (for the scripted one) what it received."""

    server: OcppServer
    scripted: ScriptedCsms | None = None
    core: CoreHandlers | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}"

    def conn(self, charger_id: str) -> Any:
        conn = self.server.connection(charger_id)
        assert conn is not None, f"charger {charger_id} is not connected"
        return conn


@pytest.fixture
async def clock(autojump_clock: trio.testing.MockClock) -> SimClock:
    """Simulated time; each test must also name `autojump_clock` itself, since pytest-trio hands trio.run
    only a clock that is one of the test function's own arguments."""
    return SimClock.starting(T0)
    return SimClock.starting(T0)


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
async def scripted_csms(nursery: trio.Nursery, clock: SimClock) -> Csms:
    """The scripted test CSMS: answers Accepted with increasing transaction ids, records every request."""
    csms = ScriptedCsms(now=clock.now)
    server = scripted_server(csms, csms_config(call_timeout_s=30, ping_interval_s=0))
    await nursery.start(server.run)
    return Csms(server, scripted=csms)


@pytest.fixture
async def balanz_csms(nursery: trio.Nursery, clock: SimClock) -> Csms:
    """balanz's own server with its core handlers (BootNotification, Heartbeat, StatusNotification)."""
    config = Config(
        server=ServerConfig(host="127.0.0.1", port=0), model=ModelConfig(charger_autoregister=True)
    )
    registry = Registry()
    core = CoreHandlers(config, now=clock.now)
    core.register(registry)
    server = OcppServer(config, registry)
    await nursery.start(server.run)
    return Csms(server, core=core)


StartChargers = Callable[..., Awaitable[list[SimCharger]]]


@pytest.fixture
def start_chargers(nursery: trio.Nursery, clock: SimClock, events: EventLog) -> StartChargers:
    """`await start_chargers(csms, n=1, **spec_fields)` → N running chargers CP1..CPn, booted."""

    async def start(csms: Csms, n: int = 1, *, wait: bool = True, **fields: Any) -> list[SimCharger]:
        chargers = []
        for i in range(1, n + 1):
            spec = dataclasses.replace(SimChargerSpec(id=f"CP{i}"), **fields)
            charger = SimCharger(spec, csms.url, clock=clock, events=events)
            await nursery.start(charger.run)
            chargers.append(charger)
        if wait:
            for charger in chargers:
                await charger.wait_booted()
        return chargers

    return start


@pytest.fixture
async def sim_site(balanz_csms: Csms, start_chargers: StartChargers) -> tuple[Csms, list[SimCharger]]:
    """A balanz server plus three simulated chargers, booted."""
    return balanz_csms, await start_chargers(balanz_csms, 3)


async def settle(seconds: float = 1.0) -> None:
    """Let queued messages cross the loopback (virtual time; costs nothing under autojump)."""
    await trio.sleep(seconds)
