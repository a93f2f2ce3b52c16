"""Scenario files: every validation rule, time resolution, count expansion, and the shipped examples."""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.config.errors import ConfigError
from balanz.config.loader import load_config
from balanz.sim.ev import EvSpec
from balanz.sim.quirks import QUIRKS, Quirk
from balanz.sim.scenario import Arrival, Fault, LoadedScenario, NetworkDrop, Reboot, load_scenario

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 5, 4, 10, 0, tzinfo=UTC)
HEADER = """
[simulation]
start = "2027-05-03T06:00:00+02:00"
duration = "1d"
timezone = "Europe/Copenhagen"

[[charger]]
id = "A"
connectors = 2

[[charger]]
id = "B"
"""


class Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, text: str) -> LoadedScenario:
        path = self.root / "s.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_scenario(path, NOW)

    def problems(self, text: str) -> list[str]:
        try:
            loaded = self.load(text)
        except ConfigError as exc:
            return [str(p) for p in exc.problems]
        return [str(p) for p in loaded.warnings]

    def has(self, text: str, expected: str) -> bool:
        """Whether a problem reads ``<file>: <expected>…``."""
        prefix = f"{self.root / 's.toml'}: {expected}"
        return any(p.startswith(prefix) for p in self.problems(text))

    def events(self, text: str) -> tuple:
        return self.load(HEADER + textwrap.dedent(text)).scenario.events


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def arrive(at: str, charger: str = "A", extra: str = "") -> str:
    return f'\n[[event]]\nat = "{at}"\nkind = "arrive"\ncharger = "{charger}"\ntag = "T1"\n{extra}\n'


def event(kind: str, at: str, charger: str = "A", extra: str = "") -> str:
    return f'\n[[event]]\nat = "{at}"\nkind = "{kind}"\ncharger = "{charger}"\n{extra}\n'


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- examples -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["site-4-chargers.toml", "site-40-chargers.toml", "quirks.toml"])
def test_example_scenarios_load_without_warnings(name):
    loaded = load_scenario(ROOT / "examples" / name, NOW)
    assert loaded.warnings == ()
    assert loaded.scenario.events


def test_four_charger_example_matches_its_site_config():
    scenario = load_scenario(ROOT / "examples" / "site-4-chargers.toml", NOW).scenario
    config = load_config(ROOT / "examples" / "site-4-chargers.balanz.toml").config
    assert {c.id for c in scenario.chargers} == {c.id for c in config.charger}
    tags = {e.tag for e in scenario.events if isinstance(e, Arrival)}
    assert tags <= {t.id for t in config.tag}
    assert scenario.simulation.timezone == config.allocator.timezone
    phases = {e.ev.phases for e in scenario.events if isinstance(e, Arrival)}
    assert 1 in phases
    assert any(
        e.ev.start_at and e.ev.gives_up_without_offer for e in scenario.events if isinstance(e, Arrival)
    )


def test_scenario_finds_a_charger_by_id():
    scenario = load_scenario(ROOT / "examples" / "site-4-chargers.toml", NOW).scenario
    assert scenario.charger("HQ-04").connectors == 2
    with pytest.raises(KeyError, match="HQ-05"):
        scenario.charger("HQ-05")


def test_forty_charger_example_expands_and_numbers_tags():
    scenario = load_scenario(ROOT / "examples" / "site-40-chargers.toml", NOW).scenario
    assert [c.id for c in scenario.chargers] == [f"CP{n:03}" for n in range(1, 41)]
    early = [e for e in scenario.events if isinstance(e, Arrival) and e.tag.startswith("EARLY")]
    assert [e.charger for e in early] == [f"CP{n:03}" for n in range(1, 20)]
    assert [e.tag for e in early][:2] == ["EARLY001", "EARLY002"]
    assert early[1].at - early[0].at == timedelta(minutes=3)
    drops = [e for e in scenario.events if isinstance(e, NetworkDrop)]
    assert [d.charger for d in drops] == [f"CP{n:03}" for n in range(10, 20)]


def test_quirks_example_has_one_charger_per_quirk():
    scenario = load_scenario(ROOT / "examples" / "quirks.toml", NOW).scenario
    assert sorted(q for c in scenario.chargers for q in c.quirks) == sorted(Quirk)
    assert all(len(c.quirks) == 1 for c in scenario.chargers)
    assert scenario.simulation.start == NOW


