"""Transaction bookkeeping decisions of CSMS mode (flows.md §2.7, §2.9, §2.10; model.md §5.2).

Every function here is pure: it gets the live transactions and recently closed sessions the shell holds,
and returns a plan saying what to persist and what to answer. The shell assigns transaction ids from the
store's counter, commits records durably, then answers — in that order — so nothing here can lose data.

The records themselves live in ``balanz.csms.sessions``. Cases covered:
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
from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import (
    DEFAULT_METER_SETTINGS,
    MeterSample,
    MeterSettings,
    parse_timestamp,
    parse_transaction_data,
    summarize,
)
from balanz.csms.sessions import apply_meter, close_transaction, supersede, synthesized_transaction
from balanz.csms.tags import ACCEPTED, DEFAULT_CSMS, AuthDecision, normalize_id_tag
from balanz.sessions import LiveTransaction, SessionRecord, amend_record

logger = logging.getLogger(__name__)

DUPLICATE_TOLERANCE_S = 2.0
DEFAULT_STOP_REASON = "Local"
NO_BACKLOG = Retiming()
CLOCK_RETIMED = "clock_retimed"  # the start's timestamp was not the charger's (its clock was off)


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
    retiming: Retiming = NO_BACKLOG,
) -> StartPlan:
    """Decide a StartTransaction received at ``now`` on a connector whose open transaction is ``open_tx``.

    ``auth`` is ``tags.authorize`` for the idTag with this connector left out of the concurrency check.
    With ``csms.authorize_start = false`` the answer is Accepted whatever the tag says (reference
    behaviour), but user name and priority still come from the tag. A start answered with a rejecting
    status is still recorded: the charger may keep charging (``StopTransactionOnInvalidId`` false).
    The start is on balanz's timeline (``retiming``): a charger whose clock is off by more than the skew
    tolerance outside its offline backlog starts now, not queued, whatever its clock says.
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
    shift = retiming.shift(start, now)
    start += shift
    if not csms.authorize_start and auth.status != ACCEPTED:
        auth = replace(auth, status=ACCEPTED, reason=f"csms.authorize_start = false ({auth.reason})")
    flags = (set() if auth.accepted else {"rejected_tag"}) | ({CLOCK_RETIMED} if shift else set())
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
    if open_tx is not None and _same_start(open_tx, pending, retimed=bool(shift)):
        return StartPlan(pending, auth, duplicate_of=open_tx.transaction_id, warnings=tuple(warnings))
    queued = (now - start).total_seconds() > csms.transaction_stale_s
    if queued:
        pending = replace(pending, flags=pending.flags | {"queued_offline"})
    if not known_connector:
        warnings.append(f"StartTransaction on unconfigured connector {connector_id}; created with defaults")
    return StartPlan(
        pending,
        auth,
        superseded=supersede(open_tx, start) if open_tx is not None else None,
        queued_offline=queued,
        new_connector=not known_connector,
        warnings=tuple(warnings),
    )


def _same_start(old: LiveTransaction, new: LiveTransaction, *, retimed: bool) -> bool:
    """A retry of ``old``. A start re-timed to its receive time (a charger with a wrong clock) cannot be
    matched by time: its retry is received later. Then an ``old`` that was re-timed too (flag
    ``clock_retimed``) with the same connector, tag and meter start is taken as the same transaction."""
    same_time = abs((old.start_time - new.start_time).total_seconds()) <= DUPLICATE_TOLERANCE_S
    both_retimed = retimed and CLOCK_RETIMED in old.flags
    return (
        old.connector_id == new.connector_id
        and old.id_tag == new.id_tag
        and old.meter_start_wh == new.meter_start_wh
        and (same_time or both_retimed)
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
    retiming: Retiming = NO_BACKLOG,
) -> StopPlan:
    """Decide a StopTransaction; ``live``/``closed`` are this charger's transactions by transaction id.

    ``auth`` is the Authorize decision for the payload's optional idTag (None when absent). The stop and
    its ``transactionData`` move together onto balanz's timeline (``retiming``); a stop that would still
    precede its start (a charger whose clock went back) ends at the start.
    """
    tx_id = int(payload["transactionId"])
    readings, warns = parse_transaction_data(payload.get("transactionData") or ())
    warnings = list(warns)
    end = parse_timestamp(payload.get("timestamp"))
    if end is None:
        warnings.append(
            f"StopTransaction timestamp {payload.get('timestamp')!r} unreadable, receive time used"
        )
    stamps = [r.timestamp for r in readings] + ([end] if end is not None else [])
    shift = retiming.shift(max(stamps, default=None), now)
    samples = [replace(summarize(r, settings), at=r.timestamp + shift) for r in readings]
    end = now if end is None else end + shift
    meter_stop = payload.get("meterStop")
    stop_wh = float(meter_stop) if isinstance(meter_stop, int | float) else None
    reason = str(payload.get("reason") or DEFAULT_STOP_REASON)
    stop_tag = normalize_id_tag(str(payload["idTag"])) if payload.get("idTag") else None
    answer: dict[str, Any] = {"idTagInfo": auth.id_tag_info()} if stop_tag and auth is not None else {}

    if tx_id in live:
        tx = apply_meter(live[tx_id], samples, min_usage_change_a)
        if stop_wh is None:
            stop_wh = tx.end_register_wh if tx.end_register_wh is not None else tx.last_register_wh
        record = close_transaction(
            tx, end_time=max(end, tx.start_time), meter_stop_wh=stop_wh, reason=reason, stop_id_tag=stop_tag
        )
        return StopPlan("close", record, answer, ended=live[tx_id], warnings=tuple(warnings))
    if tx_id in closed:
        old = closed[tx_id]
        if old.stop_reason not in ("Timeout", "Superseded"):
            warnings.append(f"StopTransaction for transaction {tx_id} repeated; already recorded")
            return StopPlan("duplicate", old, answer, warnings=tuple(warnings))
        amended = amend_record(
            old, end_time=max(end, old.start_time), meter_stop_wh=stop_wh, reason=reason, stop_id_tag=stop_tag
        )
        return StopPlan("amend", amended, answer, warnings=tuple(warnings))
    warnings.append(f"StopTransaction for unknown transaction {tx_id}: recorded as synthesized session")
    orphan = synthesized_transaction(
        samples,
        charger_id=charger_id,
        connector_id=0,
        transaction_id=tx_id,
        id_tag=stop_tag or "",
        fallback_start=end,
        now=now,
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
        amended = amend_record(old, end_time=max(old.end_time, last.at), meter_stop_wh=stop_wh)
        return MeterPlan("amend", live_on_connector, record=amended)
    if not connector_active:
        warning = f"MeterValues for unknown transaction {transaction_id} on idle connector {connector_id}"
        return MeterPlan("inactive", live_on_connector, warnings=(warning,))
    synthesized = synthesized_transaction(
        samples,
        charger_id=charger_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        id_tag="",
        fallback_start=now,
        now=now,
    )
    superseded = supersede(live_on_connector, now) if live_on_connector is not None else None
    warning = f"MeterValues reveal transaction {transaction_id} on connector {connector_id}; synthesized"
    return MeterPlan(
        "synthesize",
        apply_meter(synthesized, samples, min_usage_change_a),
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
