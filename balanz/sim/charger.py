"""One simulated charge point: its state, what each event does to it, and the control API tests use.

The charger is a single object owned by one trio task tree (`run`): `link.py` moves OCPP messages,
`actions.py` answers the central system, this module holds the state and the rules. Decisions are the pure
functions of `connector.py`, `balanz.profiles` and `ev.py`, evaluated at `self.clock.now()`; every state
change goes through `_advance(now)`, which re-steps the EVs under the limits the charger applies and
reports status changes, so the event log and the StatusNotifications follow from the state alone.

What survives a reboot (`reboot`, Reset, firmware update): the cable, availability, faults, the energy
register, the configuration keys, the queued transaction messages, and the ChargePointMax/TxDefault profiles
(errata 3.37: profiles persist across reboots). Lost: the transactions (stopped with a reason
and reported after the boot), their TxProfiles, presented tags, the auth cache. With
`QuirkFlags.forgets_profiles` every profile is lost, on reboot and on every reconnect.
"""

from __future__ import annotations

import logging
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import trio

from balanz.profiles import (
    ChargerView,
    ConnectorState,
    Limit,
    ProfileStore,
    charger_limits,
    next_change_after,
)
from balanz.profiles.model import format_time
from balanz.sim import connector as cn
from balanz.sim import ev
from balanz.sim.clock import SimClock
from balanz.sim.eventlog import (
    Booted,
    EvDraw,
    EventLog,
    LimitChanged,
    Rebooted,
    StatusChanged,
)
from balanz.sim.link import run_link
from balanz.sim.meter import Reading, measurands_of, sampled_values
from balanz.sim.sessions import Sessions
from balanz.sim.spec import SimChargerSpec, capabilities, default_configuration, int_key

logger = logging.getLogger(__name__)

Answer = Callable[[dict[str, Any]], None]


@dataclass
class Outgoing:
    """A CALL waiting to be sent; `keep` ones (transaction messages) survive disconnects and reboots."""

    action: str
    payload: dict[str, Any]
    on_answer: Answer | None = None
    keep: bool = False


@dataclass
class Plugged:
    spec: ev.EvSpec
    state: ev.EvState
    draw: ev.Draw
    booked_wh: float = 0.0
    """EV energy already added to the connector's register."""