def test_docs_describe_every_quirk_with_its_source():
    text = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    section = text.split("## Quirks", 1)[1]
    for quirk, info in QUIRKS.items():
        line = next((ln for ln in section.splitlines() if ln.startswith(f"- `{quirk}` (")), None)
        assert line is not None, quirk
        assert info.source in line or info.source.replace("OCPP-J ", "OCPP-J ") in line
        for param in info.params:
            assert f"`{param.name}` (default {param.default:g})" in line
    documented = re.findall(r"^- `([a-z0-9_]+)` \(", section, re.MULTILINE)
    assert documented == [q.value for q in QUIRKS]


# --- simulation section ---------------------------------------------------------------------------------


def test_defaults_and_now(files):
    scenario = files.load('[[charger]]\nid = "A"\n').scenario
    sim = scenario.simulation
    assert sim.start == NOW
    assert sim.duration == timedelta(hours=24)
    assert sim.timezone == "UTC"
    assert scenario.chargers[0].configuration["HeartbeatInterval"] == "300"
    assert scenario.chargers[0].configuration["NumberOfConnectors"] == "1"
    assert scenario.events == ()
    ev, car = sim.ev, EvSpec()
    assert (ev.max_current_a, ev.phases, ev.min_current_a, ev.draw_margin_a, ev.voltage_v, ev.taper_from) == (
        car.max_current_a,
        car.phases,
        car.min_current_a,
        car.draw_margin_a,
        car.voltage_v,
        car.taper_from,
    )
    assert (ev.wanted_kwh * 1000, ev.gives_up) == (car.target_wh, car.gives_up_without_offer)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[simulaton]\n", 'simulaton: unknown section (did you mean "simulation"?)'),
        ("[simulation]\nstrat = 1\n", 'simulation.strat: unknown key (did you mean "start"?)'),
        ('[simulation]\nstart = "tomorrow"\n', 'simulation.start: must be "now" or an RFC 3339'),
        ('[simulation]\nstart = "2027-01-01T00:00:00"\n', 'simulation.start: must be "now" or an RFC 3339'),
        ('[simulation]\nstart = "07:30"\n', "simulation.start: must be"),
        ("[simulation]\nstart = 2027-01-01T00:00:00\n", "simulation.start: must be"),
        ('[simulation]\nduration = "0s"\n', "simulation.duration: must be longer than 0s and at most 366d"),
        ('[simulation]\nduration = "400d"\n', "simulation.duration: must be longer than 0s"),
        ('[simulation]\nduration = "2 hours"\n', "simulation.duration: must be a duration with units"),
        ('[simulation]\ntimezone = "Mars/Olympus"\n', "simulation.timezone: must be an IANA zone name"),
        (
            "[simulation]\nmeter_interval_s = 5000\n",
            "simulation.meter_interval_s: must be between 0 and 3600",
        ),
        ("[simulation]\nheartbeat_s = 0\n", "simulation.heartbeat_s: must be between 1 and 86400"),
        ("[simulation]\nheartbeat_s = 1.5\n", "simulation.heartbeat_s: must be a whole number"),
        ("simulation = 3\n", "simulation: must be a table"),
        ("[simulation]\nev = 3\n", "simulation.ev: must be a table"),
        (
            "[simulation.ev]\nmax_curent_a = 3\n",
            'simulation.ev.max_curent_a: unknown key (did you mean "max_current_a"?)',
        ),
        ("[simulation.ev]\nphases = 4\n", "simulation.ev.phases: must be between 1 and 3"),
        ("[simulation.ev]\nwanted_kwh = 0\n", "simulation.ev.wanted_kwh: must be between 0.001 and 1000"),
        ("[simulation.ev]\ntaper_from = 1.5\n", "simulation.ev.taper_from: must be between 0 and 1"),
        ("[simulation.ev]\nvoltage_v = 50\n", "simulation.ev.voltage_v: must be between 100 and 480"),
        ("[simulation.ev]\ndraw_margin_a = -1\n", "simulation.ev.draw_margin_a: must be between 0 and 5"),
        ("[simulation.ev]\nmax_current_a = 90\n", "simulation.ev.max_current_a: must be between 1 and 80"),
        (
            "[simulation.ev]\nmin_current_a = 10\nmax_current_a = 8\n",
            "simulation.ev.min_current_a: must be ≤ max_current_a (8)",
        ),
        ("[simulation.ev]\ngives_up = 1\n", "simulation.ev.gives_up: must be true or false"),
        ("colour = 3\n", "colour: unknown key"),
    ],
)
def test_simulation_rules(files, body, expected):
    assert files.has(body + '\n[[charger]]\nid = "A"\n', expected)


def test_a_charger_is_required(files):
    assert files.has('[simulation]\nduration = "1h"\n', "charger: a scenario needs at least one [[charger]]")


