"""Plays a scenario against a central system: every charger in one nursery, the timeline at its instants.

`SiteRun.run` is the whole simulation: it starts each scenario charger as a `SimCharger` (specs mapped by
scenario_specs.py), sleeps on the simulated clock (clock.py: simulated time runs `speed` times trio time,
so under pytest's MockClock a day passes at once) until each event's instant and applies it through
operate.py, and stops by itself at the end of the scenario or at `until`, whichever is first. Companions
(the live summary, consoles) run in the same nursery and end with it.

What the timeline does per event: an arrival plugs the car in and presents its tag (the car's later
pauses and departure are in its `EvSpec` and played by the EV model); a reboot power-cycles the charger
for the event's offline time; a drop cuts the network for its duration; a fault marks the connector (0:
every connector) Faulted and, with a duration, clears it again.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import trio

from balanz.sim import operate
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.eventlog import EventLog
from balanz.sim.played import Played, SimulationEnded, SimulationStarted
from balanz.sim.scenario import Arrival, Event, Fault, NetworkDrop, Reboot, Scenario
from balanz.sim.scenario_specs import sim_spec
from balanz.sim.spec import SimChargerSpec

logger = logging.getLogger(__name__)

Companion = Callable[["SiteRun"], Awaitable[None]]
"""A task living as long as the run (summary printer, console); it gets the running `SiteRun`."""


class SiteRun:
    def __init__(
        self,
        scenario: Scenario,
        url: str,
        *,
        speed: float = 1.0,
        events: EventLog | None = None,
        until: datetime | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"--speed must be positive, got {speed:g}")
        self.scenario = scenario
        self.url = url
        self.speed = speed
        self.events = events if events is not None else EventLog()
        self.end = min(scenario.simulation.end, until) if until is not None else scenario.simulation.end
        self.ssl_context = ssl_context
        self.clock: SimClock | None = None
        self.chargers: dict[str, SimCharger] = {}
        self.finished = False
        self.notes: list[str] = []
        """One line per thing the operator should know before the run (keys not simulated)."""
        self._specs: list[SimChargerSpec] = []
        for charger in scenario.chargers:
            mapped = sim_spec(charger)
            self._specs.append(mapped.spec)
            if mapped.ignored_keys:
                keys = ", ".join(mapped.ignored_keys)
                self.notes.append(f"charger {charger.id}: configuration keys not simulated, left out: {keys}")

    def now(self) -> datetime:
        if self.clock is None:
            raise RuntimeError("the simulation has not started")
        return self.clock.now()

    def charger(self, charger_id: str) -> SimCharger:
        return self.chargers[charger_id]

    def played(
        self,
        charger: str,
        kind: str,
        connector: int | None,
        detail: str,
        source: str,
        at: datetime | None = None,
    ) -> None:
        """Scenario events are logged at their scheduled instant (`at`), console commands when typed."""
        self.events.emit(Played(at or self.now(), charger, kind, connector, detail, source))

    async def run(
        self,
        companions: Sequence[Companion] = (),
        at_end: Sequence[Callable[[SiteRun], None]] = (),
        *,
        task_status: trio.TaskStatus[SiteRun] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Until the end of the scenario (or `until`); returns normally then, with `finished` set.

        `at_end` runs at the final instant while every charger is still up (the closing summary).
        """
        clock = self.clock = SimClock.starting(self.scenario.simulation.start, self.speed)
        source = str(self.scenario.source or "")
        self.events.emit(SimulationStarted(clock.now(), "", source, self.url, self.speed,
                                           len(self._specs), self.end.isoformat()))  # fmt: skip
        async with trio.open_nursery() as nursery:
            for spec in self._specs:
                cp = SimCharger(spec, self.url, clock=clock, events=self.events, ssl_context=self.ssl_context)
                await nursery.start(cp.run)
                self.chargers[spec.id] = cp
            for companion in companions:
                nursery.start_soon(companion, self)
            nursery.start_soon(self._play, clock, nursery)
            task_status.started(self)
            await clock.sleep_until(self.end)
            self.finished = True
            for last in at_end:
                last(self)
            nursery.cancel_scope.cancel()
        # Logged once every charger task has ended: a task whose send had already completed when the scope
        # was cancelled still runs to its next checkpoint and may log that "Sent" (seen under load), and
        # nothing may follow the end in the log.
        self.events.emit(SimulationEnded(self.end, "", "end of the scenario"))

    async def _play(self, clock: SimClock, nursery: trio.Nursery) -> None:
        for event in self.scenario.events:
            if event.at >= self.end:
                return
            await clock.sleep_until(event.at)
            try:
                self._apply(event, clock, nursery)
            except operate.OperateError as exc:
                logger.warning("%s", exc)
                self.played(event.charger, _kind(event), None, f"not applied: {exc}", "scenario", event.at)

    def _apply(self, event: Event, clock: SimClock, nursery: trio.Nursery) -> None:
        cp = self.chargers[event.charger]
        if isinstance(event, Arrival):
            detail = operate.plug(cp, event.connector, event.ev, event.tag)
            self.played(cp.id, "arrive", event.connector, detail, "scenario", event.at)
        elif isinstance(event, Reboot):
            detail = operate.reboot(cp, event.offline.total_seconds())
            self.played(cp.id, "reboot", None, detail, "scenario", event.at)
        elif isinstance(event, NetworkDrop):
            detail = operate.drop(cp, event.duration.total_seconds())
            self.played(cp.id, "drop", None, detail, "scenario", event.at)
        elif isinstance(event, Fault):
            detail = operate.fault(cp, event.connector, event.error_code)
            self.played(cp.id, "fault", event.connector, detail, "scenario", event.at)
            if event.duration is not None:
                nursery.start_soon(self._clear_fault, clock, cp, event.at + event.duration, event.connector)

    async def _clear_fault(self, clock: SimClock, cp: SimCharger, at: datetime, connector: int) -> None:
        await clock.sleep_until(at)
        detail = operate.clear_fault(cp, connector)
        self.played(cp.id, "fault cleared", connector, detail, "scenario", at)


def _kind(event: Event) -> str:
    return {Arrival: "arrive", Reboot: "reboot", NetworkDrop: "drop", Fault: "fault"}[type(event)]
