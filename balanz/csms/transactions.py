"""Transaction bookkeeping decisions of CSMS mode (flows.md §2.7, §2.9, §2.10; model.md §5.2).

Every function here is pure: it gets the live transactions and recently closed sessions the shell holds,
and returns a plan saying what to persist and what to answer. The shell assigns transaction ids from the
store's counter, commits records durably, then answers — in that order — so nothing here can lose data.

Cases covered:
- StartTransaction retried after a reconnect (same connector, idTag, meterStart, timestamp within
  ``DUPLICATE_TOLERANCE_S``) → the open transaction's id again, nothing new recorded;
- a different start on a connector with an open transaction → the old one is closed ``Superseded``;
- a start older than ``csms.transaction_stale_s`` → recorded as queued offline;
- StopTransaction: closes the live transaction; a second identical Stop is answered the same and writes
  nothing; a Stop for a session closed by timeout or superseded amends that record; an unknown id
  records an orphan session (flag ``synthesized``);
- MeterValues naming a transaction balanz does not know, on an active connector (balanz restarted, state
  lost) → a synthesized live transaction with meter start = first register seen (flag ``partial``);
- a live transaction whose charger has been disconnected for ``csms.transaction_timeout_s`` is closed
  with reason ``Timeout`` (flag ``timeout_stop``); its connector's exposure is the allocator's business.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from balanz.config.schema import CsmsConfig
from balanz.csms.meter_values import (
    DEFAULT_METER_SETTINGS,
    MeterSample,
    MeterSettings,
    parse_timestamp,
    parse_transaction_data,
    summarize,
)
from balanz.csms.tags import ACCEPTED, DEFAULT_CSMS, AuthDecision, normalize_id_tag

logger = logging.getLogger(__name__)

DUPLICATE_TOLERANCE_S = 2.0
IMPLAUSIBLE_ENERGY_WH = 500_000.0
DEFAULT_STOP_REASON = "Local"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One point of a session's history: an implemented offer, a measured usage, or both."""

    t: datetime
    offered_a: float | None = None
    usage_a: float | None = None


@dataclass(frozen=True, slots=True)
class LiveTransaction:
    charger_id: str
    connector_id: int
    transaction_id: int
    id_tag: str
    start_time: datetime
    received_at: datetime
    meter_start_wh: float | None
    user_name: str = ""
    parent_id_tag: str | None = None
    priority: int | None = None
    priority_source: str = "default"
    last_register_wh: float | None = None
    last_seen: datetime | None = None
    end_register_wh: float | None = None
    history: tuple[HistoryEntry, ...] = ()
    flags: frozenset[str] = frozenset()

    @property
    def energy_wh(self) -> float | None:
        if self.meter_start_wh is None or self.last_register_wh is None:
            return None
        return self.last_register_wh - self.meter_start_wh


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """The append-only session record of model.md §5.2 (alias and group are filled in by the shell)."""

    session_id: str
    charger_id: str
    connector_id: int
    transaction_id: int
    id_tag: str
    user_name: str
    parent_id_tag: str | None
    stop_id_tag: str | None
    start_time: datetime
    end_time: datetime
    duration_s: float
    meter_start_wh: float | None
    meter_stop_wh: float | None
    energy_wh: float | None
    stop_reason: str
    priority: int | None
    priority_source: str
    max_offer_a: float | None
    mean_usage_a: float | None
    max_usage_a: float | None
    history: tuple[HistoryEntry, ...]
    flags: frozenset[str] = frozenset()
    alias: str | None = None
    group_id: str | None = None


def session_id(charger_id: str, connector_id: int, transaction_id: int, start: datetime) -> str:
    """Unique even when a transaction-id counter restarts: the start time is part of it."""
    return f"{charger_id}/{connector_id}/{transaction_id}/{start.strftime('%Y%m%dT%H%M%SZ')}"


def add_usage(
    history: tuple[HistoryEntry, ...], at: datetime, usage_a: float, min_change_a: float
) -> tuple[HistoryEntry, ...]:
    """Thinning of model.md §5.2: a usage entry only when it moved ≥ ``min_change_a`` since the last one."""
    last = next((h.usage_a for h in reversed(history) if h.usage_a is not None), None)
    if last is not None and abs(usage_a - last) < min_change_a:
        return history
    return (*history, HistoryEntry(at, usage_a=usage_a))


