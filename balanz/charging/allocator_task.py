"""The allocator as a daemon service: events in, one plan per burst, reductions before increases.

It sleeps until something relevant happens or until the core's ``next_instant``, at most ``run_interval_s``
(the spec's safety net; a run that changes nothing sends nothing); a burst of events within ``debounce_s``
costs one run. One run (allocation.md §3): plan, then post the reductions and the increases the plan
released to the chargers' senders (``Dispatcher.post``) without waiting for any answer. The two phases
of the spec are kept by the exposures, not by waiting: a posted offer counts at once, an unanswered or
settling reduction counts at its old value, so the plan releases an increase only when the limits hold
anyway; the answers are events that start the next run, which releases what they made room for. A
failing run is logged, the state kept, and retried on the next event or after ``run_interval_s`` — it
never takes the daemon down.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import trio

from balanz.allocation import events as tr
from balanz.allocation.model import Params, Site
from balanz.allocation.planner import Change, Plan, plan
from balanz.allocation.state import State
from balanz.allocation.timeshift import shifted
from balanz.charging import retry_delay
from balanz.charging.dispatch import Dispatcher
from balanz.charging.onboard import Onboarding
from balanz.charging.resync import resync
from balanz.charging.site_model import (
    accepted,
    apply_event,
    build_params,
    build_site,
    offered_proof,
    offered_trail,
    restored_state,
)
from balanz.clock import SiteClock
from balanz.config.schema import ChargerConfig, Config
from balanz.csms.meter_values import MeterSample
from balanz.events import (
    ChargerBooted,
    ChargerConnected,
    ChargerDisconnected,
    Event,
    EventBus,
    MeterUpdated,
    Subscription,
    TransactionStopped,
)

if TYPE_CHECKING:
    from balanz.daemon import Daemon

log = logging.getLogger(__name__)

MIN_SLEEP_S = 0.01
# Answers that free capacity skip the debounce; those arriving within this window (or within the last
# run's duration, if longer: a burst of answers on a large site must not keep the allocator busy) still
# share one run.
FREED_COALESCE_S = 0.005


@dataclass
class AllocatorService:
    """``state`` is the allocation core's state, owned here; ``last_plan`` is what the monitor shows."""

    config: Config
    site: Site
    params: Params
    clock: SiteClock
    bus: EventBus
    dispatcher: Dispatcher = field(init=False)
    state: State = field(init=False)
    last_plan: Plan | None = None
    runs: int = 0
    failures: int = 0
    _dirty: trio.Event = field(default_factory=trio.Event)
    _freed: bool = False
    _last_run_s: float = 0.0
    _nursery: trio.Nursery | None = None
    _first_reassertion: set[str] = field(default_factory=set)
    status_of: Callable[[str, int], str | None] | None = None
    runtime_chargers: Callable[[], Iterable[ChargerConfig]] | None = None
    live_transactions: Callable[[], Iterable[Any]] | None = None
    operator_intents: Callable[[State], State] | None = None
    _stored: dict[tuple[str, int], Any] = field(default_factory=dict)
    _held_until: datetime | None = None
    queue_capacity: int = 4096
    resyncs: int = 0
    _generations: dict[str, int] = field(default_factory=dict)
    onboarding: Onboarding | None = None
    _trails: dict[tuple[str, int], tuple[MeterSample, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        config: Config,
        clock: SiteClock,
        bus: EventBus,
        connections: Any,
        store: Any = None,
        runtime: Iterable[ChargerConfig] = (),
    ) -> AllocatorService:
        """``runtime``: chargers known besides the configured ones (autoregistered, from the store)."""
        service = cls(config, build_site(config, runtime), build_params(config), clock, bus)
        service.dispatcher = Dispatcher(
            config,
            service.site,
            service.params,
            connections,
            now=clock.now,
            state=lambda: service.state,
            update=service.update,
            store=store,
            record=service.record,
            freed=service.freed,
        )
        service.onboarding = Onboarding(config, service.dispatcher, bus, store)
        return service

    def restore(self, stored: dict[tuple[str, int], Any]) -> None:
        """R23: resume from the store's connector states; applied when the service starts, before any
        charger can connect (the start-up instant is the start of ``first_wait_s``)."""
        self._stored = dict(stored)

    def update(self, transition: Any) -> None:
        """Apply a transition to the state and ask for a run (an answer is a relevant event too)."""
        self.state = transition(self.state)
        self._dirty.set()

    def freed(self, transition: Any) -> None:
        """An accepted reduction: run as soon as possible, the increases it made room for are waiting
        (the debounce is for bursts of CSMS events, not for our own answers)."""
        self._freed = True
        self.update(transition)

    def record(self, transition: Any) -> None:
        """Apply a transition the run itself caused (an offer posted): no new run for it."""
        self.state = transition(self.state)

    def set_external_limit(self, group_id: str, headroom_a: int, valid_s: float) -> None:
        """Upstream input ``group=site headroom=...A valid=10s``: a cap on the group until it goes stale."""
        if group_id not in self.site.group_by_id:
            raise KeyError(f'external limit for group "{group_id}": no such group in the configuration')
        until = self.clock.now() + timedelta(seconds=valid_s)
        self.update(lambda s: tr.set_external_limit(s, group_id, int(headroom_a), until))

    def clock_stepped(self, step: timedelta) -> None:
        """The site clock followed a step of the host clock: remembered instants move with it, so every
        settling window, ramp interval and validity keeps its length; the next run plans at the new time
        (schedule slots may have changed) from scratch."""
        self.last_plan = None
        self.update(lambda s: shifted(s, step))

    # ---- the service -----------------------------------------------------------------------------------

    def refresh_site(self) -> bool:
        """Model.md §7: a charger autoregistered (or given a new connector) while running joins the site at
        once, its unknown connectors counted at their maximum until confirmed; the state carries over."""
        if self.runtime_chargers is None:
            return False
        site = build_site(self.config, self.runtime_chargers())
        if site.chargers == self.site.chargers:
            return False
        log.info("allocator: site now has %d charger(s)", len(site.chargers))
        self.site = site
        self.dispatcher.site = site
        self.dispatcher.forget_setups()
        return True

    def _unknown(self, event: Event) -> bool:
        if event.charger_id not in self.site.charger_by_id:
            return True
        connector_id = getattr(event, "connector_id", None)
        return bool(connector_id) and (event.charger_id, connector_id) not in self.site.connector_by_key

    def _resumed_sessions(self, state: State) -> State:
        """Transactions the CSMS resumed from the store are sessions the charger still runs: without them
        the allocator would treat the connector as idle and the old TxProfile would stay in force."""
        for tx in self.live_transactions() if self.live_transactions is not None else ():
            key = (tx.charger_id, tx.connector_id)
            if key in self.site.connector_by_key:
                state = tr.transaction_started(
                    state,
                    self.site,
                    key,
                    tx.transaction_id,
                    tx.start_time,
                    tx.meter_start_wh or 0.0,
                    tx.id_tag,
                )
        return state

    async def run(self, daemon: Daemon | None = None, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        # Started after the CSMS service resumed from the store: autoregistered chargers and open
        # transactions are known by now.
        self.refresh_site()
        self.state = self._resumed_sessions(restored_state(self.site, self.clock.now(), self._stored))
        if self.onboarding is not None:
            self.onboarding.restore_strategies()
        self.state = self.dispatcher.with_floors(self.state)
        if self.operator_intents is not None:
            self.state = self.operator_intents(self.state)
        sub = self.bus.subscribe("allocator", capacity=self.queue_capacity)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.dispatcher.nursery = nursery
            nursery.start_soon(self._consume, sub)
            task_status.started()
            await self._loop()

    async def _consume(self, sub: Subscription) -> None:
        """Everything queued is applied per wake-up, not one event per scheduler round: with thousands of
        busy connections a round is long and one event per round cannot keep up with the meter values."""
        async for first in sub.receive:
            event: Event | None = first
            while event is not None:
                if sub.overflowed:
                    # This event and the queued ones are older than what the services say now.
                    self.resync(sub)
                else:
                    self.on_event(event)
                try:
                    event = sub.receive.receive_nowait()
                except trio.WouldBlock:
                    event = None

    def resync(self, sub: Subscription | None = None) -> None:
        """The event queue overflowed: rebuild connections, statuses and sessions from the services
        (``balanz.charging.resync``), re-assert chargers on a connection we never heard of and restore
        the default of sessions that ended unseen, then run."""
        discarded = sub.resynced() if sub is not None else 0
        self.resyncs += 1
        log.warning(
            "allocator: event queue overflowed (%d event(s) lost, %d discarded); state rebuilt from the CSMS",
            sub.dropped if sub is not None else 0,
            discarded,
        )
        self.refresh_site()
        generations: dict[str, int | None] = {}
        for charger in self.site.chargers:
            conn = self.dispatcher.connections.connection(charger.id)
            generations[charger.id] = getattr(conn, "generation", 0) if conn is not None else None
        result = resync(
            self.state,
            self.site,
            self.clock.now(),
            generations,
            self._generations,
            self.status_of or (lambda _charger, _connector: None),
            self.live_transactions() if self.live_transactions is not None else None,
        )
        self.state = result.state
        for charger_id in result.reconnected:
            self._generations[charger_id] = generations[charger_id] or 0
            if self._nursery is not None and self.dispatcher.controlled(charger_id):
                self._nursery.start_soon(self._reassert, charger_id)
        for key in result.ended:
            if self._nursery is not None and self.dispatcher.controlled(key[0]):
                self._nursery.start_soon(self.dispatcher.session_ended, key)
        self._dirty.set()

    def on_event(self, event: Event) -> None:
        if self._unknown(event):
            self.refresh_site()
        try:
            self.state = apply_event(self.state, self.site, self.params, event)
        except Exception:
            log.exception("allocator: event %s could not be applied; state kept", type(event).__name__)
            return
        if isinstance(event, ChargerConnected):
            self._generations[event.charger_id] = event.generation
        if isinstance(event, ChargerConnected | ChargerBooted | ChargerDisconnected):
            self.dispatcher.forget_retries(event.charger_id)
        elif isinstance(event, MeterUpdated):
            self._offered_shows(event)
        if self._nursery is not None and self.dispatcher.controlled(event.charger_id):
            if isinstance(event, ChargerConnected | ChargerBooted):
                self._nursery.start_soon(self._reassert, event.charger_id)
            elif isinstance(event, TransactionStopped):
                self._nursery.start_soon(
                    self.dispatcher.session_ended, (event.charger_id, event.connector_id)
                )
        self._dirty.set()

    def _offered_shows(self, event: MeterUpdated) -> None:
        """R19: Current.Offered matching an unanswered offer for two consecutive samples resolves it as if
        the charger had accepted it."""
        key = (event.charger_id, event.connector_id)
        if key not in self.site.connector_by_key:
            return
        cs = self.state.connector(key)
        trail = offered_trail(self._trails.get(key, ()), event.samples, cs)
        if trail:
            self._trails[key] = trail
        value = offered_proof(cs, trail, self.dispatcher.setup(event.charger_id).profiles)
        if value is None:
            return
        self.state = accepted(self.state, key, value, event.at, self.params)
        self.dispatcher.resolved(key, event.at)

    async def _reassert(self, charger_id: str) -> None:
        self._first_reassertion.add(charger_id)
        try:
            if self.onboarding is not None:
                await self.onboarding.onboard(charger_id, self._nursery)
            done = await self.dispatcher.reassert(charger_id)
        finally:
            self._first_reassertion.discard(charger_id)
            self._dirty.set()
        attempt = 0
        while not done:
            if self.dispatcher.connections.connection(charger_id) is None:
                return
            await trio.sleep(retry_delay(attempt, self.config.profiles))
            attempt += 1
            done = await self.dispatcher.reassert(charger_id)
        self._refresh_statuses(charger_id)
        self._dirty.set()

    def _refresh_statuses(self, charger_id: str) -> None:
        """The CSMS publishes a status only when it changes; after a reconnection the allocator has
        forgotten it (a charger need not repeat an unchanged status), so it is read back from the service."""
        if self.status_of is None:
            return
        now = self.clock.now()
        for connector in self.site.charger_by_id[charger_id].connectors:
            status = self.status_of(charger_id, connector.connector_id)
            if status is not None and self.state.connector(connector.key).status is None:
                self.state = tr.status_changed(self.state, connector.key, status, now)

    async def _loop(self) -> None:
        debounce = max(self.params.debounce_s, 0.0)
        while True:
            wake = self._wake_at()
            with trio.move_on_at(wake):
                await self._dirty.wait()
            if self._dirty.is_set() and debounce > 0:
                freed = min(debounce, max(FREED_COALESCE_S, self._last_run_s))
                await trio.sleep(freed if self._freed else debounce)
            self._dirty = trio.Event()
            self._freed = False
            began = time.perf_counter()
            try:
                self.run_once()
                self._last_run_s = time.perf_counter() - began
            except Exception:
                self.failures += 1
                log.exception(
                    "allocator run failed; state kept, retrying in %g s", self.params.run_interval_s
                )
                with trio.move_on_after(self.params.run_interval_s):
                    await self._dirty.wait()

    def _wake_at(self) -> float:
        """The plan's next instant, but no later than ``run_interval_s`` from now: the spec's safety net
        against a missed trigger (a run that changes nothing sends nothing, R16)."""
        now = trio.current_time()
        interval = self.params.run_interval_s
        wake = now + interval if interval > 0 else math.inf
        instant = self.last_plan.next_instant if self.last_plan is not None else None
        for at in (instant, self._held_until):
            if at is not None:
                wake = min(wake, self.clock.trio_time_at(at))
        # A plan whose next instant is already past must not make the loop spin without time passing.
        return max(wake, now + MIN_SLEEP_S)

    def run_once(self) -> Plan:
        """One run: plan, then hand the reductions and the released increases the pacing rules let go
        (``balanz.charging.pacing``) to the senders; the others come again from the run at their time."""
        now = self.clock.now()
        # The previous plan makes this an incremental run (only what the events since touched is redone;
        # identical to a full run, tests/allocation/test_properties.py); it is dropped when the site or the
        # clock changed under it.
        result = plan(self.site, self.state, self.params, now, previous=self.last_plan)
        self.state = result.state
        self.last_plan = result
        self.runs += 1
        reductions, held_r = self.dispatcher.ready(result.reductions, True, now)
        increases, held_i = self.dispatcher.ready(self._after_reassertion(result.increases), False, now)
        self._held_until = min((at for at in (held_r, held_i) if at is not None), default=None)
        if reductions or increases:
            self.dispatcher.post(reductions, increases)
        return result

    def _after_reassertion(self, increases: tuple[Change, ...]) -> list[Change]:
        """R24: no increase anywhere in a group tree while one of its chargers is being re-asserted; the
        end of that attempt asks for a new run. Only the first attempt holds the group: a charger that
        rejects or never answers stays pinned at its exposure and costs only its own offer."""
        blocked = {
            self.site.roots[c.key]
            for charger_id in self._first_reassertion
            for c in self.site.charger_by_id[charger_id].connectors
            if c.key in self.site.roots
        }
        if not blocked:
            return list(increases)
        kept = [change for change in increases if self.site.roots.get(change.key) not in blocked]
        if len(kept) < len(increases):
            log.info(
                "%d increase(s) held until group(s) %s are re-asserted",
                len(increases) - len(kept),
                sorted(blocked),
            )
        return kept
