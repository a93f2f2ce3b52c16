"""A host clock step moves every remembered instant: durations survive, decisions do not change."""

from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta

import pytest

from balanz.allocation import events
from balanz.allocation.model import Charger, Connector
from balanz.allocation.planner import plan
from balanz.allocation.state import ExternalLimit, GroupOverride, GroupState
from balanz.allocation.timeshift import shifted

from .test_rules import NOW, A, B, P, changes, charging, make_site, make_state, run


def _instants(value: object) -> list[datetime]:
    if isinstance(value, datetime):
        return [value]
    if isinstance(value, tuple):
        return [i for item in value for i in _instants(item)]
    if isinstance(value, dict):
        return [i for item in value.values() for i in _instants(item)]
    if is_dataclass(value) and not isinstance(value, type):
        return [i for f in fields(value) if f.init for i in _instants(getattr(value, f.name))]
    return []


def _settling_site():
    site = make_site("24", [Charger(c, "G", (Connector(c, 1),)) for c in "AB"])
    state = make_state(site, {A: charging(24, usage=23.8, since=600), B: charging(0)})
    result, after = run(site, state)
    assert changes(result) == {A: 18}
    after = events.offer_accepted(after, A, 18, NOW + timedelta(seconds=1), P)
    return site, after


def test_every_instant_moves_by_the_step_and_every_connector_is_replanned():
    _site, state = _settling_site()
    state = events.set_external_limit(state, "G", 20, NOW + timedelta(seconds=30))
    step = timedelta(hours=1, seconds=7)
    moved = shifted(state, step)
    before, after = _instants(state), _instants(moved)
    assert len(before) == len(after) > 10
    assert all(b + step == a for b, a in zip(before, after, strict=True))
    assert moved.changed_all
    assert moved.changed == frozenset(state.connectors)


@pytest.mark.parametrize("step", [timedelta(hours=1), timedelta(hours=-1), timedelta(seconds=-30)])
def test_a_step_neither_cuts_nor_stretches_the_settling_of_a_reduction(step):
    """Unshifted, a forward step would end A's settling at once and release B's increase while A may still
    draw 24 A; a backward step would hold B for an extra hour."""
    site, state = _settling_site()
    moved = shifted(state, step)
    early = plan(site, moved, P, NOW + step + timedelta(seconds=2))
    assert changes(early) == {}
    assert early.next_instant == NOW + step + timedelta(seconds=6)
    assert changes(plan(site, moved, P, NOW + step + timedelta(seconds=6))) == {B: 6}


def test_validity_deadlines_keep_their_length():
    site = make_site("32")
    groups = {
        "G": GroupState(
            external=ExternalLimit(12, NOW + timedelta(seconds=10)),
            override=GroupOverride(20, NOW + timedelta(minutes=5)),
        )
    }
    state = make_state(site, {A: charging(12)}, groups=groups)
    moved = shifted(state, timedelta(hours=-2))
    assert moved.group("G").external == ExternalLimit(12, NOW + timedelta(seconds=10, hours=-2))
    assert moved.group("G").override.until == NOW + timedelta(minutes=5, hours=-2)
