"""The completed-session record (model.md §5.2) and the pure functions that build and summarise it.

Pure data: the shell (CSMS/LC transaction handlers) builds a `SessionRecord` with `build_session` or
`session_from_live` and hands it to `Store.complete_session`. Keeping the arithmetic here (energy,
duration, plausibility, summaries) means every writer computes them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from balanz.store.timefmt import compact_utc, format_optional, format_utc, parse_optional, parse_utc

SYNTHESIZED = "synthesized"
PARTIAL = "partial"
TIMEOUT_STOP = "timeout_stop"
AMENDED = "amended"
ISLAND = "island"
IMPLAUSIBLE_ENERGY = "implausible_energy"
FLAGS = frozenset({SYNTHESIZED, PARTIAL, TIMEOUT_STOP, AMENDED, ISLAND, IMPLAUSIBLE_ENERGY})

# More than any car battery takes in one session; a larger figure means a meter reset or a wrong meterStart.
IMPLAUSIBLE_ENERGY_WH = 500_000.0


@dataclass(frozen=True)
class HistoryEntry:
    """One point of a session's history: an implemented offer, a usage change, or both."""

    t: datetime
    offered_a: float | None = None
    usage_a: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"t": format_utc(self.t), "offered_a": self.offered_a, "usage_a": self.usage_a}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> HistoryEntry:
        return HistoryEntry(parse_utc(data["t"]), data.get("offered_a"), data.get("usage_a"))


def add_history_entry(
    history: tuple[HistoryEntry, ...], entry: HistoryEntry, minimum_usage_change_a: float
) -> tuple[HistoryEntry, ...]:
    """Append `entry`, thinned like the reference: an offer always counts, a usage only when it moved by at
    least `minimum_usage_change_a` since the last recorded usage (history.minimum_usage_change_a)."""
    usage = entry.usage_a
    if usage is not None:
        last = next((h.usage_a for h in reversed(history) if h.usage_a is not None), None)
        if last is not None and abs(usage - last) < minimum_usage_change_a:
            usage = None
    if entry.offered_a is None and usage is None:
        return history
    return (*history, replace(entry, usage_a=usage))


@dataclass(frozen=True)
class SessionSummary:
    max_offer_a: float | None
    max_usage_a: float | None
    mean_usage_a: float | None


def summarise_history(history: Sequence[HistoryEntry], end_time: datetime | None) -> SessionSummary:
    """Maximum offer, maximum usage, and the time-weighted mean usage.

    Usage is a step function: each recorded value holds until the next usage entry (thinning dropped only
    changes below the threshold). The mean runs from the first usage entry to `end_time`; before the first
    sample the draw is unknown, so that span is left out rather than counted as zero.
    """
    offers = [h.offered_a for h in history if h.offered_a is not None]
    usages = [(h.t, h.usage_a) for h in history if h.usage_a is not None]
    max_offer = max(offers) if offers else None
    max_usage = max(u for _, u in usages) if usages else None
    if not usages:
        return SessionSummary(max_offer, max_usage, None)
    stop = end_time if end_time is not None and end_time >= usages[-1][0] else usages[-1][0]
    weighted = 0.0
    for (t, value), (t_next, _) in zip(usages, [*usages[1:], (stop, 0.0)], strict=True):
        weighted += value * max(0.0, (t_next - t).total_seconds())
    span = (stop - usages[0][0]).total_seconds()
    mean = weighted / span if span > 0 else sum(u for _, u in usages) / len(usages)
    return SessionSummary(max_offer, max_usage, round(mean, 3))


