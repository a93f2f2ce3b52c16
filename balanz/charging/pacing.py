"""When an offer may go to a connector (R18, R19), without I/O: time is an argument.

Two brakes:

- back-off after a failure (``Rejected``, a CALLERROR, no answer), per connector: the charger refused or
  ignored this offer, so sending it again at every run only loads the charger and the link. The next attempt
  waits ``retry_initial_s``, doubling per consecutive failure up to ``retry_max_s``. It is also the rhythm
  of re-sending an unanswered offer (R19). Per connector, so a failure costs only that connector's offers.
- ``profiles.min_interval_s``, per charger (R18, profiles.md §5.2): at most one non-safety
  SetChargingProfile (an increase, a re-assertion, a re-send that is no reduction) per interval to one
  charger (pitfalls P20: some firmware wears out or stalls when profiles come too fast). The caller keeps
  the instant of the charger's last non-safety send (``spaced_from``).

Reductions are never delayed by the interval and never count for it — safety first: a reduction is what
keeps a group within its limit. After a failure a reduction waits only if it asks for no less than the one
that failed (re-sending the same thing); a deeper reduction goes at once. While an offer waits the
connector keeps its old value in the exposures, so waiting is always safe; it only costs capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from balanz.charging.strategy import retry_delay
from balanz.config.schema import ProfilesConfig


@dataclass(frozen=True, slots=True)
class Pace:
    """One connector's run of failures since its last ``Accepted`` (``failed_value`` the offer that failed
    last, ``failed_at`` when)."""

    failures: int = 0
    failed_at: datetime | None = None
    failed_value: int | None = None


def answered(pace: Pace, value: int, accepted: bool, at: datetime) -> Pace:
    """An ``Accepted`` (or anything that proves the offer applied) ends the back-off; anything else
    extends it."""
    if accepted:
        return Pace()
    return replace(pace, failures=pace.failures + 1, failed_at=at, failed_value=value)


def backoff_until(pace: Pace, value: int, reduction: bool, profiles: ProfilesConfig) -> datetime | None:
    """The end of the connector's back-off for an offer of ``value``; None: none applies."""
    if not pace.failures or pace.failed_at is None:
        return None
    if reduction and pace.failed_value is not None and value < pace.failed_value:
        return None
    return pace.failed_at + timedelta(seconds=retry_delay(pace.failures - 1, profiles))


def spaced_until(spaced_from: datetime | None, reduction: bool, profiles: ProfilesConfig) -> datetime | None:
    """The end of the charger's ``min_interval_s`` after its last non-safety send; reductions never wait."""
    if reduction or spaced_from is None or profiles.min_interval_s <= 0:
        return None
    return spaced_from + timedelta(seconds=profiles.min_interval_s)


def release_at(
    pace: Pace,
    value: int,
    reduction: bool,
    profiles: ProfilesConfig,
    spaced_from: datetime | None = None,
) -> datetime | None:
    """The earliest instant an offer of ``value`` may be sent: the later of the connector's back-off and the
    charger's interval (``spaced_from``: its last non-safety send); None: no brake applies."""
    times = [
        t
        for t in (
            backoff_until(pace, value, reduction, profiles),
            spaced_until(spaced_from, reduction, profiles),
        )
        if t is not None
    ]
    return max(times, default=None)


def may_send(
    pace: Pace,
    value: int,
    reduction: bool,
    profiles: ProfilesConfig,
    now: datetime,
    spaced_from: datetime | None = None,
) -> bool:
    at = release_at(pace, value, reduction, profiles, spaced_from)
    return at is None or at <= now
