"""How values read on screen: the pure formatting behind every widget."""

import pytest

from balanz.control.snapshot import Charger, Connector, External, Group, Session
from balanz.tui.format import bar, duration, group_lines, matches, pack, relative, sort_key
from balanz.tui.groups import tree_order

NOW = "2026-11-24T16:40:12+01:00"


@pytest.mark.parametrize(
    ("when", "text"),
    [
        ("2026-11-24T17:00:00+01:00", "in 19m"),
        ("2026-11-24T16:00:00Z", "in 19m"),  # same instant written in UTC
        ("2026-11-24T16:39:02+01:00", "1m ago"),
        ("2026-11-25T06:00:00+01:00", "in 13h19m"),
        ("2026-11-28T16:40:12+01:00", "in 4d00h"),
        ("", "—"),
        ("garbage", "—"),
    ],
)
def test_times_are_relative_to_the_snapshot_not_the_wall_clock(when, text):
    assert relative(when, NOW) == text


def test_durations():
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 172800)] == [
        "0s",
        "59s",
        "1m",
        "59m",
        "1h00m",
        "2d00h",
    ]


def test_bar_shows_drawn_offered_and_free_up_to_the_limit():
    assert bar(used=10, offered=20, limit=40, width=8) == "██▒▒░░░░"
    assert bar(used=0, offered=0, limit=None, width=4) == "    "
    assert (
        bar(used=50, offered=40, limit=40, width=10) == "██████████"
    )  # over the limit: scaled to the largest


def test_sort_key_orders_numbers_numerically_and_unknowns_last():
    cells = ["16.0", "—", "6.0", "3t", "", "Charging", "12.0"]
    assert sorted(cells, key=sort_key) == ["3t", "6.0", "12.0", "16.0", "Charging", "", "—"]


def test_filter_words_must_all_match_somewhere():
    charger = Charger("TACW1", alias="HQ-01", group="HQ")
    conn = Connector(1, status="Charging", session=Session(id_tag="04A2B3"))
    assert matches(charger, conn, "hq charging")
    assert matches(charger, conn, "04a2")
    assert not matches(charger, conn, "hq available")
    assert matches(charger, conn, "  ")


def test_group_title_names_slot_next_change_and_flags():
    group = Group(
        "RR1",
        allocation=True,
        limit_a=32,
        used_a=(10.0,),
        offered_a=(20.0,),
        exposure_a=(34.5,),
        suspended=True,
        recovery_excess_a=2.5,
    )
    lines = group_lines(group, NOW, width=60)
    assert lines[0] == "RR1 · SUSPENDED · recovery +2.5 A"
    assert lines[1].startswith(" L1 ")
    assert lines[1].endswith("use  10.0 off  20.0 exp  34.5 lim  32.0")
    assert group_lines(Group("Default"), NOW, 60) == ["Default"]


def test_groups_are_shown_as_a_tree_with_orphans_at_the_root():
    groups = (
        Group("A"),
        Group("B", parent="A"),
        Group("C", parent="B"),
        Group("D", parent="gone"),
        Group("E"),
    )
    assert [(d, g.id) for d, g in tree_order(groups)] == [(0, "A"), (1, "B"), (2, "C"), (0, "D"), (0, "E")]


def test_group_title_says_whether_the_external_limit_is_live_or_stale():
    live = Group("site", external=External(16, 20, "2025-03-04T08:00:10Z", stale=False))
    assert group_lines(live, NOW, width=60)[0] == "site · external 20.0 A until 08:00"
    stale = Group("site", external=External(16, 20, "2025-03-04T08:00:10Z", stale=True))
    assert group_lines(stale, NOW, width=60)[0] == "site · external stale: fallback 16 A"


def test_a_long_group_title_breaks_between_its_parts():
    assert pack(["Staff", "slot Mon-Fri 07:00-17:59>0=16:3=32 (32 A)", "next 18:00 (in 1h41m) 0=32"], 60) == [
        "Staff · slot Mon-Fri 07:00-17:59>0=16:3=32 (32 A)",
        "  next 18:00 (in 1h41m) 0=32",
    ]
    assert pack(["RR1", "SUSPENDED"], 60) == ["RR1 · SUSPENDED"]
