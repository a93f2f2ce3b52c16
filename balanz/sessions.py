"""The session record types (model.md §5.2), shared by the CSMS that fills them and the store that keeps them.

They live below both so the store (a lower layer) does not import the CSMS. A closed record can be amended
by what the charger reports later; that correction is here too because the store applies it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

IMPLAUSIBLE_ENERGY_WH = 500_000.0


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


def energy_flags(meter_start_wh: float | None, meter_stop_wh: float | None) -> tuple[float | None, set[str]]:
    """Energy is kept even when implausible (a replaced or wrapped meter): flagged, never dropped."""
    if meter_start_wh is None or meter_stop_wh is None:
        return None, set()
    energy = meter_stop_wh - meter_start_wh
    return energy, (set() if 0 <= energy <= IMPLAUSIBLE_ENERGY_WH else {"implausible_energy"})


def amend_record(
    old: SessionRecord,
    *,
    end_time: datetime,
    meter_stop_wh: float | None,
    reason: str | None = None,
    stop_id_tag: str | None = None,
) -> SessionRecord:
    """A closed record corrected by what the charger said later (flag ``amended``); None keeps a field."""
    energy, flags = energy_flags(old.meter_start_wh, meter_stop_wh)
    return replace(
        old,
        end_time=end_time,
        duration_s=max((end_time - old.start_time).total_seconds(), 0.0),
        meter_stop_wh=meter_stop_wh,
        energy_wh=energy,
        stop_reason=reason if reason is not None else old.stop_reason,
        stop_id_tag=stop_id_tag if stop_id_tag is not None else old.stop_id_tag,
        flags=(old.flags - {"implausible_energy"}) | flags | {"amended"},
    )