def test_toml_and_read_errors(files, tmp_path):
    assert files.has("[simulation\n", "line 1, column 12: invalid TOML")
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.toml", NOW)


def test_all_problems_at_once_with_file_key_and_value(files):
    problems = files.problems(
        """
        [simulation]
        timezone = "Nowhere/City"
        heartbeat_s = 0

        [[charger]]
        id = "A"
        phases = 2
        quirks = ["watts_onyl"]
        """
    )
    errors = [p for p in problems if ": warning: " not in p]
    assert len(errors) == 4
    assert errors[0].endswith(
        'must be an IANA zone name, e.g. "Europe/Copenhagen" or "UTC"; got "Nowhere/City"'
    )
    assert any('charger[1] "A".phases: must be 1 or 3; got 2' in p for p in errors)
    assert any('quirks[1]: unknown quirk (did you mean "watts_only"?)' in p for p in errors)


# --- chargers -------------------------------------------------------------------------------------------


def test_count_expansion_with_first_and_shared_settings(files):
    chargers = files.load(
        """
        [[charger]]
        count = 3
        id_pattern = "Row2-{n:02}"
        first = 8
        connectors = 2
        model = "Twin"
        quirks = [{ name = "slow_answers", answer_delay_s = 2.5 }]
        """
    ).scenario.chargers
    assert [c.id for c in chargers] == ["Row2-08", "Row2-09", "Row2-10"]
    assert all(c.connectors == 2 and c.model == "Twin" for c in chargers)
    assert chargers[0].quirks == {Quirk.SLOW_ANSWERS: {"answer_delay_s": 2.5}}
    assert chargers[2].has(Quirk.SLOW_ANSWERS)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('id = "A"\ncount = 2\nid_pattern = "A{n}"', 'charger[1] "A": give either id'),
        ("connectors = 2", "charger[1]: needs id"),
        ("count = 2", "charger[1].id_pattern: required with count"),
        ('id = "A"\nid_pattern = "A{n}"', 'charger[1] "A".id_pattern: applies only with count'),
        ('id = "A"\nfirst = 2', 'charger[1] "A".first: applies only with count'),
        ('count = 0\nid_pattern = "A{n}"', "charger[1].count: must be between 1 and 1000"),
        ('count = 2\nid_pattern = "A{n}"\nfirst = -1', "charger[1].first: must be ≥ 0"),
        ('count = 2\nid_pattern = "A"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A{m}"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A{n.real}"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A{n!r}"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A{n"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A{n:q}"', "charger[1].id_pattern: must contain {n}"),
        ('count = 2\nid_pattern = "A/{n}"', 'charger[1].id_pattern: gives "A/1", which must be 1–48'),
        ('id = "a:b"', 'charger[1] "a:b".id: must be 1–48 printable ASCII characters without / or :'),
        ('id = ""', 'charger[1] "".id: must be 1–48'),
        ('id = "A"\nconnectors = 0', 'charger[1] "A".connectors: must be between 1 and 16'),
        ('id = "A"\nmax_current_a = 5', 'charger[1] "A".max_current_a: must be between 6 and 80 A'),
        ('id = "A"\nvendor = ""', 'charger[1] "A".vendor: must be 1–20 characters (BootNotification)'),
        ('id = "A"\nmodel = "' + "M" * 21 + '"', 'charger[1] "A".model: must be 1–20 characters'),
        ('id = "A"\nfirmware = "' + "1" * 51 + '"', 'charger[1] "A".firmware: must be 0–50 characters'),
        ('id = "A"\nserial = "' + "S" * 26 + '"', 'charger[1] "A".serial: must be 0–25 characters'),
        ('id = "A"\npasword = "x"', 'charger[1] "A".pasword: unknown key (did you mean "password"?)'),
        ('id = "A"\nquirks = "watts_only"', 'charger[1] "A".quirks: must be a list'),
        (
            'id = "A"\nquirks = ["apply_dleay"]',
            'charger[1] "A".quirks[1]: unknown quirk (did you mean "apply_delay"?)',
        ),
        ('id = "A"\nquirks = ["watts_only", "watts_only"]', 'charger[1] "A".quirks[2]: quirk listed twice'),
        ('id = "A"\nquirks = [3]', 'charger[1] "A".quirks[1]: must be a quirk name'),
        ('id = "A"\nquirks = [{ apply_delay_s = 3 }]', 'charger[1] "A".quirks[1].name: required key missing'),
        (
            'id = "A"\nquirks = [{ name = "apply_delay", delay_s = 3 }]',
            'charger[1] "A".quirks[1].delay_s: unknown parameter of apply_delay (did you mean '
            '"apply_delay_s"?)',
        ),
        (
            'id = "A"\nquirks = [{ name = "watts_only", every = 3 }]',
            'charger[1] "A".quirks[1].every: unknown parameter (watts_only takes none)',
        ),
        (
            'id = "A"\nquirks = [{ name = "apply_delay", apply_delay_s = 0 }]',
            'charger[1] "A".quirks[1].apply_delay_s: must be between 0.1 and 3600 s',
        ),
        (
            'id = "A"\nquirks = [{ name = "malformed_frames", every = 2.5 }]',
            'charger[1] "A".quirks[1].every: must be a whole number',
        ),
        ('id = "A"\nconfiguration = 3', 'charger[1] "A".configuration: must be a table'),
        (
            'id = "A"\nconfiguration = { HeartBeatInterval = 3 }',
            'charger[1] "A".configuration.HeartBeatInterval: unknown OCPP 1.6 configuration key '
            '(did you mean "HeartbeatInterval"?)',
        ),
        ('id = "A"\nconfiguration = { NumberOfConnectors = 3 }', "configuration.NumberOfConnectors: follows"),
        (
            'id = "A"\nconfiguration = { AuthorizationKey = "x" }',
            "configuration.AuthorizationKey: is write-only",
        ),
        (
            'id = "A"\nconfiguration = { HeartbeatInterval = -1 }',
            "configuration.HeartbeatInterval: must be seconds",
        ),
        (
            'id = "A"\nconfiguration = { HeartbeatInterval = "60" }',
            "configuration.HeartbeatInterval: must be",
        ),
        (
            'id = "A"\nconfiguration = { ChargeProfileMaxStackLevel = true }',
            "configuration.ChargeProfileMaxStackLevel: must be a whole number ≥ 0",
        ),
        (
            'id = "A"\nconfiguration = { LightIntensity = 0.5 }',
            "configuration.LightIntensity: must be a string",
        ),
        (
            'id = "A"\nconfiguration = { ChargingScheduleAllowedChargingRateUnit = "Amps" }',
            'configuration.ChargingScheduleAllowedChargingRateUnit: must be one of "Current"',
        ),
        (
            'id = "A"\nconfiguration = { SupportedFeatureProfiles = "SmartCharging" }',
            "configuration.SupportedFeatureProfiles: must list Core",
        ),
        (
            'id = "A"\nconfiguration = { MeterValuesSampledData = ["Current.Import", "Amps"] }',
            'configuration.MeterValuesSampledData: "Amps" is not an OCPP 1.6 measurand',
        ),
        (
            'id = "A"\nquirks = ["watts_only"]\n'
            'configuration = { ChargingScheduleAllowedChargingRateUnit = "Current" }',
            'configuration.ChargingScheduleAllowedChargingRateUnit: must be "Power" with quirk watts_only',
        ),
        (
            'id = "A"\nquirks = ["no_smart_charging"]\n'
            'configuration = { SupportedFeatureProfiles = "Core,SmartCharging" }',
            "configuration.SupportedFeatureProfiles: must not list SmartCharging with quirk "
            "no_smart_charging",
        ),
        (
            'id = "A"\nquirks = ["no_current_offered"]\n'
            'configuration = { MeterValuesSampledData = "Current.Offered" }',
            "configuration.MeterValuesSampledData: must not list Current.Offered with quirk "
            "no_current_offered",
        ),
    ],
)
def test_charger_rules(files, body, expected):
    label = 'charger[1] "A".' if expected.startswith("configuration.") else ""
    assert files.has(f"[[charger]]\n{body}\n", f"{label}{expected}")