def record_offer(tx: LiveTransaction, at: datetime, offered_a: float) -> LiveTransaction:
    """An implemented offer change goes to the history (unchanged offers add nothing)."""
    last = next((h.offered_a for h in reversed(tx.history) if h.offered_a is not None), None)
    if last == offered_a:
        return tx
    return replace(tx, history=(*tx.history, HistoryEntry(at, offered_a=offered_a)))


def apply_meter(tx: LiveTransaction, samples: Iterable[MeterSample], min_change_a: float) -> LiveTransaction:
    """Session values from meter samples (flows.md §2.8 rules 8, 11)."""
    for s in sorted(samples, key=lambda s: s.at):
        if s.begin_register_wh is not None and not tx.meter_start_wh:
            tx = replace(tx, meter_start_wh=s.begin_register_wh, flags=tx.flags - {"partial"})
        if s.end_register_wh is not None:
            tx = replace(tx, end_register_wh=s.end_register_wh)
        if s.register_wh is not None and (tx.last_seen is None or s.at >= tx.last_seen):
            tx = replace(tx, last_register_wh=s.register_wh)
        if s.usage_a is not None:
            tx = replace(tx, history=add_usage(tx.history, s.at, s.usage_a, min_change_a))
        if tx.last_seen is None or s.at > tx.last_seen:
            tx = replace(tx, last_seen=s.at)
    return tx


def _usage_summary(history: Sequence[HistoryEntry], end: datetime) -> tuple[float | None, float | None]:
    """(time-weighted mean, max) of usage: each entry holds until the next one or the session end."""
    points = [(h.t, h.usage_a) for h in history if h.usage_a is not None]
    if not points:
        return None, None
    peak = max(u for _, u in points)
    weighted = 0.0
    total = 0.0
    for (t, usage), nxt in zip(points, [*points[1:], (end, None)], strict=True):
        span = max((nxt[0] - t).total_seconds(), 0.0)
        weighted += usage * span
        total += span
    mean = weighted / total if total > 0 else sum(u for _, u in points) / len(points)
    return mean, peak


def close_transaction(
    tx: LiveTransaction,
    *,
    end_time: datetime,
    meter_stop_wh: float | None,
    reason: str,
    stop_id_tag: str | None = None,
    extra_flags: Iterable[str] = (),
) -> SessionRecord:
    """The session record for ``tx`` ending now, with energy, summaries and plausibility flags."""
    flags = set(tx.flags) | set(extra_flags)
    if tx.meter_start_wh is None:
        flags.add("partial")
    energy = None if tx.meter_start_wh is None or meter_stop_wh is None else meter_stop_wh - tx.meter_start_wh
    if energy is not None and not 0 <= energy <= IMPLAUSIBLE_ENERGY_WH:
        flags.add("implausible_energy")
    mean, peak = _usage_summary(tx.history, end_time)
    offers = [h.offered_a for h in tx.history if h.offered_a is not None]
    return SessionRecord(
        session_id=session_id(tx.charger_id, tx.connector_id, tx.transaction_id, tx.start_time),
        charger_id=tx.charger_id,
        connector_id=tx.connector_id,
        transaction_id=tx.transaction_id,
        id_tag=tx.id_tag,
        user_name=tx.user_name,
        parent_id_tag=tx.parent_id_tag,
        stop_id_tag=stop_id_tag,
        start_time=tx.start_time,
        end_time=end_time,
        duration_s=max((end_time - tx.start_time).total_seconds(), 0.0),
        meter_start_wh=tx.meter_start_wh,
        meter_stop_wh=meter_stop_wh,
        energy_wh=energy,
        stop_reason=reason,
        priority=tx.priority,
        priority_source=tx.priority_source,
        max_offer_a=max(offers) if offers else None,
        mean_usage_a=mean,
        max_usage_a=peak,
        history=tx.history,
        flags=frozenset(flags),
    )


def _supersede(old: LiveTransaction, fallback_end: datetime) -> SessionRecord:
    stop = old.last_register_wh if old.last_register_wh is not None else old.meter_start_wh
    return close_transaction(
        old, end_time=old.last_seen or fallback_end, meter_stop_wh=stop, reason="Superseded"
    )


