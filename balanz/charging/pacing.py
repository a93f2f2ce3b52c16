"""When an offer may go to a connector (R18, R19), without I/O: time is an argument.

Two brakes, both per connector:

- back-off after a failure (``Rejected``, a CALLERROR, no answer): the charger refused or ignored this
  kind of offer, so sending it again at every run only loads the charger and the link. The next attempt
  waits ``retry_initial_s``, doubling per consecutive failure up to ``retry_max_s``.
- ``profiles.min_interval_s``: at most one non-safety SetChargingProfile per interval (pitfalls P20:
  some firmware wears out or stalls when profiles come too fast).

Reductions are never delayed by the interval — safety first: a reduction is what keeps a group within its
limit. After a failure a reduction waits only if it asks for no less than the one that failed (re-sending
the same thing); a deeper reduction goes at once. While an offer waits the connector keeps its old value
in the exposures, so waiting is always safe; it only costs capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from balanz.charging.strategy import retry_delay
from balanz.config.schema import ProfilesConfig


@dataclass(frozen=True, slots=True)
class Pace:
    """One connector's recent sends: the last SetChargingProfile, and the run of failures since the last
    ``Accepted`` (``failed_value`` the offer that failed last)."""

    last_sent: datetime | None = None
    failures: int = 0
    failed_at: datetime | None = None
    failed_value: int | None = None


def sent(pace: Pace, at: datetime) -> Pace:
    return replace(pace, last_sent=at)


def answered(pace: Pace, value: int, accepted: bool, at: datetime) -> Pace:
    """An ``Accepted`` ends the back-off; anything else extends it."""
    if accepted:
        return replace(pace, failures=0, failed_at=None, failed_value=None)
    return replace(pace, failures=pace.failures + 1, failed_at=at, failed_value=value)


def release_at(pace: Pace, value: int, reduction: bool, profiles: ProfilesConfig) -> datetime | None:
    """The earliest instant an offer of ``value`` may be sent; None: no brake applies."""
    earliest: datetime | None = None
    if pace.failures and pace.failed_at is not None:
        deeper = reduction and pace.failed_value is not None and value < pace.failed_value
        if not deeper:
            earliest = pace.failed_at + timedelta(seconds=retry_delay(pace.failures - 1, profiles))
    if not reduction and pace.last_sent is not None and profiles.min_interval_s > 0:
        spaced = pace.last_sent + timedelta(seconds=profiles.min_interval_s)
        earliest = spaced if earliest is None else max(earliest, spaced)
    return earliest


def may_send(pace: Pace, value: int, reduction: bool, profiles: ProfilesConfig, now: datetime) -> bool:
    at = release_at(pace, value, reduction, profiles)
    return at is None or at <= now
