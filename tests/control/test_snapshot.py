"""Snapshot JSON form: compatible both ways (unknown fields ignored, missing ones defaulted), errors named."""

import json

import pytest

from balanz.control.codec import DecodeError
from balanz.control.snapshot import PROTOCOL_VERSION, Charger, Connector, Snapshot
from tests.tui.sites import load_site, site4, site_many


def test_recorded_fixtures_are_what_the_generator_builds():
    assert load_site("site4.json") == site4()
    assert load_site("site2000.json.gz") == site_many()


def test_round_trip_through_json_text():
    snap = load_site("site4.json")
    assert Snapshot.from_json(json.loads(json.dumps(snap.to_json()))) == snap
    assert snap.protocol == PROTOCOL_VERSION


def test_a_newer_daemon_s_extra_fields_are_ignored():
    data = load_site("site4.json").to_json()
    data["solar_forecast"] = {"kw": 3}
    data["chargers"][0]["ocpp_version"] = "2.0.1"
    data["chargers"][0]["connectors"][0]["phase_rotation"] = "RST"
    assert Snapshot.from_json(data) == load_site("site4.json")


def test_an_older_daemon_s_missing_fields_take_defaults():
    snap = Snapshot.from_json({"chargers": [{"id": "CP1", "connectors": [{"id": 1}]}]})
    conn = snap.chargers[0].connectors[0]
    assert conn.status == "Unavailable"
    assert conn.offer_a is None
    assert conn.usage_a == ()
    assert snap.site.mode == "csms"


def test_entities_are_kept_sorted_by_id():
    snap = Snapshot(chargers=(Charger("B", connectors=(Connector(2), Connector(1))), Charger("A")))
    assert [c.id for c in snap.chargers] == ["A", "B"]
    assert [c.id for c in snap.chargers[1].connectors] == [1, 2]


def test_duplicate_ids_are_refused_naming_them():
    with pytest.raises(ValueError, match="'CP1' appears twice"):
        Snapshot(chargers=(Charger("CP1"), Charger("CP1")))
    with pytest.raises(DecodeError, match="charger CP1: id 1 appears twice"):
        Snapshot.from_json({"chargers": [{"id": "CP1", "connectors": [{"id": 1}, {"id": 1}]}]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"chargers": [{"id": "CP1", "connectors": [{"id": 1, "offer_a": "16"}]}]},
            "chargers[0].connectors[0].offer_a: expected a number; got '16'",
        ),
        ({"chargers": [{"alias": "x"}]}, "chargers[0].id: missing"),
        ({"groups": {"HQ": {}}}, "groups: expected a list"),
        ({"site": {"smart_charging": 1}}, "site.smart_charging: expected true or false; got 1"),
        (
            {"chargers": [{"id": "CP1", "connectors": [{"id": True}]}]},
            "chargers[0].connectors[0].id: expected an integer; got True",
        ),
        ([], "expected an object for Snapshot"),
    ],
)
def test_bad_values_are_named_by_path(data, message):
    with pytest.raises(DecodeError) as exc:
        Snapshot.from_json(data)
    assert message in str(exc.value)


def test_integers_read_as_floats_where_amperes_are_expected():
    snap = Snapshot.from_json({"groups": [{"id": "HQ", "limit_a": 63, "used_a": [1, 2, 3]}]})
    assert snap.groups[0].limit_a == 63.0
    assert isinstance(snap.groups[0].limit_a, float)
    assert snap.groups[0].used_a == (1.0, 2.0, 3.0)
