"""Sending the allocator's decisions to the chargers and feeding the answers back into its state.

The allocator posts each plan's changes and goes on: every charger has its own sender task and queue
(``Outbox``), so a charger that answers slowly or never holds up only its own offers — the wire allows one
outstanding CALL per connection anyway. A posted offer counts in the exposures at once (R17 item 2), which
is what makes not waiting safe: the plan released an increase only if the limits hold with every
unanswered reduction still counted at its old value. A per-charger lock keeps one charger's sequences
(clear, set, swap of the default, re-assertion) together. What to send comes from the pure
``balanz.charging`` builders; every answer becomes a transition of the allocation state through ``update``
(accepted / rejected / timed out), which asks for the next run, and every offer is written to the store
before its CALL leaves (R23).

An offer whose answer never came pins its connector (R19): the plan leaves it alone, so its charger's
sender re-sends it itself (``site_model.retry_value``: the newest offer, 0 once idle) after
``retry_initial_s``, doubling up to ``retry_max_s`` (``pacing``), until an ``Accepted``, the charger's
Current.Offered (``resolved``) or a new connection (``forget_retries``: the re-assertion settles it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import trio

from balanz.allocation import events as tr
from balanz.allocation.exposure import charger_exposures
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.planner import Change
from balanz.allocation.state import State
from balanz.charging import (
    Action,
    ConnectorPlan,
    LiveVia,
    ProfilesSetup,
    Step,
    Strategy,
    clear_succeeded,
    effective_amps,
    idle_offer,
    needs_reassert,
    offer,
    reassert,
    release,
    start_transaction,
    stop_transaction,
)
from balanz.charging.outbox import Outbox
from balanz.charging.pacing import Pace, answered, release_at
from balanz.charging.sequences import default_amps
from balanz.charging.site_model import accepted, retry_value, withdrawn
from balanz.charging.strategy import retry_delay
from balanz.config.schema import ChargerConfig, Config
from balanz.profiles import Purpose
from balanz.store.records import ConnectorState as StoredConnector
from balanz.wire.errors import CallErrorReceived, CallTimeout, ConnectionLost, ResponseInvalid, WireError

log = logging.getLogger(__name__)

TIMED_OUT = "TimedOut"
UNSUPPORTED = frozenset({"NotSupported", "NotImplemented"})
_DEFAULT_STRATEGY = Strategy()


class Connections(Protocol):
    def connection(self, charger_id: str) -> Any: ...


class ConnectorStore(Protocol):
    def save_connector_state(self, state: StoredConnector) -> None: ...


@dataclass
class _Installed:
    """What we believe a connector holds: our TxDefault's amperes and the transaction of our TxProfile."""

    default_a: float = 0.0
    tx_of: int | None = None