def test_charger_array_must_be_tables(files):
    assert files.has("charger = 3\n", "charger: must be an array of tables")


def test_duplicate_ids_across_entries(files):
    text = '[[charger]]\nid = "CP02"\n\n[[charger]]\ncount = 3\nid_pattern = "CP{n:02}"\n'
    assert files.has(text, 'charger[2].id: "CP02" is already the id of charger[1] "CP02"')


def test_configuration_defaults_follow_quirks_and_writes(files):
    chargers = files.load(
        """
        [simulation]
        meter_interval_s = 15
        heartbeat_s = 90

        [[charger]]
        id = "W"
        connectors = 3
        quirks = ["watts_only", "no_smart_charging", "no_current_offered"]
        configuration.ChargeProfileMaxStackLevel = 3
        configuration.LocalPreAuthorize = true
        configuration.StopTxnSampledData = ["Energy.Active.Import.Register"]

        [[charger]]
        id = "G"
        """
    ).scenario.chargers
    bad, good = chargers
    assert bad.configuration["ChargingScheduleAllowedChargingRateUnit"] == "Power"
    assert "SmartCharging" not in bad.configuration["SupportedFeatureProfiles"]
    assert "Current.Offered" not in bad.configuration["MeterValuesSampledData"]
    assert bad.configuration["ChargeProfileMaxStackLevel"] == "3"
    assert bad.configuration["LocalPreAuthorize"] == "true"
    assert bad.configuration["StopTxnSampledData"] == "Energy.Active.Import.Register"
    assert bad.configuration["NumberOfConnectors"] == "3"
    assert (bad.configuration["HeartbeatInterval"], bad.configuration["MeterValueSampleInterval"]) == (
        "90",
        "15",
    )
    assert good.configuration["ChargingScheduleAllowedChargingRateUnit"] == "Current,Power"
    assert "SmartCharging" in good.configuration["SupportedFeatureProfiles"]
    assert "Current.Offered" in good.configuration["MeterValuesSampledData"]
    assert good.quirks == {}