# ---------------------------------------------------------------------------------------------------------
# StartTransaction


@dataclass(frozen=True, slots=True)
class StartPlan:
    """What to do with a StartTransaction. ``duplicate_of`` set: answer with that id, persist nothing."""

    pending: LiveTransaction
    auth: AuthDecision
    duplicate_of: int | None = None
    superseded: SessionRecord | None = None
    queued_offline: bool = False
    new_connector: bool = False
    warnings: tuple[str, ...] = ()

    def opened(self, transaction_id: int) -> LiveTransaction:
        """The live transaction to persist once the store has committed ``transaction_id``."""
        return replace(self.pending, transaction_id=transaction_id)

    def answer(self, transaction_id: int) -> dict[str, Any]:
        return {"transactionId": transaction_id, "idTagInfo": self.auth.id_tag_info()}


def decide_start(
    payload: Mapping[str, Any],
    *,
    charger_id: str,
    open_tx: LiveTransaction | None,
    auth: AuthDecision,
    now: datetime,
    csms: CsmsConfig = DEFAULT_CSMS,
    known_connector: bool = True,
    fallback_priority: int = 1,
    fallback_priority_source: str = "charger",
) -> StartPlan:
    """Decide a StartTransaction received at ``now`` on a connector whose open transaction is ``open_tx``.

    ``auth`` is ``tags.authorize`` for the idTag with this connector left out of the concurrency check.
    With ``csms.authorize_start = false`` the answer is Accepted whatever the tag says (reference
    behaviour), but user name and priority still come from the tag. A start answered with a rejecting
    status is still recorded: the charger may keep charging (``StopTransactionOnInvalidId`` false).
    """
    warnings: list[str] = []
    connector_id = int(payload["connectorId"])
    id_tag = normalize_id_tag(str(payload.get("idTag", "")))
    meter_start = payload.get("meterStart")
    start = parse_timestamp(payload.get("timestamp"))
    if start is None:
        warnings.append(
            f"StartTransaction timestamp {payload.get('timestamp')!r} unreadable, receive time used"
        )
        start = now
    if not csms.authorize_start and auth.status != ACCEPTED:
        auth = replace(auth, status=ACCEPTED, reason=f"csms.authorize_start = false ({auth.reason})")
    flags = set() if auth.accepted else {"rejected_tag"}
    pending = LiveTransaction(
        charger_id=charger_id,
        connector_id=connector_id,
        transaction_id=0,
        id_tag=id_tag,
        start_time=start,
        received_at=now,
        meter_start_wh=float(meter_start) if isinstance(meter_start, int | float) else None,
        user_name=auth.user_name,
        parent_id_tag=auth.parent_id_tag,
        priority=auth.priority if auth.priority is not None else fallback_priority,
        priority_source="tag" if auth.priority is not None else fallback_priority_source,
        last_register_wh=float(meter_start) if isinstance(meter_start, int | float) else None,
        last_seen=start,
        flags=frozenset(flags),
    )
    if open_tx is not None and _same_start(open_tx, pending):
        return StartPlan(pending, auth, duplicate_of=open_tx.transaction_id, warnings=tuple(warnings))
    queued = (now - start).total_seconds() > csms.transaction_stale_s
    if queued:
        pending = replace(pending, flags=pending.flags | {"queued_offline"})
    if not known_connector:
        warnings.append(f"StartTransaction on unconfigured connector {connector_id}; created with defaults")
    return StartPlan(
        pending,
        auth,
        superseded=_supersede(open_tx, start) if open_tx is not None else None,
        queued_offline=queued,
        new_connector=not known_connector,
        warnings=tuple(warnings),
    )


def _same_start(old: LiveTransaction, new: LiveTransaction) -> bool:
    return (
        old.connector_id == new.connector_id
        and old.id_tag == new.id_tag
        and old.meter_start_wh == new.meter_start_wh
        and abs((old.start_time - new.start_time).total_seconds()) <= DUPLICATE_TOLERANCE_S
    )


# ---------------------------------------------------------------------------------------------------------
# StopTransaction


