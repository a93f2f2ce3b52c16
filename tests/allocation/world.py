"""A tiny simulated site for allocation tests: chargers that answer, EVs that draw, and a shell loop.

The loop is what the real shell must do: apply events, run ``plan(now)``, send reductions and released
increases (``offer_sent``), record answers, sleep until the next event or ``plan.next_instant``. After
every step the safety checker runs: at every step instant the invariant must hold (``strict``), and a
plan's sends must never make any constraint worse than it already was.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from balanz.allocation import events
from balanz.allocation.invariant import excesses, violations, window_violations
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.planner import Plan, plan
from balanz.allocation.state import State


@dataclass
class EV:
    max_a: float = 32.0
    draws: bool = True
    phases: int = 3
    energy_wh: float = 0.0
    start_drawing_at: datetime | None = None


@dataclass
class World:
    site: Site
    params: Params
    now: datetime
    state: State = None  # type: ignore[assignment]
    ack_delay: timedelta = timedelta(seconds=1)
    meter_interval: timedelta = timedelta(seconds=30)
    strict: bool = True
    evs: dict[Key, EV] = field(default_factory=dict)
    answer: dict[str, str] = field(default_factory=dict)  # charger -> "accept" | "reject" | "lose"
    log: list[tuple[datetime, Key, int]] = field(default_factory=list)  # accepted offers
    sent: list[tuple[datetime, Key, int, str]] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    queue: list[tuple[datetime, int, str, tuple]] = field(default_factory=list)
    seq: itertools.count = field(default_factory=itertools.count)
    next_meter: datetime | None = None

    def __post_init__(self) -> None:
        if self.state is None:
            self.state = State(started_at=self.now - timedelta(hours=1))

    # --- setup -------------------------------------------------------------------------------------------

    def connect_all(self, idle_status: str = "Available") -> None:
        for charger in self.site.chargers:
            self.state = events.charger_connected(self.state, self.site, charger.id, self.now, booted=False)
            for connector in charger.connectors:
                cs = self.state.connector(connector.key)
                self.state = events.status_changed(self.state, connector.key, idle_status, self.now)
                if cs.acked is None:
                    self.state = self._accept_now(connector.key, 0)
            self.state = events.charger_reasserted(self.state, self.site, charger.id, self.now)

    def _accept_now(self, key: Key, value: int) -> State:
        state = events.offer_sent(self.state, key, value, self.now)
        return events.offer_accepted(state, key, value, self.now, self.params)

    def at(self, when: datetime, kind: str, *payload: object) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), kind, payload))

    def plug(self, key: Key, when: datetime, ev: EV, tag: str | None = None, tx: int | None = None) -> None:
        self.evs[key] = ev
        self.at(when, "plug", key, tag, tx if tx is not None else hash(key) % 100000)

    def unplug(self, key: Key, when: datetime) -> None:
        self.at(when, "unplug", key)

    # --- the loop -------------------------------------------------------------------------------------------

    def run_until(self, end: datetime) -> None:
        if self.next_meter is None:
            self.next_meter = self.now + self.meter_interval
        self.step()
        while True:
            candidates = [self.next_meter]
            if self.queue:
                candidates.append(self.queue[0][0])
            if self.plans and self.plans[-1].next_instant is not None:
                candidates.append(self.plans[-1].next_instant)
            t = min(candidates)
            if t > end:
                self.now = end
                return
            self.now = max(t, self.now)
            self.check_instant()
            while self.queue and self.queue[0][0] <= self.now:
                _when, _seq, kind, payload = heapq.heappop(self.queue)
                self.apply(kind, payload)
            if self.next_meter <= self.now:
                self.meter_tick()
                self.next_meter = self.now + self.meter_interval
            self.step()

    def check_instant(self) -> None:
        if self.strict:
            found = violations(self.site, self.state, self.params, self.now)
            assert not found, f"{self.now}: {[str(v) for v in found]}"

    def step(self) -> Plan:
        before = excesses(window_violations(self.site, self.state, self.params, self.now))
        result = plan(self.site, self.state, self.params, self.now, self.plans[-1] if self.plans else None)
        self.state = result.state
        for change in (*result.reductions, *result.increases):
            self.state = events.offer_sent(self.state, change.key, change.value, self.now)
            self.sent.append((self.now, change.key, change.value, change.rule))
            mode = self.answer.get(change.key[0], "accept")
            if mode == "accept":
                self.at(self.now + self.ack_delay, "accept", change.key, change.value)
            elif mode == "reject":
                self.at(self.now + self.ack_delay, "reject", change.key, change.value)
            else:
                self.at(self.now + timedelta(seconds=30), "timeout", change.key, change.value)
        after = excesses(window_violations(self.site, self.state, self.params, self.now))
        for constraint, excess in after.items():
            assert excess <= before.get(constraint, 0), f"{self.now}: sends worsened {constraint}: {excess}"
        self.plans.append(result)
        self.check_instant()
        return result

    def apply(self, kind: str, payload: tuple) -> None:
        s, now, params = self.state, self.now, self.params
        if kind == "plug":
            key, tag, tx = payload
            s = events.status_changed(s, key, "Preparing", now)
            s = events.transaction_started(s, self.site, key, tx, now, 0.0, tag)
            s = events.status_changed(s, key, "SuspendedEVSE", now)
        elif kind == "unplug":
            (key,) = payload
            s = events.transaction_stopped(s, key, now)
            s = events.status_changed(s, key, "Available", now)
            self.evs.pop(key, None)
        elif kind == "accept":
            key, value = payload
            s = events.offer_accepted(s, key, value, now, params)
            self.log.append((now, key, value))
            s = self._status_for(s, key)
        elif kind == "reject":
            key, value = payload
            s = events.offer_rejected(s, key, value, now)
        elif kind == "timeout":
            key, value = payload
            s = events.offer_timed_out(s, key, value, now)
        elif kind == "call":
            (function, args) = payload
            s = function(s, *args)
        self.state = s

    def _status_for(self, s: State, key: Key) -> State:
        cs = s.connector(key)
        ev = self.evs.get(key)
        if ev is None or cs.session is None:
            return s
        status = "SuspendedEVSE" if not cs.acked else ("Charging" if self.drawing(key) else "SuspendedEV")
        if status != cs.status:
            s = events.status_changed(s, key, status, self.now)
        return s

    def drawing(self, key: Key) -> bool:
        ev = self.evs[key]
        return ev.draws and (ev.start_drawing_at is None or self.now >= ev.start_drawing_at)

    def draw(self, key: Key) -> float:
        cs = self.state.connector(key)
        if key not in self.evs or not cs.acked or not self.drawing(key):
            return 0.0
        return max(0.0, min(float(cs.acked), self.evs[key].max_a) - 0.2)

    def meter_tick(self) -> None:
        for key, ev in list(self.evs.items()):
            cs = self.state.connector(key)
            if cs.session is None:
                continue
            self.state = self._status_for(self.state, key)
            amps = self.draw(key)
            ev.energy_wh += amps * 230 * ev.phases * self.meter_interval.total_seconds() / 3600
            currents = (amps, amps, amps) if ev.phases == 3 else (amps, 0.0, 0.0)
            self.state = events.meter_values(self.state, key, self.now, currents, self.params, ev.energy_wh)

    # --- reading the results ------------------------------------------------------------------------------

    def offers(self, key: Key) -> list[int]:
        """The sequence of distinct accepted offers of one connector."""
        values: list[int] = []
        for _t, k, v in self.log:
            if k == key and (not values or values[-1] != v):
                values.append(v)
        return values

    def offer_at(self, key: Key) -> int | None:
        return self.state.connector(key).acked