# --- times ----------------------------------------------------------------------------------------------


def test_offsets_count_from_the_start(files):
    events = files.events(arrive("0s") + arrive("2h30m", "B") + event("reboot", "1d1s"))
    assert [e.at for e in events] == [utc("2027-05-03T06:00:00+02:00"), utc("2027-05-03T08:30:00+02:00")]
    assert files.has(HEADER + event("reboot", "1d1s"), "event[1].at: warning: never happens")


def test_wall_clock_is_the_first_such_moment_after_the_start_across_midnight(files):
    events = files.events(arrive("05:59") + arrive("06:00", "B") + event("reboot", "23:59:30"))
    assert [e.at for e in events] == [
        utc("2027-05-03T06:00:00+02:00"),
        utc("2027-05-03T23:59:30+02:00"),
        utc("2027-05-04T05:59:00+02:00"),
    ]


def test_toml_local_time_is_a_wall_clock_time(files):
    (visit,) = files.events('\n[[event]]\nat = 07:30:00\nkind = "arrive"\ncharger = "A"\ntag = "T"\n')
    assert visit.at == utc("2027-05-03T07:30:00+02:00")
    text = HEADER + '\n[[event]]\nat = 2027-05-03T07:30:00\nkind = "reboot"\ncharger = "A"\n'
    assert files.has(text, "event[1].at: must be an offset from the start")


def test_instants_as_string_or_toml_datetime(files):
    events = files.events(
        arrive("2027-05-03T12:00:00Z")
        + '\n[[event]]\nat = 2027-05-03T07:00:00-04:00\nkind = "reboot"\ncharger = "B"\n'
    )
    assert [e.at for e in events] == [utc("2027-05-03T11:00:00Z"), utc("2027-05-03T12:00:00Z")]


def dst(files, start: str, *parts: str) -> tuple:
    text = f'[simulation]\nstart = "{start}"\ntimezone = "Europe/Copenhagen"\n[[charger]]\nid = "A"\n'
    text += '[[charger]]\nid = "B"\n[[charger]]\nid = "C"\n'
    return files.load(text + "".join(parts)).scenario.events


def test_spring_forward_wall_clock_and_offsets(files):
    # 2027-03-28: clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    events = dst(files, "2027-03-27T22:00:00+01:00", arrive("02:30"), arrive("03:30", "B"), arrive("6h", "C"))
    assert [e.at for e in events] == [
        utc("2027-03-28T01:00:00Z"),  # 02:30 does not exist: the jump
        utc("2027-03-28T01:30:00Z"),  # 03:30 CEST
        utc("2027-03-28T03:00:00Z"),  # six elapsed hours, 05:00 on the wall
    ]


def test_fall_back_takes_the_first_occurrence(files):
    # 2027-10-31: clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    events = dst(files, "2027-10-30T22:00:00+02:00", arrive("02:30"), arrive("03:30", "B"))
    assert [e.at for e in events] == [utc("2027-10-31T00:30:00Z"), utc("2027-10-31T02:30:00Z")]


def test_arrival_times_count_from_the_arrival(files):
    (visit,) = files.events(arrive("18:00", extra='leave_at = "07:00"\nstart_at = "01:00"'))
    assert visit.ev.start_at == utc("2027-05-04T01:00:00+02:00")
    assert visit.ev.leave_at == utc("2027-05-04T07:00:00+02:00")
    (visit,) = files.events(arrive("1h", extra='start_after = "30m"\nleave_after = "2h"'))
    assert visit.ev.start_at == utc("2027-05-03T07:30:00+02:00")
    assert visit.ev.leave_at == utc("2027-05-03T09:00:00+02:00")


