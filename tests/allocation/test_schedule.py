"""The max_allocation grammar, validation and evaluation (model.md §1.4), one test per rule."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from balanz.allocation.schedule import ScheduleError, parse_schedule, schedule_from_slots

CPH = ZoneInfo("Europe/Copenhagen")
RR1 = "00:00-05:59>0=48;06:00-16:59>0=16:3=32:5=48;17:00-20:59>0=0:5=48;21:00-23:59>0=32:5=48"
HQ_DOCS = "00:00-07:59>0=63;08:00-16:59>0=20:3=63;17:00-20:59>5=63;21:00-23:59>0=40:3=63"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH)


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text)
    assert str(info.value) == "; ".join(info.value.problems)
    return info.value.problems


# --- the spec's example table -----------------------------------------------------------------------


def test_constant_is_one_default_slot_for_every_priority():
    schedule = parse_schedule("48")
    assert len(schedule.slots) == 1
    assert schedule.slots[0].is_default
    assert schedule.slots[0].quotas == ((0, 48),)
    assert schedule.min_limit == schedule.max_limit == 48
    assert schedule.slot_at(local(2026, 3, 4, 12, 0), CPH).limit == 48
    assert schedule.next_boundary(local(2026, 3, 4, 12, 0), CPH) is None


def test_rr2_all_day_three_thresholds():
    schedule = parse_schedule("00:00-23:59>0=24:3=40:5=48")
    slot = schedule.slot_at(local(2026, 1, 1, 3, 0), CPH)
    assert slot.quotas == ((0, 24), (3, 40), (5, 48))
    assert slot.limit == 48
    assert [slot.band(p) for p in (0, 2, 3, 4, 5, 10)] == [0, 0, 1, 1, 2, 2]
    assert schedule.next_boundary(local(2026, 1, 1, 3, 0), CPH) is None


def test_rr1_reference_string_stays_valid():
    schedule = parse_schedule(RR1)
    assert schedule.slot_at(local(2026, 5, 5, 16, 59, 59), CPH).quotas == ((0, 16), (3, 32), (5, 48))
    evening = schedule.slot_at(local(2026, 5, 5, 17, 0), CPH)
    assert evening.quotas == ((0, 0), (5, 48))
    assert evening.band(4) == 0
    assert evening.quotas[evening.band(4)][1] == 0
    assert schedule.min_limit == 48
    assert schedule.max_limit == 48
    assert schedule.next_boundary(local(2026, 5, 5, 16, 0), CPH) == local(2026, 5, 5, 17, 0)


def test_hq_docs_schedule_lowest_threshold_max_for_loader_warning():
    schedule = parse_schedule(HQ_DOCS)
    assert schedule.lowest_threshold_max == 5
    assert schedule.slot_at(local(2026, 5, 5, 18, 0), CPH).band(1) is None


def test_weekdays_with_default_slot():
    schedule = parse_schedule("Mon-Fri 07:00-17:59>0=20:3=63; *>0=63")
    # 2026-03-06 is a Friday, 2026-03-07 a Saturday
    assert schedule.slot_at(local(2026, 3, 6, 7, 0), CPH).quotas == ((0, 20), (3, 63))
    assert schedule.slot_at(local(2026, 3, 6, 18, 0), CPH).is_default
    assert schedule.slot_at(local(2026, 3, 7, 12, 0), CPH).is_default
    assert schedule.next_boundary(local(2026, 3, 6, 12, 0), CPH) == local(2026, 3, 6, 18, 0)
    assert schedule.next_boundary(local(2026, 3, 6, 19, 0), CPH) == local(2026, 3, 9, 7, 0)


def test_night_slot_wraps_past_midnight():
    schedule = parse_schedule("22:00-05:59>0=63; *>0=32")
    assert schedule.slot_at(local(2026, 2, 2, 23, 30), CPH).limit == 63
    assert schedule.slot_at(local(2026, 2, 3, 5, 59, 59), CPH).limit == 63
    assert schedule.slot_at(local(2026, 2, 3, 6, 0), CPH).limit == 32
    assert schedule.next_boundary(local(2026, 2, 2, 23, 0), CPH) == local(2026, 2, 3, 6, 0)
    assert schedule.next_boundary(local(2026, 2, 3, 6, 0), CPH) == local(2026, 2, 3, 22, 0)


def test_wrapping_slot_with_days_carries_into_next_day_only():
    schedule = parse_schedule("Sun 22:00-05:59>0=63; *>0=32")
    # 2026-03-08 is a Sunday
    assert schedule.slot_at(local(2026, 3, 9, 5, 0), CPH).limit == 63
    assert schedule.slot_at(local(2026, 3, 8, 5, 0), CPH).limit == 32


def test_gaps_are_listed():
    problems = problems_of("06:00-16:59>0=16;17:00-20:59>5=48")
    assert problems == (
        'not covered: 00:00–05:59 every day, 21:00–23:59 every day (add a default slot "*>…")',
    )


def test_end_minute_is_inclusive_so_shared_minute_overlaps():
    problems = problems_of("00:00-12:00>0=32;12:00-23:59>0=16")
    assert problems == (
        'slot 1 "00:00-12:00>0=32" and slot 2 "12:00-23:59>0=16" overlap on 12:00–12:00 every day',
    )


# --- grammar -------------------------------------------------------------------------------------------


def test_overlap_message_names_both_slots_and_interval():
    problems = problems_of(
        "00:00-05:59>0=48;06:00-16:59>0=16:3=32:5=48;16:30-20:59>0=0:5=48;21:00-23:59>0=32"
    )
    assert problems == (
        'slot 2 "06:00-16:59>0=16:3=32:5=48" and slot 3 "16:30-20:59>0=0:5=48" '
        "overlap on 16:30–16:59 every day",
    )


def test_weekend_gap_named_with_days():
    assert problems_of("Mon-Fri 00:00-23:59>0=32") == (
        'not covered: Sat–Sun 00:00–23:59 (add a default slot "*>…")',
    )


def test_hour_25_is_not_a_time():
    (problem,) = problems_of("25:00-05:59>0=16;*>0=16")
    assert "25:00 is not a time" in problem
    assert 'slot 1 "25:00-05:59>0=16"' in problem


def test_24_00_rejected_one_digit_hour_rejected():
    assert "24:00 is not a time" in problems_of("00:00-24:00>0=16")[0]
    assert '"6:00" is not a time' in problems_of("6:00-23:59>0=16;*>0=1")[0]


def test_higher_priority_cannot_have_smaller_quota():
    (problem,) = problems_of("*>0=40:5=20")
    assert "a higher priority cannot have a smaller quota" in problem


def test_all_problems_of_one_schedule_are_reported():
    problems = problems_of("25:00-05:59>0=16;Mox 01:00-02:00>0=1;03:00-04:00>0=16.5;*>3=1:3=2;07:00-08:00")
    assert len(problems) == 5
    assert "Mox" in problems[1]
    assert '"16.5" is not a whole number of amperes' in problems[2]
    assert "priority threshold 3 is given twice" in problems[3]
    assert 'has no ">"' in problems[4]


def test_spaces_allowed_around_separators_and_days_case_insensitive():
    schedule = parse_schedule(" mon-FRI 07:00-17:59 > 0 = 20 : 3 = 63 ; * > 0=63 ; ")
    assert schedule.slots[0].days == (0, 1, 2, 3, 4)
    assert schedule.slots[0].quotas == ((0, 20), (3, 63))


def test_spaces_inside_time_or_number_rejected():
    assert problems_of("00: 00-23:59>0=16")
    assert problems_of("00:00-23:59>0=1 6")


def test_day_ranges_wrap_and_lists():
    schedule = parse_schedule("Fri-Mon 00:00-23:59>0=10;Tue,Wed,Thu 00:00-23:59>0=20")
    assert schedule.slots[0].days == (0, 4, 5, 6)
    assert schedule.slots[1].days == (1, 2, 3)


def test_default_slot_at_most_once_and_without_days():
    assert "both default slots" in problems_of("*>0=1;*>0=2")[0]
    assert "takes no days" in problems_of("Mon *>0=1")[0]


def test_ranges_of_thresholds_and_amperes():
    assert "outside 0–1000" in problems_of("*>1001=5")[0]
    assert "outside 0–10000 A" in problems_of("*>0=10001")[0]


def test_empty_schedule_and_empty_slot():
    assert "empty" in problems_of("  ")[0]
    assert "empty" in problems_of("*>0=5;;")[0]


def test_quotas_sorted_by_threshold_and_limit_is_highest_threshold():
    slot = parse_schedule("*>5=48:0=16:3=32").slots[0]
    assert slot.quotas == ((0, 16), (3, 32), (5, 48))
    assert slot.limit == 48


def test_min_and_max_limit_over_slots():
    schedule = parse_schedule("00:00-11:59>0=10:3=20;12:00-23:59>0=40")
    assert (schedule.min_limit, schedule.max_limit) == (20, 40)


# --- structured form -----------------------------------------------------------------------------------


def test_structured_slots_same_semantics_as_string():
    structured = schedule_from_slots(
        [("06:00-16:59", "", {0: 16, 3: 32, 5: 48}), ("*", "", {0: 48})],
    )
    text = parse_schedule("06:00-16:59>0=16:3=32:5=48;*>0=48")
    instant = local(2026, 6, 1, 10, 0)
    assert structured.slot_at(instant, CPH).quotas == text.slot_at(instant, CPH).quotas
    assert structured.slots[0].text == "06:00-16:59>0=16:3=32:5=48"


def test_structured_slots_report_problems_with_slot_numbers():
    with pytest.raises(ScheduleError) as info:
        schedule_from_slots([("06:00-16:59", "Mon-Fri", {0: 40, 5: 20}), ("17:00-05:59", "Xyz", {0: 1})])
    assert len(info.value.problems) == 2
    assert info.value.problems[0].startswith('slot 1 "Mon-Fri 06:00-16:59>0=40:5=20"')
    assert "Xyz" in info.value.problems[1]


def test_structured_gaps_found():
    with pytest.raises(ScheduleError, match="not covered: 17:00–23:59 every day"):
        schedule_from_slots([("00:00-16:59", "", {0: 16})])


def test_no_slots_is_an_error():
    with pytest.raises(ScheduleError):
        schedule_from_slots([])


# --- evaluation: DST and instants ----------------------------------------------------------------------


def test_naive_instant_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("48").slot_at(datetime(2026, 1, 1), CPH)


def test_slot_at_uses_site_zone_not_utc():
    schedule = parse_schedule(RR1)
    utc_instant = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)  # 17:30 in Copenhagen (CEST)
    assert schedule.slot_at(utc_instant, CPH).quotas == ((0, 0), (5, 48))


def test_dst_spring_forward_skipped_hour_slot_does_not_occur():
    # 2026-03-29 in Copenhagen: 02:00 CET jumps to 03:00 CEST.
    schedule = parse_schedule("00:00-01:59>0=10;02:00-02:59>0=20;03:00-23:59>0=30")
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # 01:59 CET
    assert schedule.slot_at(before, CPH).limit == 10
    boundary = schedule.next_boundary(before, CPH)
    assert boundary == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert schedule.slot_at(boundary, CPH).limit == 30
    assert schedule.slots_during(before, boundary + timedelta(hours=1), CPH) == (
        schedule.slots[0],
        schedule.slots[2],
    )


def test_dst_spring_forward_slot_starting_inside_gap_starts_at_the_jump():
    schedule = parse_schedule("02:30-05:59>0=20;*>0=10")
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    boundary = schedule.next_boundary(before, CPH)
    assert boundary == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert schedule.slot_at(boundary, CPH).limit == 20


def test_dst_fall_back_repeated_hour_applies_twice():
    # 2026-10-25 in Copenhagen: 03:00 CEST goes back to 02:00 CET.
    schedule = parse_schedule("02:00-02:59>0=20;*>0=10")
    first = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert schedule.slot_at(first, CPH).limit == 20
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET (second time)
    assert schedule.slot_at(second, CPH).limit == 20
    assert schedule.next_boundary(first, CPH) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)  # 03:00 CET
    before = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    assert schedule.next_boundary(before, CPH) == first


def test_dst_fall_back_boundary_inside_the_repeated_hour_after_the_switch():
    # Found by the DST property: at 02:00 CET (just after the switch, the second 02:00) the next boundary
    # 02:15 was computed on the wall clock, lost the fold and came out as 02:15 CEST — an hour earlier.
    schedule = parse_schedule("02:00-02:14>0=20;02:15-03:29>0=30;*>0=10")
    switch = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET, the repeated hour starts
    assert schedule.next_boundary(switch, CPH) == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    during = schedule.slots_during(switch, switch + timedelta(minutes=20), CPH)
    assert [slot.limit for slot in during] == [20, 30]


def test_next_boundary_strictly_after_and_at_boundary():
    schedule = parse_schedule(RR1)
    at = local(2026, 5, 5, 17, 0)
    assert schedule.next_boundary(at, CPH) == local(2026, 5, 5, 21, 0)
    assert schedule.next_boundary(at - timedelta(microseconds=1), CPH) == at


def test_slots_during_lookahead_window():
    schedule = parse_schedule(RR1)
    window = schedule.slots_during(local(2026, 5, 5, 16, 59), local(2026, 5, 5, 17, 0), CPH)
    assert [s.limit for s in window] == [48, 48]
    assert [s.quotas[0] for s in window] == [(0, 16), (0, 0)]
    assert len(schedule.slots_during(local(2026, 5, 5, 16, 58), local(2026, 5, 5, 16, 59), CPH)) == 1


def test_half_hour_zone():
    kolkata = ZoneInfo("Asia/Kolkata")
    schedule = parse_schedule("00:00-11:59>0=10;12:00-23:59>0=20")
    at = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)  # 11:30 IST
    assert schedule.slot_at(at, kolkata).limit == 10
    assert schedule.next_boundary(at, kolkata) == datetime(2026, 1, 1, 6, 30, tzinfo=UTC)


@given(
    starts=st.lists(st.integers(0, 1439), min_size=1, max_size=6, unique=True),
    instant=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
)
def test_property_next_boundary_is_exactly_where_the_slot_changes(starts, instant):
    starts = sorted(starts)
    slots = []
    for i, start in enumerate(starts):
        end = (starts[(i + 1) % len(starts)] - 1) % 1440
        slots.append((f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}", "", {0: i + 1}))
    schedule = schedule_from_slots(slots)
    current = schedule.slot_at(instant, CPH)
    boundary = schedule.next_boundary(instant, CPH)
    if len(starts) == 1:
        assert boundary is None
        return
    assert boundary is not None
    assert instant < boundary <= instant + timedelta(days=1, hours=1)
    assert schedule.slot_at(boundary, CPH) != current
    assert (
        schedule.slot_at(boundary - timedelta(seconds=1), CPH) == current
        or boundary - timedelta(seconds=1) <= instant
    )
