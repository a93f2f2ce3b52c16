"""Live transactions and session records (model.md §5.2): how a session is summarised.

The record types themselves are in `balanz.sessions`, shared with the store.

A live transaction is persisted on every change so a restart resumes it; a session record is
append-only and written durably before the charger gets its answer. Energy is register − meter start;
values outside 0…500 kWh are kept but flagged ``implausible_energy`` (a meter replaced mid-session, a
register that wrapped, a charger that re-bases to zero). Usage history is thinned as the reference did:
a usage entry only when the usage moved by ``history.minimum_usage_change_a``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from balanz.csms.meter_values import MeterSample
from balanz.sessions import HistoryEntry, LiveTransaction, SessionRecord, energy_flags

logger = logging.getLogger(__name__)


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
    """Session values from meter samples (flows.md §2.8 rules 8, 11).

    The history is a forward log: a usage sample older than its last entry (a batch replayed out of
    order) does not go into it. The register only moves forward in time too, except that a higher register
    is always taken: a register only grows, so the energy (register − meter start) never hinges on
    timestamps a charger with a wrong clock got wrong.
    """
    for s in sorted(samples, key=lambda s: s.at):
        if s.begin_register_wh is not None and not tx.meter_start_wh:
            tx = replace(tx, meter_start_wh=s.begin_register_wh, flags=tx.flags - {"partial"})
        if s.end_register_wh is not None:
            tx = replace(tx, end_register_wh=s.end_register_wh)
        if s.register_wh is not None and (
            tx.last_seen is None
            or s.at >= tx.last_seen
            or tx.last_register_wh is None
            or s.register_wh > tx.last_register_wh
        ):
            tx = replace(tx, last_register_wh=s.register_wh)
        if s.usage_a is not None and (not tx.history or s.at >= tx.history[-1].t):
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
    energy, energy_flag_set = energy_flags(tx.meter_start_wh, meter_stop_wh)
    flags |= energy_flag_set
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


def supersede(old: LiveTransaction, fallback_end: datetime) -> SessionRecord:
    """Close ``old`` because the connector moved on to another transaction (reason ``Superseded``)."""
    stop = old.last_register_wh if old.last_register_wh is not None else old.meter_start_wh
    return close_transaction(
        old, end_time=old.last_seen or fallback_end, meter_stop_wh=stop, reason="Superseded"
    )


def synthesized_transaction(
    samples: Sequence[MeterSample],
    *,
    charger_id: str,
    connector_id: int,
    transaction_id: int,
    id_tag: str,
    fallback_start: datetime,
    now: datetime,
) -> LiveTransaction:
    """A transaction balanz never saw start, rebuilt from meter samples (flag ``synthesized``).

    Start = the ``Transaction.Begin`` reading if the charger sent one, else the first sample; meter
    start likewise, else the first register seen (flag ``partial``: the energy before it is unknown).
    """
    ordered = sorted(samples, key=lambda s: s.at)
    begin = next((s for s in ordered if s.begin_register_wh is not None), None)
    first = next((s for s in ordered if s.register_wh is not None), None)
    return LiveTransaction(
        charger_id=charger_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        id_tag=id_tag,
        start_time=begin.at if begin else (ordered[0].at if ordered else fallback_start),
        received_at=now,
        meter_start_wh=begin.begin_register_wh if begin else (first.register_wh if first else None),
        flags=frozenset({"synthesized"} | (set() if begin else {"partial"})),
    )
