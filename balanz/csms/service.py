"""``CsmsService``: what CSMS mode knows about the site right now, and its writes to the store.

This is the object the allocator shell and the monitor read: chargers (identity, connection, boot),
connectors (status with history, latest meter values and usage history, live transaction) and the open
transactions. Its values are frozen dataclasses replaced on every change, so a reader holding one never sees
it change under it. The handlers (``balanz.csms.handlers``) are its only writers; they publish an event
(``balanz.events``) after each change.

Store writes go through ``durable``: a write that finds the database locked or the disk full is retried on
``RetryPolicy``'s schedule (``trio.sleep``, so other chargers keep being served) for at most
``DURABLE_BOUND_S``, then the caller gets ``StoreUnavailable`` and must not acknowledge what it could not
record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import trio
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import InternalError

from balanz.clock import SiteClock
from balanz.config.schema import ChargerConfig, Config, TagConfig
from balanz.csms.charger_clock import ChargerClocks, message_time
from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import ConnectorMeter, MeterSettings, Stamped
from balanz.csms.status import ConnectorStatus
from balanz.events import ChargerConnected, ChargerDisconnected, EventBus, TransactionStopped
from balanz.sessions import LiveTransaction, SessionRecord
from balanz.store import AuditEvent, RetryPolicy, RuntimeCharger, RuntimeState, Store, StoreUnavailable
from balanz.store.tags import EffectiveTag, static_view, with_runtime
from balanz.wire import OcppConnection

log = logging.getLogger(__name__)

T = TypeVar("T")
DURABLE_BOUND_S = 20.0
BACKLOG_WINDOW_S = 60.0
CLOSED_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ConnectorView:
    """One connector (0 = the charger as a whole: status only)."""

    charger_id: str
    connector_id: int
    status: ConnectorStatus
    meter: ConnectorMeter = field(default_factory=ConnectorMeter)
    transaction: LiveTransaction | None = None
    configured: bool = True

    @property
    def active(self) -> bool:
        """allocation.md R2: charging, suspended, or preparing with a live transaction."""
        return self.status.active(self.transaction is not None)

    @property
    def usage_history(self) -> tuple[Stamped, ...]:
        return self.meter.usage_history


@dataclass(frozen=True, slots=True)
class ChargerView:
    charger_id: str
    group_id: str
    alias: str | None = None
    connectors: int = 1
    phases: int = 3
    autoregistered: bool = False
    connected: bool = False
    generation: int = 0
    connected_at: datetime | None = None
    disconnected_since: datetime | None = None
    last_seen: datetime | None = None
    boot_status: str | None = None
    booted_at: datetime | None = None
    vendor: str = ""
    model: str = ""
    serial: str | None = None
    firmware: str | None = None
    meter_type: str | None = None
    meter_serial: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    firmware_status: str | None = None
    diagnostics_status: str | None = None
    clock_offset_s: float | None = None  # its clock minus ours, from its last live timestamp


@dataclass(frozen=True, slots=True)
class CsmsSnapshot:
    """Everything at one instant, for the monitor's refresh."""

    at: datetime
    chargers: tuple[ChargerView, ...]
    connectors: tuple[ConnectorView, ...]
    store_failures: int


def _from_config(charger: ChargerConfig) -> ChargerView:
    return ChargerView(
        charger.id, charger.group, charger.alias, max(charger.connectors, 1), phases=charger.phases
    )


def _from_runtime(charger: RuntimeCharger) -> ChargerView:
    return ChargerView(
        charger.charger_id, charger.group_id, charger.alias, max(charger.connectors, 1), autoregistered=True
    )


