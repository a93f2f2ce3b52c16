"""Verification of applied limits, profiles.md §7 (pitfalls P8, P18) and the timed-out reduction rule."""

from datetime import UTC, datetime, timedelta

from balanz.charging import Verdict, expect, observe, reduction_took_effect, status_at
from balanz.charging.verify import Check
from balanz.config.schema import ProfilesConfig
from balanz.csms.meter_values import MeterSample

ACK = datetime(2025, 3, 4, 10, tzinfo=UTC)
P = ProfilesConfig()  # grace 60 s, tolerance 1 A, 3 failures


def at(seconds: float, offered: float | None = None, usage: float | None = None) -> MeterSample:
    return MeterSample(at=ACK + timedelta(seconds=seconds), offered_a=offered, usage_a=usage)


def feed(check: Check, *samples: MeterSample) -> list[Verdict]:
    out = []
    for sample in samples:
        finding = observe(check, sample, P)
        out.append(finding.verdict)
        check = finding.check
    return out


def test_profiles_7_samples_inside_the_grace_are_not_judged() -> None:
    check = expect(None, 10, ACK, new_session=True)
    assert feed(check, at(59, offered=32), at(59.9, offered=32)) == [Verdict.PENDING, Verdict.PENDING]
    assert status_at(check, ACK + timedelta(seconds=30), P) is Verdict.PENDING
    assert status_at(check, ACK + timedelta(seconds=61), P) is Verdict.UNKNOWN


def test_profiles_7_offered_at_or_below_target_plus_tolerance_confirms_lower_is_normal() -> None:
    check = expect(None, 10, ACK, new_session=True)
    assert feed(check, at(61, offered=11)) == [Verdict.CONFIRMED]
    assert feed(check, at(61, offered=6)) == [Verdict.CONFIRMED]
    finding = observe(check, at(61, offered=6), P)
    assert status_at(finding.check, ACK + timedelta(seconds=90), P) is Verdict.CONFIRMED


def test_profiles_7_two_consecutive_offered_samples_above_are_a_mismatch_p8() -> None:
    check = expect(None, 10, ACK, new_session=True)
    first = observe(check, at(61, offered=16), P)
    assert first.verdict is Verdict.UNKNOWN
    assert first.observed_a == 16
    second = observe(first.check, at(121, offered=16), P)
    assert second.verdict is Verdict.MISMATCH
    assert second.resend
    assert second.check.failures == 1


def test_profiles_7_a_sample_below_in_between_resets_the_count() -> None:
    check = expect(None, 10, ACK, new_session=True)
    assert feed(check, at(61, offered=16), at(90, offered=10), at(120, offered=16)) == [
        Verdict.UNKNOWN,
        Verdict.CONFIRMED,
        Verdict.UNKNOWN,
    ]


def test_profiles_7_without_offered_usage_above_mismatches_but_below_proves_nothing_p18() -> None:
    check = expect(None, 10, ACK, new_session=True)
    assert feed(check, at(61, usage=9.5), at(70, usage=3)) == [Verdict.UNKNOWN, Verdict.UNKNOWN]
    assert feed(check, at(61, usage=12), at(70, usage=12)) == [Verdict.UNKNOWN, Verdict.MISMATCH]


def test_profiles_7_samples_with_no_value_leave_the_count() -> None:
    check = expect(None, 10, ACK, new_session=True)
    assert feed(check, at(61, offered=16), at(62), at(63, offered=16)) == [
        Verdict.UNKNOWN,
        Verdict.UNKNOWN,
        Verdict.MISMATCH,
    ]


def test_r19_verify_failures_max_mismatches_in_a_session_make_it_uncontrollable() -> None:
    check = expect(None, 10, ACK, new_session=True)
    verdicts = []
    for i in range(3):
        for _ in range(2):
            finding = observe(check, at(100 + i, offered=20), P)
            check = finding.check
        verdicts.append(finding.verdict)
        # re-sent and acknowledged again: the consecutive count restarts, the session's failures stay
        check = expect(check, 10, ACK, new_session=False)
    assert verdicts == [Verdict.MISMATCH, Verdict.MISMATCH, Verdict.UNCONTROLLABLE]
    assert not finding.resend
    assert expect(check, 10, ACK, new_session=True).failures == 0


def test_issue6_offered_showing_the_lower_value_proves_a_timed_out_reduction() -> None:
    sent = ACK
    before = at(-30, offered=16)
    assert reduction_took_effect(8, 16, sent, [before, at(20, offered=8), at(40, offered=8)], P)
    assert not reduction_took_effect(8, 16, sent, [before, at(20, offered=8)], P)  # one sample is not two
    assert not reduction_took_effect(
        8, 16, sent, [before, at(20, offered=8), at(30, offered=16), at(40, offered=8)], P
    )
    assert not reduction_took_effect(8, 16, sent, [before, at(20, offered=16), at(40, offered=16)], P)
    assert not reduction_took_effect(8, 16, sent, [at(20, usage=2), at(40, usage=2)], P)  # usage is no proof


def test_issue6_offered_already_low_before_the_send_proves_nothing() -> None:
    """Cable or EV limited to 6 A under both the old 16 A and the new 8 A limit."""
    samples = [at(-30, offered=6), at(20, offered=6), at(40, offered=6)]
    assert not reduction_took_effect(8, 16, ACK, samples, P)
    # No earlier sample to compare: only values matching the new limit count (R19).
    assert not reduction_took_effect(8, 16, ACK, samples[1:], P)
    assert reduction_took_effect(8, 16, ACK, [at(20, offered=8), at(40, offered=7.5)], P)