@dataclass(frozen=True, slots=True)
class StopPlan:
    """``kind``: close | amend | duplicate | orphan. ``record`` is written durably before ``answer``
    is sent, except for duplicate (already written). ``ended`` is the live transaction to drop."""

    kind: str
    record: SessionRecord
    answer: dict[str, Any]
    ended: LiveTransaction | None = None
    warnings: tuple[str, ...] = ()

    @property
    def persist(self) -> bool:
        return self.kind != "duplicate"


def decide_stop(
    payload: Mapping[str, Any],
    *,
    charger_id: str,
    live: Mapping[int, LiveTransaction],
    closed: Mapping[int, SessionRecord],
    auth: AuthDecision | None,
    now: datetime,
    min_usage_change_a: float = 0.5,
    settings: MeterSettings = DEFAULT_METER_SETTINGS,
) -> StopPlan:
    """Decide a StopTransaction; ``live``/``closed`` are this charger's transactions by transaction id.

    ``auth`` is the Authorize decision for the payload's optional idTag (None when absent).
    """
    tx_id = int(payload["transactionId"])
    readings, warns = parse_transaction_data(payload.get("transactionData") or ())
    warnings = list(warns)
    samples = [summarize(r, settings) for r in readings]
    end = parse_timestamp(payload.get("timestamp"))
    if end is None:
        warnings.append(
            f"StopTransaction timestamp {payload.get('timestamp')!r} unreadable, receive time used"
        )
        end = now
    meter_stop = payload.get("meterStop")
    stop_wh = float(meter_stop) if isinstance(meter_stop, int | float) else None
    reason = str(payload.get("reason") or DEFAULT_STOP_REASON)
    stop_tag = normalize_id_tag(str(payload["idTag"])) if payload.get("idTag") else None
    answer: dict[str, Any] = {"idTagInfo": auth.id_tag_info()} if stop_tag and auth is not None else {}

    if tx_id in live:
        tx = apply_meter(live[tx_id], samples, min_usage_change_a)
        stop_wh = stop_wh if stop_wh is not None else tx.last_register_wh
        record = close_transaction(
            tx, end_time=end, meter_stop_wh=stop_wh, reason=reason, stop_id_tag=stop_tag
        )
        return StopPlan("close", record, answer, ended=live[tx_id], warnings=tuple(warnings))
    if tx_id in closed:
        old = closed[tx_id]
        if old.stop_reason not in ("Timeout", "Superseded"):
            warnings.append(f"StopTransaction for transaction {tx_id} repeated; already recorded")
            return StopPlan("duplicate", old, answer, warnings=tuple(warnings))
        energy = None if old.meter_start_wh is None or stop_wh is None else stop_wh - old.meter_start_wh
        flags = set(old.flags) | {"amended"}
        if energy is not None and not 0 <= energy <= IMPLAUSIBLE_ENERGY_WH:
            flags.add("implausible_energy")
        amended = replace(
            old,
            end_time=end,
            duration_s=max((end - old.start_time).total_seconds(), 0.0),
            meter_stop_wh=stop_wh,
            energy_wh=energy,
            stop_reason=reason,
            stop_id_tag=stop_tag,
            flags=frozenset(flags),
        )
        return StopPlan("amend", amended, answer, warnings=tuple(warnings))
    warnings.append(f"StopTransaction for unknown transaction {tx_id}: recorded as synthesized session")
    begin = next((s for s in samples if s.begin_register_wh is not None), None)
    first = next((s for s in samples if s.register_wh is not None), None)
    start_wh = begin.begin_register_wh if begin else (first.register_wh if first else None)
    orphan = LiveTransaction(
        charger_id=charger_id,
        connector_id=0,
        transaction_id=tx_id,
        id_tag=stop_tag or "",
        start_time=begin.at if begin else (samples[0].at if samples else end),
        received_at=now,
        meter_start_wh=start_wh,
        flags=frozenset({"synthesized"} | (set() if begin else {"partial"})),
    )
    orphan = apply_meter(orphan, samples, min_usage_change_a)
    record = close_transaction(
        orphan, end_time=end, meter_stop_wh=stop_wh, reason=reason, stop_id_tag=stop_tag
    )
    return StopPlan("orphan", record, answer, warnings=tuple(warnings))


