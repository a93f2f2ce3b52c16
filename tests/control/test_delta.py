"""diff/apply: a delta replays exactly the change between two snapshots, also after a trip through JSON."""

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.control.codec import DecodeError
from balanz.control.delta import apply, diff, touched
from balanz.control.snapshot import Charger, Connector, Snapshot
from tests.control.strategies import snapshots
from tests.tui.sites import load_site


@given(snapshots, snapshots)  # the suite's profile: 200 examples, 20,000 in `make soak`
def test_apply_of_diff_gives_the_new_snapshot(a, b):
    assert apply(a, diff(a, b)) == b


@settings(max_examples=50)
@given(snapshots, snapshots)
def test_delta_survives_json(a, b):
    wire = json.loads(json.dumps(diff(a, b)))
    assert apply(Snapshot.from_json(json.loads(json.dumps(a.to_json()))), wire) == b


@settings(max_examples=50)
@given(snapshots)
def test_no_change_is_an_empty_delta(a):
    assert diff(a, a) == {"at": a.at}


@settings(max_examples=100)
@given(snapshots, st.data())
def test_one_connector_change_sends_only_that_field(a, data):
    chargers = [c for c in a.chargers if c.connectors]
    if not chargers:
        return
    charger = data.draw(st.sampled_from(chargers))
    conn = charger.connectors[0]
    changed = replace(conn, status="Finishing" if conn.status != "Finishing" else "Available")
    b = replace(
        a,
        chargers=tuple(
            replace(c, connectors=(changed, *c.connectors[1:])) if c is charger else c for c in a.chargers
        ),
    )
    delta = diff(a, b)
    assert delta["chargers"] == {
        "change": {charger.id: {"connectors": {"change": {str(conn.id): {"status": changed.status}}}}}
    }
    assert touched(delta).chargers == {charger.id}
    assert not touched(delta).structural


def test_recorded_site_delta_is_small_and_names_what_changed():
    a, b = load_site("site4.json"), load_site("site4_later.json")
    delta = diff(a, b)
    assert apply(a, delta) == b
    assert set(delta["chargers"]["change"]) == {"TACW222421G063", "EVB-P2045811", "RR1-0002"}
    assert delta["chargers"]["change"]["RR1-0002"] == {
        "connected": True,
        "last_seen": "2026-11-24T16:40:13+01:00",
    }
    assert "groups" not in delta
    assert "site" not in delta
    assert len(json.dumps(delta)) < len(json.dumps(b.to_json())) / 5


def test_added_and_removed_connectors_are_structural():
    a = Snapshot(chargers=(Charger("CP1", connectors=(Connector(1),)),))
    b = Snapshot(chargers=(Charger("CP1", connectors=(Connector(2),)),))
    delta = diff(a, b)
    assert delta["chargers"]["change"]["CP1"]["connectors"]["remove"] == [1]
    assert touched(delta).structural
    assert apply(a, delta) == b


@pytest.mark.parametrize(
    ("delta", "where"),
    [
        ({"chargers": {"remove": ["CP9"]}}, "delta.chargers.remove"),
        ({"chargers": {"change": {"CP9": {"alias": "x"}}}}, "delta.chargers.change"),
        ({"chargers": {"change": {"CP1": {"connected": "yes"}}}}, "delta.chargers.change.CP1.connected"),
        (
            {"chargers": {"change": {"CP1": {"connectors": {"change": {"x": {}}}}}}},
            "delta.chargers.change.CP1.connectors.change",
        ),
        ({"groups": []}, "delta.groups"),
        ({"at": 5}, "delta.at"),
    ],
)
def test_a_delta_that_does_not_fit_is_refused_naming_where(delta, where):
    a = Snapshot(chargers=(Charger("CP1", connectors=(Connector(1),)),))
    with pytest.raises(DecodeError) as exc:
        apply(a, delta)
    assert exc.value.path == where
