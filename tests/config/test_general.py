"""config.md §3 message format and §3.1 general rules: syntax errors, unknown names, strict types, enums."""

from __future__ import annotations

import pytest

from balanz.config import keys
from balanz.config.errors import ConfigError, Problem, Severity
from balanz.config.loader import load_config


def test_problem_prints_file_key_problem_and_value():
    problem = Problem(
        "balanz.toml",
        "allocator.margin_increase_a",
        "must be ≤ allocator.margin_lower_a (0.8)",
        Severity.ERROR,
        0.9,
    )
    assert (
        str(problem)
        == "balanz.toml: allocator.margin_increase_a: must be ≤ allocator.margin_lower_a (0.8); got 0.9"
    )


def test_warning_says_so_after_the_key():
    problem = Problem("b.toml", "allocator.min_allocation_a", "IEC 61851 …", Severity.WARNING, 8)
    assert str(problem) == "b.toml: allocator.min_allocation_a: warning: IEC 61851 …; got 8"


def test_problem_without_value_has_no_got():
    assert str(Problem("a.toml", "x.y", "bad")) == "a.toml: x.y: bad"


def test_toml_syntax_error_names_line_and_column(site):
    errors = site.errors('[server]\nport = 1\n\nhost "x"\n')
    assert len(errors) == 1
    assert errors[0].startswith("balanz.toml: line 4, column 6: invalid TOML: ")
    assert "(at line" not in errors[0]


def test_missing_file_is_a_config_error(site):
    with pytest.raises(ConfigError) as exc:
        load_config("nowhere.toml")
    assert str(exc.value.problems[0]).startswith("nowhere.toml: cannot read the file")


def test_unknown_section_suggests_closest(site):
    assert site.errors("[allocater]\nrun_interval_s = 5") == [
        'balanz.toml: allocater: unknown section (did you mean "allocator"?)'
    ]


def test_unknown_key_suggests_closest(site):
    assert site.errors("[allocator]\nmin_alocation_a = 6") == [
        'balanz.toml: allocator.min_alocation_a: unknown key (did you mean "min_allocation_a"?)'
    ]


def test_unknown_key_without_close_match_has_no_suggestion(site):
    assert site.errors("[server]\nfrobnicate = 1") == ["balanz.toml: server.frobnicate: unknown key"]


def test_reference_ini_section_points_to_its_new_home(site):
    errors = site.errors('[host]\naddr = "0.0.0.0"')
    assert errors == [
        "balanz.toml: host: unknown section (the reference ini's [host] keys now live in [server], "
        "see config.md §1)"
    ]


def test_retired_intervals_full_points_to_the_reason(site):
    errors = site.errors("[allocator]\nintervals_full = 12")
    assert errors == [
        "balanz.toml: allocator.intervals_full: retired key: allocator runs are event-driven and "
        "every run is a full run (allocation.md R3); remove it"
    ]


def test_key_not_supported_yet_is_refused_not_ignored(site, monkeypatch):
    monkeypatch.setattr(keys, "NOT_SUPPORTED", frozenset({"allocator.phase_aware"}))
    assert site.errors("[allocator]\nphase_aware = true") == [
        "balanz.toml: allocator.phase_aware: not supported yet by this version of balanz; remove it"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = 9999.0", "server.port: must be a whole number (integer); got 9999.0"),
        ("[server]\nport = true", "server.port: must be a whole number, not true/false; got true"),
        ('[server]\nport = "9999"', 'server.port: must be a whole number (integer); got "9999"'),
        ("[mode]\nsmart_charging = 1", "mode.smart_charging: must be true or false; got 1"),
        ('[allocator]\nmargin_lower_a = "0.8"', 'allocator.margin_lower_a: must be a number; got "0.8"'),
        ("[allocator]\nmargin_lower_a = true", "allocator.margin_lower_a: must be a number; got true"),
        ("[server]\nhost = 127", "server.host: must be a string; got 127"),
        ('[model]\ninclude = "sites/*.toml"', 'model.include: must be a list of strings; got "sites/*.toml"'),
        ("server = 5", "server: must be a table (write a [server] header); got 5"),
        ("[[server]]\nport = 1", "server: must be a table (write a [server] header)"),
        ('[logging]\nlevels = "DEBUG"', "logging.levels: must be a table of logger name = level"),
    ],
)
def test_types_are_strict(site, text, expected):
    errors = site.errors(text)
    assert any(e.startswith(f"balanz.toml: {expected}") for e in errors), errors


def test_float_key_accepts_integer(site):
    config = site.load("[allocator]\nmargin_lower_a = 1\nrun_interval_s = 10\nschedule_lead_s = 60").config
    assert config.allocator.margin_lower_a == 1
    assert config.allocator.run_interval_s == 10


@pytest.mark.parametrize(
    ("text", "section", "key", "value"),
    [
        ('[mode]\nkind = "CSMS"', "mode", "kind", "csms"),
        ('[profiles]\nrate_unit = "w"', "profiles", "rate_unit", "W"),
        ('[logging]\nlevel = "debug"', "logging", "level", "DEBUG"),
        ('[csms]\nunknown_tags = "Accept_And_Register"', "csms", "unknown_tags", "accept_and_register"),
    ],
)
def test_enums_are_case_insensitive_and_normalised(site, text, section, key, value):
    assert getattr(getattr(site.load(text).config, section), key) == value


def test_per_logger_levels_are_normalised(site):
    config = site.load('[logging.levels]\n"balanz.wire" = "debug"').config
    assert config.logging.levels == {"balanz.wire": "DEBUG"}


@pytest.mark.all_keys_supported
def test_reference_spelling_of_charging_call_is_accepted_with_a_warning(site):
    loaded = site.load(
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "ws://up.example/"\nserver_charging_call = "Accepted"'
    )
    assert loaded.config.lc.server_charging_call == "accept"
    assert [str(w) for w in loaded.warnings] == [
        'balanz.toml: lc.server_charging_call: warning: reference spelling, understood as "accept"; '
        'write "accept"; '
        'got "Accepted"'
    ]


def test_errors_come_before_warnings(site):
    problems = site.problems("[allocator]\nmin_allocation_a = 8\n[server]\nport = -1")
    assert [p.is_error for p in problems] == [True, False]