# --- events ---------------------------------------------------------------------------------------------


def test_arrival_car_from_defaults_and_overrides(files):
    text = HEADER.replace(
        "[[charger]]", "[simulation.ev]\nmax_current_a = 20\nwanted_kwh = 30\n\n[[charger]]", 1
    )
    (visit,) = files.load(
        text
        + arrive(
            "1h", extra='phases = 1\nmin_current_a = 8\nconnector = 2\ngives_up = true\nstart_after = "1h"'
        )
    ).scenario.events
    assert (visit.charger, visit.connector, visit.tag) == ("A", 2, "T1")
    ev = visit.ev
    assert (ev.max_current_a, ev.phases, ev.min_current_a, ev.target_wh) == (20, 1, 8, 30_000)
    assert ev.gives_up_without_offer
    assert ev.leave_at is None


def test_leave_pause_resume_full_fold_into_the_visit(files):
    (first, second, third) = files.events(
        arrive("1h")
        + event("pause", "2h")
        + event("resume", "2h30m")
        + event("pause", "3h")
        + event("leave", "4h")
        + arrive("5h")
        + event("full", "6h")
        + arrive("7h", "B")
        + event("full", "8h", "B")
        + event("leave", "9h", "B")
    )
    start = utc("2027-05-03T06:00:00+02:00")
    hour = timedelta(hours=1)
    assert first.ev.pauses == ((start + 2 * hour, start + 2.5 * hour), (start + 3 * hour, start + 4 * hour))
    assert first.ev.leave_at == start + 4 * hour
    assert second.ev.pauses == ((start + 6 * hour, start + 24 * hour),)
    assert second.ev.leave_at is None
    assert third.ev.pauses == ((start + 8 * hour, start + 9 * hour),)
    assert third.ev.leave_at == start + 9 * hour


def test_charger_events(files):
    events = files.events(
        event("reboot", "1h")
        + event("reboot", "2h", extra='duration = "2m"')
        + event("drop", "3h", "B", 'duration = "5m"')
        + event("fault", "4h", extra='connector = 0\nerror_code = "GroundFailure"\nduration = "10m"')
        + event("fault", "5h", "B")
    )
    start = utc("2027-05-03T06:00:00+02:00")
    hour = timedelta(hours=1)
    assert events == (
        Reboot(start + hour, "A", timedelta(seconds=20)),
        Reboot(start + 2 * hour, "A", timedelta(minutes=2)),
        NetworkDrop(start + 3 * hour, "B", timedelta(minutes=5)),
        Fault(start + 4 * hour, "A", 0, "GroundFailure", timedelta(minutes=10)),
        Fault(start + 5 * hour, "B", 1, "OtherError", None),
    )


def test_glob_stagger_repeat_and_numbered_tags(files):
    glob = (
        '\n[[event]]\nat = "07:00"\nkind = "arrive"\ncharger = "?"\nstagger = "10m"\ntag = "EMP{n:02}"\n'
        'leave_after = "9h"\nrepeat = { times = 2, every = "1d" }\n'
    )
    events = files.load(HEADER.replace('"1d"', '"2d"') + glob).scenario.events
    base = utc("2027-05-03T07:00:00+02:00")
    day, ten = timedelta(days=1), timedelta(minutes=10)
    assert [(e.at, e.charger, e.tag) for e in events] == [
        (base, "A", "EMP01"),
        (base + ten, "B", "EMP02"),
        (base + day, "A", "EMP01"),
        (base + day + ten, "B", "EMP02"),
    ]
    assert [e.ev.leave_at - e.at for e in events] == [timedelta(hours=9)] * 4
    # With a one-day simulation the second day is a warning per occurrence, never silently dropped.
    warnings = files.problems(HEADER + glob)
    assert len(warnings) == 2
    assert all("warning: never happens" in w for w in warnings)