@dataclass
class Dispatcher:
    """``update(fn)`` applies a state transition in the allocator and asks it to run again; ``record(fn)``
    applies one without (posting an offer is the run's own doing); ``freed(fn)`` asks for the run at once,
    without the debounce: an accepted reduction may have made the room that increases wait for.
    ``nursery`` hosts the sender tasks."""

    config: Config
    site: Site
    params: Params
    connections: Connections
    now: Callable[[], datetime]
    state: Callable[[], State]
    update: Callable[[Callable[[State], State]], None]
    store: ConnectorStore | None = None
    strategies: dict[str, Strategy] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)
    """Chargers whose profiles the operator released (``release-profiles``): none is installed again until
    ``reassert-profiles`` (the store keeps them across restarts)."""
    record: Callable[[Callable[[State], State]], None] | None = None
    freed: Callable[[Callable[[State], State]], None] | None = None
    nursery: trio.Nursery | None = None
    _outboxes: dict[str, Outbox] = field(default_factory=dict)
    _senders: set[str] = field(default_factory=set)
    _paces: dict[Key, Pace] = field(default_factory=dict)
    _spaced: dict[str, datetime] = field(default_factory=dict)
    """Per charger, when its last non-safety offer was posted or sent (``min_interval_s``, R18)."""
    _retry: set[Key] = field(default_factory=set)
    """Connectors whose offer went unanswered and that their charger's sender re-sends (R19)."""
    _pokes: dict[str, trio.Event] = field(default_factory=dict)
    _waiting: set[str] = field(default_factory=set)
    _unspaced: dict[Key, datetime | None] = field(default_factory=dict)
    """The charger's spacing before a queued increase was posted: restored when the ladder moves."""
    on_refused: Callable[[str, Step, str], bool | None] | None = None
    """The strategy ladder (balanz.charging.onboard): True = send again now under the next rung, False =
    uncontrollable, None = no ladder step. Without it NotSupported gives up at once."""
    profile_time: Callable[[str, datetime], datetime] | None = None
    _locks: dict[str, trio.Lock] = field(default_factory=dict)
    _installed: dict[Key, _Installed] = field(default_factory=dict)
    _setups: dict[str, ProfilesSetup] = field(default_factory=dict)

    def setup(self, charger_id: str) -> ProfilesSetup:
        if charger_id not in self._setups:
            charger = next((c for c in self.config.charger if c.id == charger_id), None)
            if charger is None:
                connectors = len(self.site.charger_by_id[charger_id].connectors)
                charger = ChargerConfig(
                    charger_id, self.site.charger_by_id[charger_id].group, connectors=connectors
                )
            self._setups[charger_id] = ProfilesSetup.from_config(charger, self.config.profiles)
        return self._setups[charger_id]

    def strategy_for(self, charger_id: str) -> Strategy:
        """The strategy chosen for this charger (probing sets it); the spec's default until then."""
        return self.strategies.get(charger_id) or _DEFAULT_STRATEGY

    def set_strategy(self, charger_id: str, strategy: Strategy | None) -> None:
        """Probing or the ladder chose a strategy (None: the charger is uncontrollable). A strategy that
        ends at a floor (0 A refused) raises what every connector of the charger holds: the core learns it
        here, before any offer is sent on the new strategy, so no acknowledged 0 A is ever counted as 0."""
        if strategy is None:
            self.strategies.pop(charger_id, None)
        else:
            self.strategies[charger_id] = strategy
        floor = self.floor_a(charger_id)
        self.update(lambda s: tr.charger_floor(s, self.site, charger_id, floor))

    def floor_a(self, charger_id: str) -> int:
        """The amperes each connector of the charger holds whatever it is offered (profiles.md §5.4): its
        idle limit, raised to the strategy's floor."""
        return math.ceil(self._idle(charger_id) - 1e-9)

    def with_floors(self, state: State) -> State:
        """``state`` with every charger's floor (at start-up and when the site changes)."""
        for charger in self.site.chargers:
            state = tr.charger_floor(state, self.site, charger.id, self.floor_a(charger.id))
        return state

    def dated(self, charger_id: str, now: datetime) -> datetime:
        """The instant profiles for this charger start from: in its own time when its clock runs behind
        ours (pitfalls P4), else ``now``."""
        return self.profile_time(charger_id, now) if self.profile_time is not None else now

    def forget_setups(self) -> None:
        """The site changed (a charger registered or grew a connector): setups are rebuilt on next use."""
        self._setups.clear()

    def _lock(self, charger_id: str) -> trio.Lock:
        return self._locks.setdefault(charger_id, trio.Lock())

    def _held(self, key: Key) -> _Installed:
        return self._installed.setdefault(key, _Installed(default_a=self._idle(key[0])))

    def _idle(self, charger_id: str) -> float:
        return effective_amps(self.strategy_for(charger_id), self.setup(charger_id).profiles.idle_limit_a)

    # ---- posting a plan's changes ----------------------------------------------------------------------

    def post(self, reductions: Sequence[Change], increases: Sequence[Change]) -> None:
        """Queue a plan's changes on their chargers' outboxes and return at once; the answers come back as
        transitions through ``update``."""
        if self.nursery is None:
            raise RuntimeError("Dispatcher.post needs the allocator's nursery (set Dispatcher.nursery)")
        now = self.now()
        for change in reductions:
            self._post(change, True, now)
        for change in increases:
            self._post(change, False, now)

    def ready(
        self, changes: Sequence[Change], reduction: bool, now: datetime
    ) -> tuple[list[Change], datetime | None]:
        """The changes the pacing rules let go at ``now`` (back-off after failures, ``min_interval_s`` per
        charger: of two increases for one charger only the first goes), and the earliest instant one held
        back may go (the allocator runs again then)."""
        go: list[Change] = []
        wake: datetime | None = None
        released: dict[str, datetime] = {}
        for change in changes:
            charger_id = change.key[0]
            profiles = self.setup(charger_id).profiles
            spaced = released.get(charger_id, self._spaced.get(charger_id))
            at = release_at(self._paces.get(change.key, Pace()), change.value, reduction, profiles, spaced)
            if at is None or at <= now:
                go.append(change)
                if not reduction:
                    released[charger_id] = now
                continue
            log.debug("charger %s connector %d: offer %d A held until %s", *change.key, change.value, at)
            wake = at if wake is None else min(wake, at)
        return go, wake

    def idle(self) -> bool:
        """Nothing queued and nothing on the wire (tests and benchmarks wait for it); a sender waiting to
        re-send an unanswered offer is idle."""
        return self._senders <= self._waiting

    def _post(self, change: Change, reduction: bool, now: datetime) -> None:
        key, value = change.key, change.value
        charger_id = key[0]
        if self.connections.connection(charger_id) is None:
            log.info("charger %s connector %d: not connected, offer %d A not sent", *key, value)
            return
        outbox = self._outboxes.setdefault(charger_id, Outbox())
        replaced = outbox.put(change, reduction)
        if not reduction:
            self._unspaced.setdefault(key, self._spaced.get(charger_id))
            self._spaced[charger_id] = now

        def queued(s: State) -> State:
            if replaced is not None:
                s = withdrawn(s, key, replaced.value)
            return tr.offer_sent(s, key, value, now)

        (self.record or self.update)(queued)
        self._wake_sender(charger_id)

    def _wake_sender(self, charger_id: str) -> None:
        """Start the charger's sender, or wake it from waiting for its next re-send."""
        poke = self._pokes.get(charger_id)
        if poke is not None:
            poke.set()
        if charger_id not in self._senders:
            assert self.nursery is not None
            self._senders.add(charger_id)
            self.nursery.start_soon(self._sender, charger_id)

    async def _sender(self, charger_id: str) -> None:
        """Send the charger's queued offers one by one, and re-send its unanswered ones when due, until
        neither is left. A failure is logged and costs this one offer (counted as unanswered, i.e. at its
        higher value); nothing else stops."""
        outbox = self._outboxes.setdefault(charger_id, Outbox())
        try:
            while True:
                wait = self._queue_retries(charger_id, outbox)
                item = outbox.take()
                if item is None:
                    if wait is None:
                        return
                    poke = self._pokes[charger_id] = trio.Event()
                    self._waiting.add(charger_id)
                    try:
                        with trio.move_on_after(wait):
                            await poke.wait()
                    finally:
                        self._waiting.discard(charger_id)
                    continue
                change = item.change
                try:
                    async with self._lock(charger_id):
                        await self._send_change(change, item.reduction, retry=item.retry)
                except Exception:
                    log.exception(
                        "charger %s connector %d: sending offer %d A failed; counted as unanswered",
                        *change.key,
                        change.value,
                    )
                    self._unanswered(change.key, change.value)
        finally:
            self._senders.discard(charger_id)
            self._pokes.pop(charger_id, None)

    def _unanswered(self, key: Key, value: int) -> None:
        at = self.now()
        self._paces[key] = answered(self._paces.get(key, Pace()), value, False, at)
        self._retry.add(key)
        self.update(lambda s: tr.offer_timed_out(s, key, value, at))

    # ---- re-sending unanswered offers (R19) ------------------------------------------------------------

    def _queue_retries(self, charger_id: str, outbox: Outbox) -> float | None:
        """Queue the charger's re-sends that are due; the seconds until the next one, None if none is left.
        A connector no longer unresolved (accepted, proven by Current.Offered, re-asserted) is dropped, and
        so is every one of a charger gone or uncontrollable."""
        keys = [key for key in self._retry if key[0] == charger_id]
        if not keys:
            return None
        state = self.state()
        ch = state.charger(charger_id)
        if self.connections.connection(charger_id) is None or not ch.connected or ch.uncontrollable:
            self._retry.difference_update(keys)
            return None
        now = self.now()
        profiles = self.setup(charger_id).profiles
        wait: float | None = None
        for key in keys:
            cs = state.connector(key)
            value = retry_value(cs)
            if value is None:
                self._retry.discard(key)
                continue
            reduction = value < (
                cs.acked if cs.acked is not None else self.site.connector_by_key[key].max_current_a
            )
            at = release_at(
                self._paces.get(key, Pace()), value, reduction, profiles, self._spaced.get(charger_id)
            )
            if at is not None and at > now:
                seconds = (at - now).total_seconds()
                wait = seconds if wait is None else min(wait, seconds)
                continue
            self._retry.discard(key)
            pace = self._paces.get(key, Pace())
            log.info(
                "charger %s connector %d: offer %d A unanswered; sending it again (attempt %d)",
                *key,
                value,
                pace.failures + 1,
            )
            change = Change(key, value, cs.acked, value, "R19", "re-send of an unanswered offer")
            outbox.put(change, reduction, retry=True)
            if not reduction:
                self._unspaced.setdefault(key, self._spaced.get(charger_id))
                self._spaced[charger_id] = now
            if all(f.value != value for f in cs.in_flight):
                (self.record or self.update)(
                    lambda s, key=key, value=value: tr.offer_sent(s, key, value, now)
                )
        return wait

    def _restore_spacing(self, charger_id: str, spaced: datetime | None) -> None:
        if spaced is None:
            self._spaced.pop(charger_id, None)
        else:
            self._spaced[charger_id] = spaced

    def resolved(self, key: Key, at: datetime) -> None:
        """The charger showed the unanswered offer applied (Current.Offered, R19): no more re-sends."""
        if key in self._retry:
            log.info("charger %s connector %d: unanswered offer shown applied by Current.Offered", *key)
        self._retry.discard(key)
        self._paces[key] = Pace()
        poke = self._pokes.get(key[0])
        if poke is not None:
            poke.set()

    def forget_retries(self, charger_id: str) -> None:
        """The charger disconnected or connected anew: the re-assertion that follows a connection settles
        its unanswered offers (R24), so its sender stops re-sending them."""
        keys = [key for key in self._retry if key[0] == charger_id]
        self._retry.difference_update(keys)
        poke = self._pokes.get(charger_id)
        if poke is not None:
            poke.set()

    def _steps(self, change: Change, now: datetime) -> tuple[list[Step], Callable[[], None]]:
        """The CALLs for one change and what to remember once its main step is Accepted."""
        key = change.key
        setup = self.setup(key[0])
        held = self._held(key)
        session = self.state().connector(key).session
        tx = (
            session.transaction_id
            if session is not None and isinstance(session.transaction_id, int)
            else None
        )
        if tx is None:
            steps = idle_offer(self.strategy_for(key[0]), setup, key[1], change.value, now)

            def remember() -> None:
                held.default_a = steps[0].limit_a or 0.0

            return steps, remember
        plan = ConnectorPlan(key[1], change.value, tx)
        if held.tx_of != tx:
            steps = start_transaction(self.strategy_for(key[0]), setup, plan, held.default_a, now)
        else:
            steps = offer(self.strategy_for(key[0]), setup, plan, float(change.previous or 0), now)

        def remember_tx() -> None:
            held.tx_of = tx

        return steps, remember_tx

    async def _send_change(self, change: Change, reduction: bool = False, retry: bool = False) -> None:
        """``retry``: a re-send of an unanswered offer (R19); a refusal leaves the unanswered one counted."""
        key, value = change.key, change.value
        conn = self.connections.connection(key[0])
        if conn is None or not self.sends_profiles(key[0]):
            why = "went away" if conn is None else "released or out of smart charging"
            log.info("charger %s connector %d: %s, offer %d A not sent", *key, why, value)
            self.update(lambda s: withdrawn(s, key, value))
            return
        now = self.now()
        steps, remember = self._steps(change, self.dated(key[0], now))
        paced = self._paces.get(key, Pace())
        spaced = self._unspaced.pop(key, self._spaced.get(key[0]))
        if not reduction:
            self._spaced[key[0]] = now
        # R23: the charger may apply this offer whatever happens to us next, so its exposure is durable
        # before the CALL leaves; a restart then counts the connector at it until re-asserted.
        self._persist(key[0], now)
        log.info(
            "charger %s connector %d: offer %s → %d A (%s: %s)",
            *key,
            change.previous,
            value,
            change.rule,
            change.reason,
        )
        main = next(i for i, s in enumerate(steps) if s.action is Action.SET)
        outcome = "Accepted"
        last = "Accepted"
        refused: Step | None = None
        for i, step in enumerate(steps):
            if step.only_if_accepted and last != "Accepted":
                continue
            last = await self._call(conn, key[0], step)
            if i == main:
                outcome = last
                if last != "Accepted":
                    refused = step if last != TIMED_OUT else None
                    break
            elif step.action is Action.SET and last == "Accepted" and step.purpose is not None:
                self._held(key).default_a = step.limit_a or 0.0
            elif needs_reassert(step, last):
                log.warning("charger %s lost a profile we installed: re-asserting", key[0])
            elif step.action is Action.CLEAR and not clear_succeeded(last):
                outcome = last
                break
        at = self.now()
        self._paces[key] = answered(paced, value, outcome == "Accepted", at)
        if outcome == "Accepted":
            remember()
            notify = (self.freed or self.update) if reduction else self.update
            notify(lambda s: accepted(s, key, value, at, self.params))
            self._persist(key[0], at)
        elif outcome == TIMED_OUT:
            log.warning(
                "charger %s connector %d: offer %d A unanswered; counted as sent, re-sent in %g s",
                *key,
                value,
                retry_delay(self._paces[key].failures - 1, self.setup(key[0]).profiles),
            )
            self._retry.add(key)
            self.update(lambda s: tr.offer_timed_out(s, key, value, at))
            self._persist(key[0], at)
        else:
            log.warning(
                "charger %s connector %d: offer %d A %s; the previous limit stays", *key, value, outcome
            )
            if retry:
                # The unanswered offer may still be in force; only what this re-send added goes.
                self._retry.add(key)
                self.update(lambda s: withdrawn(s, key, value))
            else:
                self.update(lambda s: tr.offer_rejected(s, key, value, at))
            if refused is not None and self.on_refused is not None:
                if self.on_refused(key[0], refused, outcome):
                    # The ladder moved: the next strategy is tried at once, neither backed off nor spaced.
                    self._paces[key] = paced
                    self._restore_spacing(key[0], spaced)
            elif outcome in UNSUPPORTED:
                self._give_up(key[0], f"SetChargingProfile answered {outcome}")

    def controlled(self, charger_id: str) -> bool:
        """R25: only chargers under a constraining group are counted and onboarded at all."""
        charger = self.site.charger_by_id.get(charger_id)
        return (
            charger is not None and bool(charger.connectors) and charger.connectors[0].key in self.site.roots
        )

    def sends_profiles(self, charger_id: str) -> bool:
        """Whether balanz installs profiles on the charger: a controlled one whose configuration leaves it
        under smart charging. ``smart_charging = false`` (or ``strategy = "off"``) means never send
        profiles (model.md): it is counted at its maximum, and a blocking 0 A default would stop it
        charging altogether."""
        return (
            self.controlled(charger_id)
            and self.site.charger_by_id[charger_id].smart_charging
            and charger_id not in self.released
        )

    async def release_profiles(self, charger_id: str) -> list[str]:
        """Operator ``release-profiles`` (profiles.md §5.2): clear every profile id of ours on the charger.
        The caller has made room for it at its maximum first. Returns the clears that did not succeed."""
        conn = self.connections.connection(charger_id)
        if conn is None:
            return ["the charger went offline"]
        failed = []
        async with self._lock(charger_id):
            for step in release(self.strategy_for(charger_id), self.setup(charger_id)):
                status = await self._call(conn, charger_id, step)
                if not clear_succeeded(status):
                    failed.append(f"{step.action.value} {dict(step.payload)}: {status}")
        for connector in self.site.charger_by_id[charger_id].connectors:
            self._installed.pop(connector.key, None)
        return failed

    def _give_up(self, charger_id: str, why: str) -> None:
        """R19: a charger that cannot take profiles is uncontrollable; it stays counted at its maximum."""
        log.error(
            "charger %s cannot be controlled (%s): counted at its maximum; fix the charger, then reassert",
            charger_id,
            why,
        )
        self.update(lambda s: tr.charger_uncontrollable(s, self.site, charger_id, True))

    async def _call(self, conn: Any, charger_id: str, step: Step) -> str:
        """The status answered; ``TimedOut`` if none came or the link was lost; a CALLERROR gives its code."""
        try:
            answer = await conn.call_raw(step.action.value, step.as_dict())
        except (CallTimeout, ConnectionLost):
            return TIMED_OUT
        except ResponseInvalid as exc:
            # The charger answered, so it may well have applied the profile: the outcome is unknown and the
            # offer stays counted at its higher value, exactly as if no answer had come.
            log.warning(
                "charger %s: %s answered invalidly (%s); counted as unanswered",
                charger_id,
                step.action.value,
                exc,
            )
            return TIMED_OUT
        except CallErrorReceived as exc:
            log.warning("charger %s answered %s with CALLERROR %s", charger_id, step.action.value, exc.code)
            return str(exc.code)
        except WireError as exc:
            # Only PayloadInvalid gets here: raised before sending, so the charger never saw the CALL.
            log.warning("charger %s: %s not sent: %s", charger_id, step.action.value, exc)
            return "Invalid"
        return str(answer.get("status", "Accepted"))

    # ---- re-assertion, session end ---------------------------------------------------------------------

    async def reassert(self, charger_id: str) -> bool:
        """R24: install everything the charger must hold; True once all of it was Accepted (or the charger
        turned out uncontrollable, or gets no profiles by configuration). A refusal that moves the strategy
        ladder starts over at once."""
        if not self.sends_profiles(charger_id):
            return True
        while True:
            done = await self._reassert_once(charger_id)
            if done is not None:
                return done

    async def _reassert_once(self, charger_id: str) -> bool | None:
        """One pass of ``reassert``; None when the ladder moved and the pass must be made again."""
        conn = self.connections.connection(charger_id)
        if conn is None or not self.controlled(charger_id):
            return False
        async with self._lock(charger_id):
            state = self.state()
            now = self.now()
            plans = []
            values: dict[Key, int] = {}
            for connector in self.site.charger_by_id[charger_id].connectors:
                cs = state.connector(connector.key)
                tx = cs.session.transaction_id if cs.session is not None else None
                tx = tx if isinstance(tx, int) else None
                target = cs.sent_value or 0
                plans.append(ConnectorPlan(connector.connector_id, target, tx, cs.acked))
            setup = self.setup(charger_id)
            strategy = self.strategy_for(charger_id)
            for p in plans:
                amps = self._reasserted_a(strategy, setup, plans, p)
                values[(charger_id, p.connector_id)] = math.ceil(amps)
            steps = reassert(strategy, setup, plans, self.dated(charger_id, now))
            ok = True
            for step in steps:
                status = await self._call(conn, charger_id, step)
                if status == TIMED_OUT:
                    return False
                if step.action is Action.SET and status != "Accepted" and self.on_refused is not None:
                    moved = self.on_refused(charger_id, step, status)
                    if moved is not None:
                        return None if moved else True
                if step.action is Action.SET and status in UNSUPPORTED:
                    self._give_up(charger_id, f"{step.action.value} answered {status}")
                    return True
                if step.action is Action.SET:
                    ok = ok and status == "Accepted"
                    key = (charger_id, step.connector_id)
                    if status == "Accepted" and key in values:
                        held = self._held(key)
                        if step.purpose is Purpose.TX:
                            held.tx_of = next(p.transaction_id for p in plans if p.connector_id == key[1])
                        else:
                            held.default_a = step.limit_a or 0.0
            if not ok:
                log.warning("charger %s rejected part of the re-assertion; it stays pinned", charger_id)
                return False
            at = self.now()

            def settle(s: State) -> State:
                for key, value in values.items():
                    s = tr.offer_sent(s, key, value, at)
                    s = accepted(s, key, value, at, self.params)
                return tr.charger_reasserted(s, self.site, charger_id, at)

            self.update(settle)
            # A re-assertion is a non-safety send (R18): the charger's next increase is spaced from it.
            self._spaced[charger_id] = at
            self._persist(charger_id, at)
            log.info("charger %s: profiles re-asserted", charger_id)
            return True

    def _reasserted_a(
        self, strategy: Strategy, setup: ProfilesSetup, plans: list[ConnectorPlan], plan: ConnectorPlan
    ) -> float:
        """What the re-assertion lets this connector draw: its TxProfile during a transaction, else our
        TxDefault (the one on connector 0 follows connector 1's plan) — recorded as the confirmed limit, so
        it must be what the charger holds, not the lower of target and old acknowledgement."""
        if plan.transaction_id is not None and strategy.live is LiveVia.TX_PROFILE:
            return plan.live_amps
        if strategy.default_on_zero:
            plan = next((p for p in plans if p.connector_id == 1), ConnectorPlan(1))
        return default_amps(strategy, setup, plan)

    async def session_ended(self, key: Key) -> None:
        """R21: the default restored for the next session when a start swap never happened."""
        conn = self.connections.connection(key[0])
        held = self._held(key)
        held.tx_of = None
        if conn is None or not self.sends_profiles(key[0]):
            return
        async with self._lock(key[0]):
            for step in stop_transaction(
                self.strategy_for(key[0]),
                self.setup(key[0]),
                key[1],
                held.default_a,
                self.dated(key[0], self.now()),
            ):
                if await self._call(conn, key[0], step) == "Accepted":
                    held.default_a = step.limit_a or 0.0

    def _persist(self, charger_id: str, at: datetime) -> None:
        if self.store is None:
            return
        state = self.state()
        charger = self.site.charger_by_id[charger_id]
        exposures = charger_exposures(self.site, state, charger, self.params, at)
        for connector in charger.connectors:
            cs = state.connector(connector.key)
            try:
                self.store.save_connector_state(
                    StoredConnector(
                        charger_id,
                        connector.connector_id,
                        cs.acked,
                        float(exposures.get(connector.key, cs.acked or 0)),
                        at,
                    )
                )
            except Exception:
                log.exception("charger %s: offer state could not be written to the store", charger_id)