# ---------------------------------------------------------------------------------------------------------
# MeterValues and timeouts


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """``kind``: connector_only | update | synthesize | amend | late (after stop) | inactive.
    ``live`` is the connector's live transaction afterwards (None: none); ``record`` a record to write."""

    kind: str
    live: LiveTransaction | None = None
    record: SessionRecord | None = None
    superseded: SessionRecord | None = None
    warnings: tuple[str, ...] = ()


def decide_meter_values(
    transaction_id: int | None,
    samples: Sequence[MeterSample],
    *,
    charger_id: str,
    connector_id: int,
    live_on_connector: LiveTransaction | None,
    closed: Mapping[int, SessionRecord],
    connector_active: bool,
    now: datetime,
    min_usage_change_a: float = 0.5,
) -> MeterPlan:
    """Session effects of one MeterValues message (flows.md §2.8 rule 10, model.md §5.2)."""
    if transaction_id is None or connector_id == 0:
        return MeterPlan("connector_only", live_on_connector)
    if live_on_connector is not None and live_on_connector.transaction_id == transaction_id:
        return MeterPlan("update", apply_meter(live_on_connector, samples, min_usage_change_a))
    if transaction_id in closed:
        old = closed[transaction_id]
        if old.stop_reason != "Timeout" or not samples:
            return MeterPlan("late", live_on_connector)
        last = max(samples, key=lambda s: s.at)
        registers = [s for s in samples if s.register_wh is not None]
        stop_wh = max(registers, key=lambda s: s.at).register_wh if registers else old.meter_stop_wh
        energy = None if old.meter_start_wh is None or stop_wh is None else stop_wh - old.meter_start_wh
        amended = replace(
            old,
            end_time=max(old.end_time, last.at),
            duration_s=max((max(old.end_time, last.at) - old.start_time).total_seconds(), 0.0),
            meter_stop_wh=stop_wh,
            energy_wh=energy,
            flags=old.flags | {"amended"},
        )
        return MeterPlan("amend", live_on_connector, record=amended)
    if not connector_active:
        warning = f"MeterValues for unknown transaction {transaction_id} on idle connector {connector_id}"
        return MeterPlan("inactive", live_on_connector, warnings=(warning,))
    ordered = sorted(samples, key=lambda s: s.at)
    begin = next((s for s in ordered if s.begin_register_wh is not None), None)
    first = next((s for s in ordered if s.register_wh is not None), None)
    synthesized = LiveTransaction(
        charger_id=charger_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        id_tag="",
        start_time=begin.at if begin else (ordered[0].at if ordered else now),
        received_at=now,
        meter_start_wh=begin.begin_register_wh if begin else (first.register_wh if first else None),
        flags=frozenset({"synthesized"} | (set() if begin else {"partial"})),
    )
    superseded = _supersede(live_on_connector, now) if live_on_connector is not None else None
    warning = f"MeterValues reveal transaction {transaction_id} on connector {connector_id}; synthesized"
    return MeterPlan(
        "synthesize",
        apply_meter(synthesized, ordered, min_usage_change_a),
        superseded=superseded,
        warnings=(warning,),
    )


@dataclass(frozen=True, slots=True)
class TimeoutClose:
    transaction: LiveTransaction
    record: SessionRecord


def find_timeouts(
    live: Iterable[LiveTransaction],
    *,
    disconnected_since: Mapping[str, datetime],
    now: datetime,
    timeout_s: float,
) -> tuple[TimeoutClose, ...]:
    """Live transactions whose charger has been disconnected longer than ``timeout_s`` (flows.md §2.10).

    Chargers missing from ``disconnected_since`` are connected. The record ends at the last thing known
    about the session (its last meter reading, else the disconnect), reason ``Timeout``.
    """
    out: list[TimeoutClose] = []
    for tx in live:
        since = disconnected_since.get(tx.charger_id)
        if since is None or now - since <= timedelta(seconds=timeout_s):
            continue
        end = max(tx.start_time, min(tx.last_seen or since, since))
        stop = tx.last_register_wh if tx.last_register_wh is not None else tx.meter_start_wh
        record = close_transaction(
            tx, end_time=end, meter_stop_wh=stop, reason="Timeout", extra_flags={"timeout_stop"}
        )
        out.append(TimeoutClose(tx, record))
    return tuple(out)
