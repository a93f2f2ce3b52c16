"""What the monitor remembers between plans: the last change per connector, what waits, the offer history."""

from datetime import UTC, datetime

from balanz.allocation.planner import Change, Plan
from balanz.allocation.state import State
from balanz.control.allocation_snapshot import AllocationHistory

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
KEY = ("CP1", 1)


def a_plan(reductions=(), increases=(), pending=()) -> Plan:
    return Plan(NOW, {}, {}, tuple(reductions), tuple(increases), tuple(pending), {}, (), None, State(NOW))


def test_each_plan_is_recorded_once_and_its_changes_announced():
    history = AllocationHistory(depth=3)
    raised = a_plan(increases=[Change(KEY, 9, 6, 6, "R14", "ramp +3 A")])
    events = history.observe(raised)
    assert [(e.charger, e.connector, e.rule, e.text) for e in events] == [
        ("CP1", 1, "R14", "6→9 A R14: ramp +3 A")
    ]
    assert history.observe(raised) == [], "the same plan seen again (a rebuild) announces nothing"
    assert history.last_change(KEY) == ("2026-11-24T15:00:00.000Z", "6→9 A R14: ramp +3 A")
    waiting = a_plan(pending=[Change(KEY, 12, 9, 9, "R14", "ramp; waits: site total L1 has 0 A free")])
    history.observe(waiting)
    assert history.last_change(KEY)[1] == (
        "6→9 A R14: ramp +3 A; 12 A waits (R14): ramp; waits: site total L1 has 0 A free"
    )
    for value in (12, 12, 15, 3):
        history.observe(a_plan(increases=[Change(KEY, value, None, 0, "R15", "share")]))
    assert history.offers[KEY] == (12.0, 15.0, 3.0), "repeats folded, only the newest kept"
    history.observe(a_plan())
    assert "waits" not in history.last_change(KEY)[1], "nothing waits any more"