def test_events_sort_by_instant_then_file_order(files):
    events = files.events(
        event("reboot", "2h", "B") + event("drop", "1h", "A", 'duration = "1m"') + event("reboot", "1h", "B")
    )
    assert [type(e).__name__ for e in events] == ["NetworkDrop", "Reboot", "Reboot"]
    assert [e.charger for e in events] == ["A", "B", "B"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (event("arive", "1h"), 'event[1].kind: must be one of "arrive"'),
        (event("reboot", "1h").replace('kind = "reboot"\n', ""), "event[1].kind: required key missing"),
        (event("reboot", "1h", extra="tag = 3"), "event[1].tag: must be a string"),
        (
            event("reboot", "1h", extra='tag = "x"'),
            'event[1].tag: does not apply to kind = "reboot" (only to arrive)',
        ),
        (
            event("reboot", "1h", extra="conector = 1"),
            'event[1].conector: unknown key (did you mean "connector"?)',
        ),
        (event("reboot", "soon"), "event[1].at: must be an offset from the start"),
        (event("reboot", "25:00"), "event[1].at: must be an offset from the start"),
        (event("reboot", "2027-05-03T12:00:00"), "event[1].at: must be an offset"),
        (event("reboot", "2027-05-03T03:00:00Z"), "event[1].at: is before the simulation's start"),
        (event("reboot", "1h", "Q"), "event[1].charger: no charger with this id"),
        (event("reboot", "1h", "AX"), 'event[1].charger: no charger with this id (did you mean "A"?)'),
        (event("reboot", "1h", "Z*"), "event[1].charger: the pattern matches no charger"),
        (
            event("reboot", "1h", extra='stagger = "1m"'),
            "event[1].stagger: applies only when charger is a pattern",
        ),
        (event("reboot", "1h", "*", 'stagger = "0s"'), "event[1].stagger: must be longer than 0s"),
        (event("reboot", "1h", extra='duration = "0s"'), "event[1].duration: must be longer than 0s"),
        (event("drop", "1h"), "event[1].duration: required for a network drop"),
        (event("drop", "1h", extra="duration = 60"), "event[1].duration: must be a duration with units"),
        (event("leave", "1h", extra="connector = 3"), 'event[1].connector: charger "A" has connectors 1…2'),
        (event("leave", "1h", extra="connector = 0"), 'event[1].connector: charger "A" has connectors 1…2'),
        (event("fault", "1h", "B", "connector = 2"), 'event[1].connector: charger "B" has connectors 0…1'),
        (event("fault", "1h", extra='error_code = "GroundFault"'), "event[1].error_code: must be an OCPP"),
        (event("fault", "1h", extra='error_code = "NoError"'), "event[1].error_code: must be an OCPP"),
        (event("reboot", "1h", extra="repeat = 3"), "event[1].repeat: must be a table"),
        (
            event("reboot", "1h", extra='repeat = { times = 0, every = "1h" }'),
            "event[1].repeat.times: must be",
        ),
        (
            event("reboot", "1h", extra='repeat = { times = 2, every = "0s" }'),
            "event[1].repeat.every: must be",
        ),
        (
            event("reboot", "1h", extra="repeat = { times = 2 }"),
            "event[1].repeat.every: required key missing",
        ),
        (event("arrive", "1h"), "event[1].tag: required for an arrival"),
        (
            arrive("1h", extra='tag = "' + "T" * 21 + '"').replace('tag = "T1"\n', ""),
            "event[1].tag: must be 1–20",
        ),
        (arrive("1h", "*", 'tag = "T{m}"').replace('tag = "T1"\n', ""), "event[1].tag: must contain {n}"),
        (arrive("1h", extra="phases = 0"), "event[1].phases: must be between 1 and 3"),
        (
            arrive("1h", extra="min_current_a = 20"),
            "event[1].min_current_a: must be ≤ the car's max_current_a (16)",
        ),
        (
            arrive("1h", extra='start_after = "1h"\nstart_at = "09:00"'),
            "event[1].start_at: give start_after or",
        ),
        (
            arrive("1h", extra='leave_after = "1h"\nleave_at = "09:00"'),
            "event[1].leave_at: give leave_after or",
        ),
        (
            arrive("1h", extra='leave_at = "3h"'),
            "event[1].leave_at: must be a wall-clock time or a date-time",
        ),
        (arrive("1h", extra="gives_up = true"), "event[1].gives_up: needs start_after or start_at"),
        (
            arrive("1h", extra='leave_at = "2027-05-03T20:00:00Z"\nrepeat = { times = 2, every = "2h" }'),
            "event[1].leave_at: an exact date-time cannot repeat",
        ),
        (
            arrive("1h", extra='leave_at = "2027-05-03T04:30:00Z"'),
            'event[1].leave_at: must be after the arrival at "A" (2027-05-03T05:00:00+00:00)',
        ),
        (
            arrive("1h", extra='start_after = "2h"\nleave_after = "1h"'),
            'event[1].leave_after: the car at "A" leaves before',
        ),
        (arrive("1h") + arrive("2h"), 'event[2].at: connector 1 of "A" already has a car'),
        (
            arrive("1h", extra='leave_after = "30m"') + arrive("2h") + arrive("3h"),
            "event[3].at: connector",
        ),
        (event("leave", "1h"), 'event[1].at: connector 1 of "A" has no car plugged in'),
        (
            arrive("1h", extra='leave_after = "1h"') + event("pause", "3h"),
            "event[2].at: connector 1",
        ),
        (
            arrive("1h", extra='leave_after = "5h"') + event("leave", "3h"),
            "event[2].kind: connector 1",
        ),
        (
            arrive("1h") + event("resume", "3h"),
            'event[2].kind: connector 1 of "A": the car is not paused',
        ),
        (
            arrive("1h") + event("pause", "2h") + event("pause", "3h"),
            'event[3].kind: connector 1 of "A": the car is already paused',
        ),
        (
            arrive("1h") + event("pause", "2h") + event("full", "3h"),
            'event[3].kind: connector 1 of "A": the car is paused',
        ),
        (
            arrive("1h") + event("full", "2h") + event("pause", "3h"),
            'event[3].kind: connector 1 of "A": the car is already full',
        ),
        (
            arrive("1h", "B", 'leave_after = "1h"') + arrive("1h30m", "B"),
            'event[2].at: connector 1 of "B" already has a car',
        ),
    ],
)
def test_event_rules(files, body, expected):
    assert files.has(HEADER + body, expected), files.problems(HEADER + body)