class CsmsService:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: SiteClock,
        events: EventBus | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.events = events or EventBus()
        self.retry = retry or RetryPolicy()
        self.store_failures = 0
        self.chargers: dict[str, ChargerView] = {}
        self.connectors: dict[tuple[str, int], ConnectorView] = {}
        self._configured = {c.id: c for c in config.charger}
        self._dirty: set[tuple[str, int]] = set()
        self._tag_book: dict[str, TagConfig] = {}
        self._static_tags: tuple[object, dict[str, EffectiveTag]] = (None, {})
        self.charger_clocks = ChargerClocks(
            warn_beyond_s=config.profiles.start_backdate_s / 2,
            retime_beyond_s=config.csms.clock_skew_tolerance_s,
        )
        for charger in config.charger:
            self._add_charger(_from_config(charger))

    # ---- reading -----------------------------------------------------------------------------------------

    def charger(self, charger_id: str) -> ChargerView | None:
        return self.chargers.get(charger_id)

    def connector(self, charger_id: str, connector_id: int) -> ConnectorView | None:
        return self.connectors.get((charger_id, connector_id))

    def charger_connectors(self, charger_id: str) -> list[ConnectorView]:
        """Connectors 0…n of one charger, in order."""
        return sorted(
            (v for (cid, _), v in self.connectors.items() if cid == charger_id), key=lambda v: v.connector_id
        )

    def live_transactions(self) -> list[LiveTransaction]:
        return [v.transaction for v in self.connectors.values() if v.transaction is not None]

    def live_by_id(self, charger_id: str) -> dict[int, LiveTransaction]:
        return {tx.transaction_id: tx for tx in self.live_transactions() if tx.charger_id == charger_id}

    def snapshot(self) -> CsmsSnapshot:
        return CsmsSnapshot(
            self.clock.now(),
            tuple(self.chargers[k] for k in sorted(self.chargers)),
            tuple(self.connectors[k] for k in sorted(self.connectors)),
            self.store_failures,
        )

    def meter_settings(self, charger_id: str) -> MeterSettings:
        view = self.chargers.get(charger_id)
        return MeterSettings(view.phases if view else 3, self.config.profiles.voltage_v)

    def fallback_priority(self, charger_id: str, connector_id: int) -> tuple[int, str]:
        """The priority of a session whose tag has none: connector, else charger, else the default."""
        charger = self._configured.get(charger_id)
        if charger is not None:
            for conn in charger.connector:
                if conn.id == connector_id and conn.priority is not None:
                    return conn.priority, "charger"
            if charger.priority is not None:
                return charger.priority, "charger"
        return self.config.allocator.default_priority, "default"

    def in_backlog(self, charger_id: str, now: datetime) -> bool:
        """The charger reconnected moments ago, so old timestamps are probably its offline queue."""
        view = self.chargers.get(charger_id)
        return bool(
            view and view.connected_at and (now - view.connected_at).total_seconds() < BACKLOG_WINDOW_S
        )

    def retiming(self, charger_id: str, now: datetime) -> Retiming:
        """How this charger's timestamps received at ``now`` go onto balanz's timeline."""
        return Retiming(
            self.config.csms.clock_skew_tolerance_s,
            backlog=self.in_backlog(charger_id, now),
            known_offset=self.charger_clocks.live_offset(charger_id),
        )

    def tags_in_use(self, *, except_connector: tuple[str, int] | None = None) -> list[str]:
        return [
            tx.id_tag
            for tx in self.live_transactions()
            if (tx.charger_id, tx.connector_id) != except_connector and tx.id_tag
        ]

    def tag_book(self) -> dict[str, TagConfig]:
        """Static tags with runtime ones applied; the last good book if the store cannot be read."""
        try:
            runtime = self.store.runtime_tags()
        except StoreUnavailable as exc:
            self.store_failures += 1
            log.error("store: runtime tags unreadable (%s); using the tags known before", exc)
            return dict(self._tag_book) or {t.id.upper(): t for t in self.config.tag}
        if self._static_tags[0] is not self.config.tag:
            self._static_tags = (self.config.tag, static_view(self.config.tag))
        merged = with_runtime(self._static_tags[1], runtime)
        self._tag_book = {key: view.tag for key, view in merged.items()}
        return dict(self._tag_book)

    # ---- changing ----------------------------------------------------------------------------------------

    def _add_charger(self, view: ChargerView) -> None:
        self.chargers[view.charger_id] = view
        for n in range(view.connectors + 1):
            self.connectors.setdefault(
                (view.charger_id, n), ConnectorView(view.charger_id, n, ConnectorStatus(n))
            )

    def update_charger(self, charger_id: str, **changes: object) -> ChargerView:
        view = replace(self.chargers[charger_id], **changes)  # type: ignore[arg-type]
        self.chargers[charger_id] = view
        return view

    def ensure_connector(self, charger_id: str, connector_id: int) -> ConnectorView:
        """The connector's view, created (as not configured) the first time a charger names it."""
        key = (charger_id, connector_id)
        if key not in self.connectors:
            view = self.chargers.get(charger_id)
            configured = view is not None and connector_id <= view.connectors
            self.connectors[key] = ConnectorView(
                charger_id, connector_id, ConnectorStatus(connector_id), configured=configured
            )
        return self.connectors[key]

    def set_connector(self, view: ConnectorView) -> None:
        self.connectors[(view.charger_id, view.connector_id)] = view

    def set_transaction(self, tx: LiveTransaction) -> None:
        view = self.ensure_connector(tx.charger_id, tx.connector_id)
        self.set_connector(replace(view, transaction=tx))

    def drop_transaction(self, charger_id: str, transaction_id: int) -> LiveTransaction | None:
        for view in self.charger_connectors(charger_id):
            if view.transaction is not None and view.transaction.transaction_id == transaction_id:
                self.set_connector(replace(view, transaction=None))
                self._dirty.discard((charger_id, view.connector_id))
                return view.transaction
        return None

    def known(self, charger_id: str) -> bool:
        return charger_id in self.chargers

    async def admit(self, conn: OcppConnection) -> bool:
        """True if the charger is known, autoregistering it first when the configuration allows."""
        if conn.charger_id in self.chargers:
            return True
        if not self.config.model.charger_autoregister:
            return False
        await self.autoregister(conn.charger_id)
        self.connected(conn)
        return True

    async def admit_or_fail(self, conn: OcppConnection) -> None:
        """``admit`` for messages other than BootNotification: a registration that cannot be stored yet
        is a failure to process the message (CALLERROR InternalError, the charger retries)."""
        try:
            await self.admit(conn)
        except StoreUnavailable as exc:
            raise InternalError(description=f"charger {conn.charger_id} cannot be registered yet") from exc

    async def receive(
        self, conn: OcppConnection, payload: Mapping[str, Any]
    ) -> tuple[datetime, dict[str, Any]]:
        """The common start of a handler: admit the charger, note it was heard from, and give back the
        receive time and the payload in its wire (camelCase) spelling, which the pure decisions read."""
        await self.admit_or_fail(conn)
        now = self.seen(conn.charger_id)
        wire = snake_to_camel_case(dict(payload))
        replay = self.in_backlog(conn.charger_id, now)
        self.charger_clocks.note(conn.charger_id, message_time(wire), now, replay=replay)
        offset = self.charger_clocks.live_offset(conn.charger_id)
        view = self.chargers.get(conn.charger_id)
        if offset is not None and view is not None and view.clock_offset_s != offset.total_seconds():
            self.update_charger(conn.charger_id, clock_offset_s=offset.total_seconds())
        return now, wire

    async def autoregister(self, charger_id: str) -> ChargerView:
        """Store a charger that connected under autoregistration (model.md §7) in the configured group."""
        entry = RuntimeCharger(
            charger_id, self.config.model.charger_autoregister_group, 1, self.clock.now(), alias=charger_id
        )
        stored = await self.durable(
            f"autoregistering charger {charger_id}", lambda: self.store.register_charger(entry)
        )
        log.warning(
            "charger %s autoregistered in group %s (add it to the configuration to control it)",
            charger_id,
            stored.group_id,
        )
        self._add_charger(_from_runtime(stored))
        return self.chargers[charger_id]

    def resume(self, state: RuntimeState) -> None:
        """A restart: runtime chargers and open transactions come back; every charger counts as
        disconnected since now, so the transaction timeout runs for those that never return."""
        now = self.clock.now()
        for charger in state.runtime_chargers:
            if charger.charger_id not in self._configured:
                self._add_charger(_from_runtime(charger))
        for tx in state.live_transactions:
            if tx.charger_id not in self.chargers:
                log.warning(
                    "open transaction %d on %s/%d belongs to a charger no longer configured; kept until it "
                    "times out",
                    tx.transaction_id,
                    tx.charger_id,
                    tx.connector_id,
                )
                self._add_charger(ChargerView(tx.charger_id, "", connectors=max(tx.connector_id, 1)))
            self.set_transaction(tx)
            log.info(
                "resumed open transaction %d on %s connector %d (tag %s, started %s)",
                tx.transaction_id,
                tx.charger_id,
                tx.connector_id,
                tx.id_tag or "-",
                tx.start_time.isoformat(),
            )
        for charger_id in list(self.chargers):
            self.update_charger(charger_id, disconnected_since=now)

    def connected(self, conn: OcppConnection) -> None:
        if conn.charger_id not in self.chargers:
            return
        now = self.clock.now()
        self.update_charger(
            conn.charger_id,
            connected=True,
            generation=conn.generation,
            connected_at=now,
            disconnected_since=None,
            last_seen=now,
        )
        self.events.publish(ChargerConnected(conn.charger_id, now, conn.generation))

    def disconnected(self, conn: OcppConnection) -> None:
        """Only the charger's current connection counts: a replaced one going away changes nothing."""
        view = self.chargers.get(conn.charger_id)
        if view is None or view.generation != conn.generation:
            return
        now = self.clock.now()
        self.update_charger(conn.charger_id, connected=False, disconnected_since=now)
        self.events.publish(ChargerDisconnected(conn.charger_id, now, conn.generation))

    def seen(self, charger_id: str) -> datetime:
        now = self.clock.now()
        if charger_id in self.chargers:
            self.update_charger(charger_id, last_seen=now)
        return now

    def with_site(self, record: SessionRecord) -> SessionRecord:
        """Alias and group as at session end (model.md §5.2)."""
        view = self.chargers.get(record.charger_id)
        if view is None:
            return record
        return replace(record, alias=view.alias, group_id=view.group_id or None)

    def session_recorded(self, record: SessionRecord, *, stale: bool = False) -> None:
        """A session is durable: its live transaction leaves the connector and the allocator hears of it."""
        self.drop_transaction(record.charger_id, record.transaction_id)
        self.events.publish(
            TransactionStopped(record.charger_id, record.connector_id, self.clock.now(), record, stale)
        )
        log.info(
            "charger %s connector %d: session %s recorded (%s, %s Wh, flags %s)",
            record.charger_id,
            record.connector_id,
            record.session_id,
            record.stop_reason,
            record.energy_wh,
            ",".join(sorted(record.flags)) or "-",
        )

    # ---- store -------------------------------------------------------------------------------------------

    async def durable(self, what: str, write: Callable[[], T], *, bound_s: float = DURABLE_BOUND_S) -> T:
        """``write()``, retried while the store is unavailable, for at most ``bound_s`` seconds."""
        deadline = trio.current_time() + bound_s
        attempt = 0
        while True:
            try:
                result = write()
            except StoreUnavailable as exc:
                attempt += 1
                self.store_failures += 1
                delay = self.retry.delay(attempt)
                if trio.current_time() + delay > deadline:
                    log.error("STORE FAILING: %s not recorded after %d attempt(s): %s", what, attempt, exc)
                    raise
                log.error("STORE FAILING: %s (%s); retry %d in %.2f s", what, exc, attempt, delay)
                await trio.sleep(delay)
            else:
                if attempt:
                    log.warning("store: %s recorded after %d retries", what, attempt)
                return result

    def save_live(self, tx: LiveTransaction) -> None:
        """Meter progress of an open transaction: one non-durable attempt; on failure the transaction
        stays in memory and ``flush`` writes it later (a restart then loses at most those updates)."""
        key = (tx.charger_id, tx.connector_id)
        try:
            self.store.upsert_live_transaction(tx, durable=False)
        except StoreUnavailable as exc:
            self.store_failures += 1
            self._dirty.add(key)
            log.error(
                "STORE FAILING: transaction %d progress kept in memory only: %s", tx.transaction_id, exc
            )
        else:
            self._dirty.discard(key)

    def flush(self) -> int:
        """Write open transactions whose last update failed; returns how many are still pending."""
        for key in sorted(self._dirty):
            view = self.connectors.get(key)
            if view is None or view.transaction is None:
                self._dirty.discard(key)
                continue
            self.save_live(view.transaction)
        return len(self._dirty)

    def audit(self, kind: str, message: str, charger_id: str | None = None, **data: object) -> None:
        """Best effort: an audit row that cannot be written is logged instead, never blocks an answer."""
        try:
            self.store.add_audit(AuditEvent(self.clock.now(), kind, message, charger_id, data))
        except StoreUnavailable as exc:
            self.store_failures += 1
            log.error("STORE FAILING: audit %s for %s not recorded (%s): %s", kind, charger_id, exc, message)

    def closed_sessions(self, charger_id: str, now: datetime) -> Mapping[int, SessionRecord]:
        return self.store.closed_sessions(charger_id, since=now - CLOSED_LOOKBACK)

    def configured_chargers(self) -> Iterable[ChargerConfig]:
        return self._configured.values()