@dataclass(frozen=True)
class SessionRecord:
    """A completed session, exactly the fields of model.md §5.2 plus `max_usage_a` ("max current").

    `start_time` is None only for an orphan stop (StopTransaction for a transaction balanz never saw begin,
    flag `synthesized`); meters are None when unknown.
    """

    session_id: str
    charger_id: str
    connector_id: int
    transaction_id: int
    end_time: datetime
    start_time: datetime | None
    id_tag: str
    user_name: str = ""
    alias: str | None = None
    group_id: str | None = None
    parent_id_tag: str | None = None
    stop_id_tag: str | None = None
    duration_s: float | None = None
    meter_start_wh: float | None = None
    meter_stop_wh: float | None = None
    energy_wh: float | None = None
    stop_reason: str = "Local"
    priority: int | None = None
    priority_source: str | None = None
    max_offer_a: float | None = None
    max_usage_a: float | None = None
    mean_usage_a: float | None = None
    history: tuple[HistoryEntry, ...] = ()
    flags: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines / monitor form: times as RFC 3339 UTC strings, flags sorted."""
        return {
            "session_id": self.session_id,
            "charger_id": self.charger_id,
            "alias": self.alias,
            "group_id": self.group_id,
            "connector_id": self.connector_id,
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "user_name": self.user_name,
            "parent_id_tag": self.parent_id_tag,
            "stop_id_tag": self.stop_id_tag,
            "start_time": format_optional(self.start_time),
            "end_time": format_utc(self.end_time),
            "duration_s": self.duration_s,
            "meter_start_wh": self.meter_start_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "energy_wh": self.energy_wh,
            "stop_reason": self.stop_reason,
            "priority": self.priority,
            "priority_source": self.priority_source,
            "max_offer_a": self.max_offer_a,
            "max_usage_a": self.max_usage_a,
            "mean_usage_a": self.mean_usage_a,
            "history": [h.to_json() for h in self.history],
            "flags": sorted(self.flags),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> SessionRecord:
        return SessionRecord(
            session_id=data["session_id"],
            charger_id=data["charger_id"],
            connector_id=data["connector_id"],
            transaction_id=data["transaction_id"],
            end_time=parse_utc(data["end_time"]),
            start_time=parse_optional(data.get("start_time")),
            id_tag=data["id_tag"],
            user_name=data.get("user_name", ""),
            alias=data.get("alias"),
            group_id=data.get("group_id"),
            parent_id_tag=data.get("parent_id_tag"),
            stop_id_tag=data.get("stop_id_tag"),
            duration_s=data.get("duration_s"),
            meter_start_wh=data.get("meter_start_wh"),
            meter_stop_wh=data.get("meter_stop_wh"),
            energy_wh=data.get("energy_wh"),
            stop_reason=data.get("stop_reason", "Local"),
            priority=data.get("priority"),
            priority_source=data.get("priority_source"),
            max_offer_a=data.get("max_offer_a"),
            max_usage_a=data.get("max_usage_a"),
            mean_usage_a=data.get("mean_usage_a"),
            history=tuple(HistoryEntry.from_json(h) for h in data.get("history", ())),
            flags=frozenset(data.get("flags", ())),
        )


def session_id_for(
    charger_id: str, connector_id: int, transaction_id: int, start_time: datetime | None, end_time: datetime
) -> str:
    """`<charger_id>/<connector>/<transaction_id>/<start UTC>`: unique even when an id counter restarted.

    An orphan stop has no start; its id carries `end-<end UTC>` instead, so a repeated orphan stop maps to
    the same id and stays one record.
    """
    stamp = compact_utc(start_time) if start_time is not None else f"end-{compact_utc(end_time)}"
    return f"{charger_id}/{connector_id}/{transaction_id}/{stamp}"


def _tag(id_tag: str | None) -> str | None:
    """Tags are compared upper case (model.md §8); an empty optional tag is no tag."""
    if id_tag is None:
        return None
    return id_tag.strip().upper() or None


def build_session(
    *,
    charger_id: str,
    connector_id: int,
    transaction_id: int,
    start_time: datetime | None,
    end_time: datetime,
    id_tag: str,
    user_name: str = "",
    alias: str | None = None,
    group_id: str | None = None,
    parent_id_tag: str | None = None,
    stop_id_tag: str | None = None,
    meter_start_wh: float | None = None,
    meter_stop_wh: float | None = None,
    stop_reason: str = "Local",
    priority: int | None = None,
    priority_source: str | None = None,
    history: Iterable[HistoryEntry] = (),
    flags: Iterable[str] = (),
) -> SessionRecord:
    """Derive id, duration, energy, plausibility and summaries from the observed facts; tag ids are
    normalised to upper case."""
    for moment in (start_time, end_time):
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment.isoformat()} in session of {charger_id}: pass UTC")
    start = start_time.replace(microsecond=0) if start_time is not None else None
    end = end_time.replace(microsecond=0)
    entries = tuple(history)
    flag_set = set(flags)
    unknown = flag_set - FLAGS
    if unknown:
        raise ValueError(f"unknown session flags {sorted(unknown)} (known: {sorted(FLAGS)})")
    energy = None
    if meter_start_wh is not None and meter_stop_wh is not None:
        energy = meter_stop_wh - meter_start_wh
        if energy < 0 or energy > IMPLAUSIBLE_ENERGY_WH:
            flag_set.add(IMPLAUSIBLE_ENERGY)
        else:
            flag_set.discard(IMPLAUSIBLE_ENERGY)
    summary = summarise_history(entries, end)
    return SessionRecord(
        session_id=session_id_for(charger_id, connector_id, transaction_id, start, end),
        charger_id=charger_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        end_time=end,
        start_time=start,
        id_tag=id_tag.strip().upper(),
        user_name=user_name,
        alias=alias,
        group_id=group_id,
        parent_id_tag=_tag(parent_id_tag),
        stop_id_tag=_tag(stop_id_tag),
        duration_s=(end - start).total_seconds() if start is not None else None,
        meter_start_wh=meter_start_wh,
        meter_stop_wh=meter_stop_wh,
        energy_wh=energy,
        stop_reason=stop_reason,
        priority=priority,
        priority_source=priority_source,
        max_offer_a=summary.max_offer_a,
        max_usage_a=summary.max_usage_a,
        mean_usage_a=summary.mean_usage_a,
        history=entries,
        flags=frozenset(flag_set),
    )


def amend_session(
    existing: SessionRecord,
    *,
    end_time: datetime,
    meter_stop_wh: float | None,
    stop_reason: str | None = None,
    stop_id_tag: str | None = None,
    history: Iterable[HistoryEntry] = (),
) -> SessionRecord:
    """A late stop (or late meter values) for a session closed by timeout: new end, meter stop and reason,
    history extended with the entries after the old end; flag `amended` added, `timeout_stop` kept."""
    later = tuple(h for h in history if h.t > existing.end_time)
    amended = build_session(
        charger_id=existing.charger_id,
        connector_id=existing.connector_id,
        transaction_id=existing.transaction_id,
        start_time=existing.start_time,
        end_time=end_time,
        id_tag=existing.id_tag,
        user_name=existing.user_name,
        alias=existing.alias,
        group_id=existing.group_id,
        parent_id_tag=existing.parent_id_tag,
        stop_id_tag=stop_id_tag if stop_id_tag is not None else existing.stop_id_tag,
        meter_start_wh=existing.meter_start_wh,
        meter_stop_wh=meter_stop_wh if meter_stop_wh is not None else existing.meter_stop_wh,
        stop_reason=stop_reason if stop_reason is not None else existing.stop_reason,
        priority=existing.priority,
        priority_source=existing.priority_source,
        history=(*existing.history, *later),
        flags={*existing.flags, AMENDED},
    )
    return replace(amended, session_id=existing.session_id)
