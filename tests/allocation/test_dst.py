"""Hypothesis across a daylight-saving switch: slot boundaries are local wall-clock times, so the hour
skipped in spring has no boundary and the hour repeated in autumn has its boundaries twice.

Random sites in Europe/Berlin with schedules whose slots change around 01:00–04:00 local, random events
from 90 minutes before the switch to 150 minutes after, cooperating chargers. Checked: invariant S/Q at every
instant the shell loop visits; every boundary where a limit falls is visited (the plan wakes
``schedule_lead_s`` ahead and at the boundary itself) and the invariant holds there, i.e. the reduction
was sent and confirmed ahead of the new limit (the schedule-lead rule) on both sides of the switch.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.allocation.model import Charger, Connector, Group, Params, Site
from balanz.allocation.schedule import schedule_from_slots
from tests.allocation.test_properties import EXAMPLES, KINDS, PERMUTATIONS, Driver

BERLIN = ZoneInfo("Europe/Berlin")
SWITCHES = (
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 CET → 03:00 CEST: 02:00–02:59 local never happens
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 03:00 CEST → 02:00 CET: 02:00–02:59 local happens twice
)


def night_schedule(rnd: random.Random):
    """Slots starting at local times around the switch, including inside the skipped/repeated hour."""
    starts = sorted(rnd.sample(range(60, 300, 15), rnd.randrange(1, 6)))
    slots = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else min(start + rnd.randrange(15, 90), 360)
        amps = rnd.randrange(0, 80)
        slots.append(
            (f"{start // 60:02d}:{start % 60:02d}-{(end - 1) // 60:02d}:{(end - 1) % 60:02d}", "", {0: amps})
        )
    slots.append(("*", "", {0: rnd.randrange(20, 80)}))
    return schedule_from_slots(slots)


def dst_site(rnd: random.Random, n_groups: int, n_connectors: int) -> Site:
    groups: list[Group] = []
    for i in range(n_groups):
        parent = groups[rnd.randrange(i)].id if i and rnd.random() < 0.6 else None
        groups.append(Group(f"g{i}", parent, night_schedule(rnd)))
    chargers = []
    for n in range(n_connectors):
        phases = rnd.choice((1, 3))
        connector = Connector(f"c{n}", 1, rnd.randrange(6, 33), None, phases, PERMUTATIONS[rnd.randrange(6)])
        chargers.append(Charger(f"c{n}", groups[rnd.randrange(n_groups)].id, (connector,)))
    return Site(tuple(groups), tuple(chargers), {}, BERLIN)


def boundaries(site: Site, start: datetime, end: datetime) -> list[datetime]:
    found = set()
    for group in site.groups:
        assert group.schedule is not None
        at = group.schedule.next_boundary(start, BERLIN)
        while at is not None and at <= end:
            found.add(at.astimezone(UTC))
            at = group.schedule.next_boundary(at, BERLIN)
    return sorted(found)


class RecordingDriver(Driver):
    def run(self):  # type: ignore[no-untyped-def]
        self.visited.add(self.now)
        return super().run()


@settings(max_examples=max(50, EXAMPLES // 40))
@given(
    seed=st.integers(0, 2**32),
    autumn=st.booleans(),
    n_groups=st.integers(1, 4),
    n_connectors=st.integers(1, 12),
    phase_aware=st.booleans(),
)
def test_property_invariant_and_schedule_lead_hold_across_a_dst_switch(
    seed, autumn, n_groups, n_connectors, phase_aware
):
    rnd = random.Random(seed)
    site = dst_site(rnd, n_groups, n_connectors)
    params = Params(phase_aware=phase_aware, first_wait_s=0)
    start = SWITCHES[autumn] - timedelta(hours=1, minutes=30)
    driver = RecordingDriver.__new__(RecordingDriver)
    driver.visited = set()
    Driver.__init__(driver, site, params, rnd, True, now=start)
    end = start + timedelta(hours=4)
    kinds = [k for k in KINDS if k not in ("override", "disconnect")]
    while driver.now < end - timedelta(minutes=20):
        driver.advance(driver.now + timedelta(seconds=rnd.randrange(0, 900)))
        driver.event(rnd.choice(kinds), rnd.randrange(0, 10_001), rnd.randrange(0, 41))
        driver.run()
    driver.advance(end)
    lead = timedelta(seconds=params.schedule_lead_s)
    for boundary in boundaries(site, start + lead, end - lead):
        # the driver asserted S/Q at both instants (cooperating chargers): the reduction for a falling
        # limit was sent at the wake-up a lead ahead and confirmed before the boundary
        assert boundary - lead in driver.visited, f"no wake-up {lead} before the boundary {boundary}"
        assert boundary in driver.visited, f"no wake-up at the boundary {boundary}"
