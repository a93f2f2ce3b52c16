"""The composite over time: GetCompositeSchedule's answer and the next instant a limit changes.

GetCompositeSchedule covers [receipt, receipt + duration) (ocpp-1.6-edition2.txt:2757-2759, errata 3.28/3.29);
connector 0 reports the whole charger (:2761-2762, errata 3.30); the schedule carries no startSchedule, its
periods count from scheduleStart (errata 3.57, :3728-3731). Periods where no profile limits report the
connector's hardware rating, a local limit the answer may include (errata 3.27). The answer is computed with
the connectors' current transactions, and an idle connector as if a session started at the window start;
it is only a snapshot (:2764-2768). Limits are rounded *down* to one decimal (schema multipleOf 0.1).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from balanz.profiles.composite import ChargerView, Limit, change_instants, charger_limits, grid_limit
from balanz.profiles.model import ChargingSchedule, RateUnit, SchedulePeriod, format_time

logger = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(days=8)
"""Long enough to see every change of a Weekly recurring profile."""


@dataclass(frozen=True)
class CompositeSchedule:
    connector_id: int
    start: datetime
    schedule: ChargingSchedule

    def to_ocpp(self) -> dict[str, Any]:
        """The GetCompositeSchedule.conf payload."""
        return {
            "status": "Accepted",
            "connectorId": self.connector_id,
            "scheduleStart": format_time(self.start),
            "chargingSchedule": self.schedule.to_ocpp(),
        }


def in_unit(limit: Limit, unit: RateUnit, voltage_v: float) -> float:
    """A limit expressed in `unit`, rounded down to the 0.1 the schema allows."""
    value = limit.amps if unit is RateUnit.A else limit.amps * voltage_v * limit.phases
    return math.floor(value * 10 + 1e-6) / 10


def composite_schedule(
    view: ChargerView, connector_id: int, start: datetime, duration_s: int, unit: RateUnit = RateUnit.A
) -> CompositeSchedule | None:
    """The merged schedule applied on `connector_id`; None (= Rejected) for an unknown connector."""
    if not 0 <= connector_id <= view.store.connectors:
        return None
    end = start + timedelta(seconds=duration_s)
    periods: list[SchedulePeriod] = []
    for instant in [start, *change_instants(view, start, end, idle_anchor=start)]:
        if instant >= end and periods:
            break
        limit = (
            grid_limit(view, instant, idle_anchor=start)
            if connector_id == 0
            else charger_limits(view, instant, idle_anchor=start)[connector_id]
        )
        period = SchedulePeriod(
            math.ceil((instant - start).total_seconds()),
            in_unit(limit, unit, view.electrics.voltage_v),
            limit.phases,
        )
        if periods and periods[-1].start_period == period.start_period:
            periods.pop()
        if periods and (periods[-1].limit, periods[-1].number_phases) == (period.limit, period.number_phases):
            continue
        periods.append(period)
    return CompositeSchedule(connector_id, start, ChargingSchedule(unit, tuple(periods), duration=duration_s))


def next_change_after(
    view: ChargerView, after: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """The first instant in (after, after + horizon] at which any connector's `limit_at` differs from its
    value at `after`, or None if nothing changes in that span (a simulator then re-asks at the horizon)."""
    current = charger_limits(view, after)
    for instant in change_instants(view, after, after + horizon, idle_anchor=None):
        if charger_limits(view, instant) != current:
            return instant
    return None