class SimCharger(Sessions):
    def __init__(
        self,
        spec: SimChargerSpec,
        base_url: str,
        *,
        clock: SimClock,
        events: EventLog | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.spec = spec
        self.base_url = base_url
        self.clock = clock
        self.events = events or EventLog()
        self.ssl_context = ssl_context
        self.config = default_configuration(spec)
        self.connectors = {n: cn.Connector(n) for n in range(1, spec.connectors + 1)}
        self.evs: dict[int, Plugged] = {}
        self.told = ProfileStore(spec.connectors)
        """The profiles the charger answers about (SetChargingProfile, ClearChargingProfile)."""
        self.applied = self.told
        """The profiles it enforces; equal to `told` except during `QuirkFlags.apply_delay_s`."""
        self.auth_cache: dict[str, str] = {}
        self.outbox: deque[Outgoing] = deque()
        self.boot_accepted = False
        self.connected = False
        self.network_down_until = float("-inf")
        self.firmware_status_after_boot: str | None = None
        self.remote_profiles: dict[int, dict[str, Any]] = {}
        self.answerless_sent = 0
        """Heartbeat/StatusNotification/MeterValues sent so far (the frame quirks count these)."""
        self._reported: dict[int, tuple[cn.Status, str]] = {}
        self._limits: dict[int, Limit] = {}
        self._drawn: dict[int, tuple[tuple[float, float, float], str]] = {}
        self._wake = trio.Event()
        self.outbox_ready = trio.Event()
        self._reboot = trio.Event()
        self.network_dropped = trio.Event()
        self._reboot_reason = ""
        self._booted = trio.Event()
        self._next_sample: datetime | None = None
        self.nursery: trio.Nursery | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    # ---- control API (tests, scenarios, the console) --------------------------------------------------

    def plug(self, connector_id: int, ev_spec: ev.EvSpec | None = None, tag: str | None = None) -> None:
        """An EV is plugged in; with `tag` the driver presents that tag too (Authorize, StartTransaction)."""
        now = self.clock.now()
        self._advance(now)
        self.connectors[connector_id] = cn.plug(self._connector(connector_id))
        state = ev.plug_in(now)
        self.evs[connector_id] = Plugged(ev_spec or ev.EvSpec(), state, ev.Draw((0.0, 0.0, 0.0), 0.0))
        self._advance(now)
        if tag is not None:
            self.swipe(tag, connector_id)
        self._maybe_start(connector_id)

    def unplug(self, connector_id: int) -> None:
        now = self.clock.now()
        self._connector(connector_id)
        self._advance(now)
        self._leave(connector_id, now)

    def _leave(self, connector_id: int, now: datetime) -> None:
        """The cable comes out; the EV goes first so the stop below does not step it again."""
        self.evs.pop(connector_id, None)
        self._drawn.pop(connector_id, None)
        if self.connectors[connector_id].in_transaction:
            self.stop_transaction(connector_id, "EVDisconnected")
            # The stop stamped its status change at its own (later) instant; the unplug comes after it.
            now = max(now, self.clock.now())
        self.connectors[connector_id] = cn.unplug(self.connectors[connector_id])
        self._advance(now)

    def fault(self, connector_id: int, error_code: str = "OtherError") -> None:
        self._advance(self.clock.now())
        self.connectors[connector_id] = replace(self._connector(connector_id), fault=error_code)
        self._advance(self.clock.now())

    def clear_fault(self, connector_id: int) -> None:
        self._advance(self.clock.now())
        self.connectors[connector_id] = replace(self._connector(connector_id), fault=None)
        self._advance(self.clock.now())

    def reboot(self, reason: str = "Reboot") -> None:
        """Power cycle: transactions end with `reason` (PowerLoss, Reboot, SoftReset, HardReset)."""
        if not self._reboot.is_set():
            self._reboot_reason = reason
            self._reboot.set()

    def drop_network(self, seconds: float) -> None:
        """The network goes away for `seconds` (simulated): the link breaks, reconnects after with backoff."""
        self.network_down_until = trio.current_time() + self.clock.trio_seconds(seconds)
        self.network_dropped.set()

    async def wait_booted(self) -> None:
        """Until a BootNotification of this power cycle has been Accepted."""
        await self._booted.wait()

    def status(self, connector_id: int) -> cn.Status:
        return cn.status(self._connector(connector_id))

    def limit(self, connector_id: int) -> Limit:
        """The limit the charger applies on the connector right now (its own composite)."""
        self._advance(self.clock.now())
        return self._limits[connector_id]

    def draw(self, connector_id: int) -> tuple[float, float, float]:
        plugged = self.evs.get(connector_id)
        return plugged.draw.per_phase if plugged else (0.0, 0.0, 0.0)

    # ---- profiles -----------------------------------------------------------------------------------

    def capabilities(self) -> Any:
        return capabilities(self.config, self.spec.quirks)

    def view(self, store: ProfileStore | None = None) -> ChargerView:
        states = {
            n: ConnectorState(c.transaction_id, c.transaction_start) for n, c in self.connectors.items()
        }
        return ChargerView(store or self.applied, self.spec.electrics, states)

    def transactions(self) -> dict[int, int]:
        return {n: c.transaction_id for n, c in self.connectors.items() if c.transaction_id is not None}

    def set_profiles(self, store: ProfileStore) -> None:
        """The charger now holds `store`; it enforces it at once or after `QuirkFlags.apply_delay_s`."""
        self.told = store
        if self.spec.quirks.ignores_limit:
            return
        delay = self.spec.quirks.apply_delay_s
        if delay <= 0 or self.nursery is None:
            self._apply(store)
        else:
            self.nursery.start_soon(self._apply_later, store, delay)

    async def _apply_later(self, store: ProfileStore, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        self._apply(store)

    def _apply(self, store: ProfileStore) -> None:
        self._advance(self.clock.now())
        self.applied = store
        self._advance(self.clock.now())
        self._wake.set()

    # ---- the engine: time passing -------------------------------------------------------------------

    def _energized(self, c: cn.Connector) -> bool:
        return c.in_transaction and c.plugged and c.fault is None

    def _advance(self, now: datetime) -> None:
        """Bring every EV to `now` under the limits in force, and report what changed."""
        limits = charger_limits(self.view(), now)
        leaving = []
        for n, limit in limits.items():
            if n == 0:
                continue
            if self._limits.get(n) != limit:
                self._limits[n] = limit
                by = limit.limited_by.value if limit.limited_by else None
                self.events.emit(LimitChanged(now, self.id, n, round(limit.amps, 3), limit.phases, by))
            c = self.connectors[n]
            plugged = self.evs.get(n)
            if plugged is not None:
                offer = limit if self._energized(c) else Limit(0.0, limit.phases, limit.limited_by)
                state, draw = ev.step(plugged.spec, plugged.state, offer, now)
                c = replace(
                    c, meter_wh=c.meter_wh + draw.energy_wh - plugged.booked_wh, ev_status=state.status
                )
                plugged.state, plugged.draw, plugged.booked_wh = state, draw, draw.energy_wh
                self.connectors[n] = c
                seen = (draw.per_phase, state.status.value)
                if self._drawn.get(n) != seen:
                    self._drawn[n] = seen
                    self.events.emit(EvDraw(now, self.id, n, draw.per_phase, round(draw.energy_wh, 3),
                                            state.status.value))  # fmt: skip
                if state.status is ev.EvStatus.UNPLUGGED:
                    leaving.append(n)
                    continue
            self._report_status(n, now)
        for n in leaving:
            self._leave(n, now)

    def _report_status(self, n: int, now: datetime) -> None:
        c = self.connectors[n]
        current = (cn.status(c), cn.error_code(c))
        if self._reported.get(n) == current:
            return
        self._reported[n] = current
        self.events.emit(StatusChanged(now, self.id, n, current[0].value, current[1]))
        if self.boot_accepted:
            self.send("StatusNotification", self.status_payload(n, now))

    def status_payload(self, n: int, now: datetime) -> dict[str, Any]:
        if n == 0:
            status, code = "Available", "NoError"
        else:
            status, code = cn.status(self.connectors[n]).value, cn.error_code(self.connectors[n])
        return {"connectorId": n, "errorCode": code, "status": status, "timestamp": format_time(now)}

    def meter_payload(self, n: int, now: datetime, context: str = "Sample.Periodic") -> dict[str, Any]:
        c = self.connectors[n]
        plugged = self.evs.get(n)
        amps = plugged.draw.per_phase if plugged else (0.0, 0.0, 0.0)
        offered = self._limits[n].amps if self._energized(c) else 0.0
        reading = Reading(amps, offered, self.spec.voltage_v, c.meter_wh)
        measurands = measurands_of(self.config["MeterValuesSampledData"])
        if self.spec.quirks.no_current_offered:
            measurands = tuple(m for m in measurands if m != "Current.Offered")
        values = sampled_values(reading, measurands)
        for value in values:
            value["context"] = context
        sample = {"timestamp": format_time(now), "sampledValue": values}
        payload: dict[str, Any] = {"connectorId": n, "meterValue": [sample]}
        if c.transaction_id is not None:
            payload["transactionId"] = c.transaction_id
        return payload

    def _sample(self, now: datetime) -> None:
        for n, c in self.connectors.items():
            if c.transaction_id is not None:
                self.send("MeterValues", self.meter_payload(n, now), keep=True)

    async def engine(self) -> None:
        """Wakes at the next meter sample, profile change or EV event, or when poked; never busy-waits."""
        while True:
            now = self.clock.now()
            self._advance(now)
            interval = max(1, int_key(self.config, "MeterValueSampleInterval"))
            if self._next_sample is None or self._next_sample > now + timedelta(seconds=interval):
                self._next_sample = now + timedelta(seconds=interval)
            if now >= self._next_sample:
                self._sample(now)
                self._next_sample = now + timedelta(seconds=interval)
            wake = [self._next_sample, next_change_after(self.view(), now)]
            wake += [ev.next_event_after(p.spec, p.state, now) for p in self.evs.values()]
            at = min(w for w in wake if w is not None)
            with trio.move_on_at(self.clock.trio_time(at)):
                await self._wake.wait()
            self._wake = trio.Event()

    def poke(self) -> None:
        """State changed outside the engine (configuration, profiles): recompute when to wake."""
        self._wake.set()

    # ---- messages out -------------------------------------------------------------------------------

    def send(self, action: str, payload: dict[str, Any], on_answer: Answer | None = None, *,
             keep: bool = False) -> None:  # fmt: skip
        """Queue a CALL; the link sends it once connected and booted (BootNotification goes first).

        Offline, only `keep` messages (transactions, their meter values) are queued; a real charger
        reports its statuses afresh after reconnecting instead.
        """
        if not keep and not self.connected:
            return
        self.outbox.append(Outgoing(action, payload, on_answer, keep))
        self.outbox_ready.set()

    def boot_payload(self) -> dict[str, Any]:
        spec = self.spec
        payload = {"chargePointVendor": spec.vendor, "chargePointModel": spec.model,
                   "firmwareVersion": spec.firmware}  # fmt: skip
        if spec.serial:
            payload["chargePointSerialNumber"] = spec.serial
        return payload

    def on_boot_answer(self, answer: dict[str, Any]) -> int:
        """Record a BootNotification answer; returns the interval it gave (heartbeat or retry)."""
        interval = int(answer.get("interval", 0))
        self.events.emit(Booted(self.clock.now(), self.id, answer["status"], interval))
        if answer["status"] == "Accepted":
            if interval > 0:
                self.config["HeartbeatInterval"] = str(interval)
            self.boot_accepted = True
            self._booted.set()
        return interval

    # ---- reboot -------------------------------------------------------------------------------------

    def lose_state(self) -> None:
        """What a power cycle takes away; transactions are stopped (and their messages kept) first."""
        for n, c in self.connectors.items():
            if c.in_transaction:
                self.stop_transaction(n, self._reboot_reason)
        self.connectors = {n: cn.rebooted(c) for n, c in self.connectors.items()}
        if self.spec.quirks.forgets_profiles:
            self.told = ProfileStore(self.spec.connectors)
        self.applied = self.told
        self.auth_cache.clear()
        self.remote_profiles.clear()
        self.outbox = deque(o for o in self.outbox if o.keep)
        self.boot_accepted = False
        self._booted = trio.Event()
        self._reboot = trio.Event()
        self.events.emit(Rebooted(self.clock.now(), self.id, self._reboot_reason))
        self._advance(self.clock.now())

    def forget_profiles_on_reconnect(self) -> None:
        if self.spec.quirks.forgets_profiles:
            self.told = self.applied = ProfileStore(self.spec.connectors)
            self._advance(self.clock.now())
            self.poke()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Power on and keep running until cancelled; each loop is one power cycle."""
        task_status.started()
        while True:
            async with trio.open_nursery() as life:
                self.nursery = life
                life.start_soon(self.engine)
                life.start_soon(run_link, self)
                await self._reboot.wait()
                await self._flush_before_reboot()
                life.cancel_scope.cancel()
            self.nursery = None
            self.connected = False
            self.lose_state()
            await self.clock.sleep(self.spec.boot_delay_s)

    async def _flush_before_reboot(self) -> None:
        """A soft reset ends its transactions and reports them before going down (ocpp-1.6 §5.14)."""
        if self._reboot_reason != "SoftReset":
            return
        for n, c in self.connectors.items():
            if c.in_transaction:
                self.stop_transaction(n, "SoftReset")
        with trio.move_on_after(self.clock.trio_seconds(10)):
            while self.outbox and self.connected:
                await trio.sleep(self.clock.trio_seconds(0.5))
