"""Verification of applied limits (profiles.md §7): Accepted is not applied (pitfalls P8).

One `Check` per connector holds the limit in force since its acknowledgement; `observe` folds one meter sample
(`balanz.csms.meter_values.MeterSample`) into it.

Readings and decisions (pinned by tests/charging/test_verify.py):
- Samples taken before acknowledgement + `verify_grace_s` are not judged (the EV and charger need time;
  P19 settling). Sample times are the charger's, already clock-corrected by the shell.
- With Current.Offered (per connector, max over phases — what `summarize` gives): ≤ target + tolerance
  confirms, however much lower (cable, EV and thermal limits are normal). Without it, measured usage (max
  phase Current.Import) is judged the same way, but usage at or below the target proves nothing: the verdict
  stays `unknown` (P18: never confirm from the measured value alone).
- Two consecutive samples above target + tolerance are one mismatch; a sample with neither value leaves the
  count alone. Each mismatch asks for a re-send; the `verify_failures_max`-th mismatch in a session makes
  the charger uncontrollable (R19). A new acknowledged limit restarts the consecutive count, a new session
  also the mismatch count. A raise keeps the grace already served (`retarget`); a reduction starts anew.
- Every sample above target + tolerance is reported as `observed_a`, so the allocator can raise exposure at
  once (R17 item 5) without waiting for the second one.
- A reduction whose answer never came (R19) is shown to have taken effect by Current.Offered reporting the
  lower value: two consecutive Offered samples after the send, both ≤ new limit + tolerance and below the
  old limit − tolerance. If the latest Offered before the send was already that low, the samples prove
  nothing (the EV or cable was below both limits); with no earlier Offered sample to compare, they must
  match the new limit within the tolerance (R19 "matching the target"), since a lower value may be the EV's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from balanz.config.schema import ProfilesConfig
from balanz.csms.meter_values import MeterSample

logger = logging.getLogger(__name__)

MISMATCH_SAMPLES = 2


class Verdict(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNKNOWN = "unknown"
    MISMATCH = "mismatch"
    UNCONTROLLABLE = "uncontrollable"


@dataclass(frozen=True)
class Check:
    target_a: float
    acknowledged_at: datetime
    above: int = 0
    failures: int = 0
    confirmed: bool = False


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    check: Check
    observed_a: float | None = None
    resend: bool = False
    reason: str = ""


def expect(previous: Check | None, target_a: float, acknowledged_at: datetime, *, new_session: bool) -> Check:
    """The check after a new limit was acknowledged (or re-asserted)."""
    failures = 0 if previous is None or new_session else previous.failures
    return Check(target_a=target_a, acknowledged_at=acknowledged_at, failures=failures)


def retarget(previous: Check | None, target_a: float, at: datetime, *, new_session: bool) -> Check:
    """The check after the limit in force changed to `target_a`, noticed at `at`.

    A raise within a session keeps the grace already served (and the mismatch count): the old, lower
    limit was in force until now, so a charger offering above the new one was above the old one too —
    otherwise a ramp of raises every few minutes would restart the grace each time and hide a charger
    that ignores every limit (P8). A reduction or a new session starts a fresh grace (`expect`)."""
    if previous is None or new_session or target_a < previous.target_a:
        return expect(previous, target_a, at, new_session=new_session)
    return replace(previous, target_a=target_a, above=0, confirmed=False)


def _judged_value(sample: MeterSample) -> tuple[float | None, bool]:
    """(value, is_offered): Current.Offered when the charger reports it, else usage."""
    if sample.offered_a is not None:
        return sample.offered_a, True
    return sample.usage_a, False


def observe(check: Check, sample: MeterSample, profiles: ProfilesConfig) -> Finding:
    """Judge one sample against the limit in force."""
    if sample.at < check.acknowledged_at + timedelta(seconds=profiles.verify_grace_s):
        return Finding(Verdict.PENDING, check, reason="within verify_grace_s")
    value, offered = _judged_value(sample)
    if value is None:
        return Finding(Verdict.CONFIRMED if check.confirmed else Verdict.UNKNOWN, check, reason="no value")
    what = "Current.Offered" if offered else "usage"
    bound = check.target_a + profiles.verify_tolerance_a
    if value <= bound:
        if offered:
            return Finding(Verdict.CONFIRMED, replace(check, above=0, confirmed=True))
        verdict = Verdict.CONFIRMED if check.confirmed else Verdict.UNKNOWN
        return Finding(verdict, replace(check, above=0), reason="usage within limit proves nothing")
    above = check.above + 1
    reason = f"{what} {value:g} A above limit {check.target_a:g} A + {profiles.verify_tolerance_a:g} A"
    if above < MISMATCH_SAMPLES:
        return Finding(Verdict.UNKNOWN, replace(check, above=above, confirmed=False), value, reason=reason)
    failures = check.failures + 1
    after = replace(check, above=0, failures=failures, confirmed=False)
    if failures >= profiles.verify_failures_max:
        reason += (
            f"; mismatch {failures} of {profiles.verify_failures_max} — charger does not apply its limit"
        )
        return Finding(Verdict.UNCONTROLLABLE, after, value, reason=reason)
    return Finding(Verdict.MISMATCH, after, value, resend=True, reason=f"{reason}; mismatch {failures}")


def status_at(check: Check, now: datetime, profiles: ProfilesConfig) -> Verdict:
    """Where a check stands without a new sample: pending inside the grace, else confirmed or unknown."""
    if now < check.acknowledged_at + timedelta(seconds=profiles.verify_grace_s):
        return Verdict.PENDING
    return Verdict.CONFIRMED if check.confirmed else Verdict.UNKNOWN


def reduction_took_effect(
    target_a: float,
    previous_a: float,
    sent_at: datetime,
    samples: Iterable[MeterSample],
    profiles: ProfilesConfig,
) -> bool:
    """Issue 6 / R19: Current.Offered shows the lower value, so an unanswered reduction was applied."""
    tolerance = profiles.verify_tolerance_a
    offered = sorted((s for s in samples if s.offered_a is not None), key=lambda s: s.at)
    before = [s.offered_a for s in offered if s.at < sent_at and s.offered_a is not None]
    if before and before[-1] <= target_a + tolerance:
        return False
    floor = target_a - tolerance if not before else float("-inf")
    run = 0
    for sample in (s for s in offered if s.at >= sent_at):
        value = sample.offered_a
        lower = (
            value is not None and floor <= value <= target_a + tolerance and value < previous_a - tolerance
        )
        run = run + 1 if lower else 0
        if run >= MISMATCH_SAMPLES:
            return True
    return False