def test_event_array_must_be_tables(files):
    assert files.has("event = 3\n" + HEADER, "event: must be an array of tables")


def test_a_car_can_arrive_when_the_previous_one_has_left(files):
    events = files.events(
        arrive("1h", extra='leave_after = "1h"') + arrive("2h") + event("leave", "3h") + arrive("3h")
    )
    assert [e.at.hour for e in events] == [5, 6, 7]


# --- robustness -----------------------------------------------------------------------------------------

SIM_KEYS = ["start", "duration", "timezone", "meter_interval_s", "heartbeat_s", "ev"]
CHARGER_KEYS = ["id", "count", "id_pattern", "first", "connectors", "phases", "max_current_a", "vendor"]
CHARGER_KEYS += ["quirks", "configuration", "password"]
EVENT_KEYS = ["at", "kind", "charger", "connector", "tag", "max_current_a", "phases", "min_current_a"]
EVENT_KEYS += ["wanted_kwh", "gives_up", "start_after", "start_at", "leave_after", "leave_at", "duration"]
EVENT_KEYS += ["error_code", "stagger", "repeat", "name", "times", "every", "apply_delay_s"]

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "now",
            "A",
            "A*",
            "?",
            "CP{n:02}",
            "{n.x}",
            "1h",
            "0s",
            "90m",
            "07:30",
            "02:30",
            "arrive",
            "leave",
            "pause",
            "resume",
            "full",
            "reboot",
            "drop",
            "fault",
            "T{n}",
            "UTC",
            "Europe/Copenhagen",
            "watts_only",
            "apply_delay",
            "GroundFailure",
            "2027-03-28T01:30:00+01:00",
            "Power",
            "Core",
        ]
    ),
    st.text(max_size=6),
    st.just(datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
    st.just(datetime(2027, 3, 28, 1, 30)),
    st.just(time(2, 30)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["name", "times", "every", "apply_delay_s", "HeartbeatInterval"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=5,
)


def table(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.dictionaries(st.sampled_from([*names, "bogus"]), values, max_size=6)


scenario_documents = st.fixed_dictionaries(
    {"charger": st.lists(table(CHARGER_KEYS), max_size=3).map(lambda c: [{"id": "A", "connectors": 2}, *c])},
    optional={
        "simulation": table(SIM_KEYS),
        "event": st.lists(table(EVENT_KEYS), max_size=5),
        "simulaton": st.just({"x": 1}),
    },
)


@settings(max_examples=300)
@given(scenario_documents)
def test_any_scenario_loads_or_reports(doc):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "s.toml")
        with open(path, "w", encoding="utf-8") as out:
            out.write(tomli_w.dumps(doc))
        try:
            loaded = load_scenario(path, NOW)
        except ConfigError as exc:
            problems = exc.problems
            assert any(p.is_error for p in problems)
        else:
            problems = loaded.warnings
            sim = loaded.scenario.simulation
            assert all(sim.start <= e.at < sim.end for e in loaded.scenario.events)
            assert [e.at for e in loaded.scenario.events] == sorted(e.at for e in loaded.scenario.events)
        assert all(str(p).startswith(path + ": ") for p in problems)
