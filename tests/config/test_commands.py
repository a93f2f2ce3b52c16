"""``balanz check-config`` and ``balanz import-csv`` through the real command line."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from balanz.cli import main
from balanz.config.loader import load_config

GROUPS = """\
group_id,description,max_allocation
HQ,Headquarters,00:00-07:59>0=63;08:00-16:59>0=20:3=63;17:00-20:59>0=0:5=63;21:00-23:59>0=40:3=63
RR1,Road Runner 1 Site,00:00-05:59>0=48;06:00-16:59>0=16:3=32:5=48;17:00-20:59>0=0:5=48;21:00-23:59>0=32:5=48
RR2,Road Runner 2 Site,00:00-23:59>0=24:3=40:5=48
Default,Autoregistered chargers,
"""
CHARGERS = """\
charger_id,alias,group_id,no_connectors,priority,description,conn_max,auth_sha
TACW222421G063,HQ-01,HQ,1,1,HQ low priority,8,3f1e0c9a5b7d2e4f6a8c0e2d4b6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c6e8d0b2f
TACW224437G681,HQ-16,HQ,1,5,,32,
TACW224377G584,RR1-01,RR1,1,,Road runner,16.0,
TACW224327G682,TACW224327G682,RR2,2,3,,,
"""
TAGS = """\
id_tag,user_name,parent_id_tag,description,status,priority
8a03ee96,Corp EV 1,ACME,,Activated,1
DB08E534,Corp EV 5,ACME,,Blocked,1
04A2B3C4,Jane Doe,,private,,
EXEC0001,CEO,,,Activated,10
"""
USERS = """\
user_id,user_type,description,auth_sha
delete-admin,Admin,default admin,abcdef
ops,Status,operations,123456
"""


@pytest.fixture
def csv_site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in (("groups", GROUPS), ("chargers", CHARGERS), ("tags", TAGS), ("users", USERS)):
        (tmp_path / f"{name}.csv").write_text(text)
    return tmp_path


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


# check-config


def test_check_config_ok_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "balanz.toml", "[server]\nport = 9000\n")
    assert main(["check-config", "balanz.toml"]) == 0
    assert capsys.readouterr().out == "balanz.toml: OK (0 warning(s))\n"


def test_check_config_accepts_dash_c(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "b.toml", "")
    assert main(["check-config", "-c", "b.toml"]) == 0
    assert "b.toml: OK" in capsys.readouterr().out


def test_check_config_prints_all_errors_then_warnings_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "balanz.toml", "[allocater]\n[server]\nport = -1\n[allocator]\nmin_allocation_a = 8\n")
    assert main(["check-config", "balanz.toml"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        'balanz.toml: allocater: unknown section (did you mean "allocator"?)',
        "balanz.toml: server.port: must be between 0 and 65535; got -1",
        "balanz.toml: allocator.min_allocation_a: warning: IEC 61851 sets 6 A as the lowest current a car "
        "must accept; got 8",
        "balanz.toml: 2 error(s); balanz would not start with this file",
    ]


def test_check_config_prints_warnings_of_a_usable_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "balanz.toml", "[allocator]\nmin_allocation_a = 8\n")
    assert main(["check-config", "balanz.toml"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("balanz.toml: allocator.min_allocation_a: warning: IEC 61851")
    assert captured.out == "balanz.toml: OK (1 warning(s))\n"


def test_check_config_without_a_file_checks_the_built_in_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == "<built-in default>: OK (0 warning(s))\n"


def test_check_config_refuses_two_different_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check-config", "a.toml", "-c", "b.toml"]) == 2


def test_dump_round_trips_with_includes_inlined(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sites").mkdir()
    write(
        tmp_path / "sites" / "rr2.toml",
        '[[group]]\nid = "RR2"\nmax_allocation = "48"\n'
        '[[charger]]\nid = "C1"\ngroup = "RR2"\nprofile = { kind = "relative" }\n'
        "[[charger.connector]]\nid = 1\npriority = 4\n",
    )
    write(
        tmp_path / "balanz.toml",
        '[model]\ninclude = ["sites/*.toml"]\n[allocator]\ntimezone = "Europe/Copenhagen"\n'
        '[[tag]]\nid = "a1"\nexpires = 2027-01-01T00:00:00+01:00\n'
        '[[group]]\nid = "S"\n[[group.slot]]\ntime = "*"\nquotas = { 0 = 16, 5 = 32 }\n'
        '[[firmware]]\nfirmware_id = "f1"\nurl = "https://fw.example/f1.bin"\n',
    )
    assert main(["check-config", "--dump", "balanz.toml"]) == 0
    (tmp_path / "dump.toml").write_text(capsys.readouterr().out)
    original = load_config("balanz.toml").config
    dumped = load_config("dump.toml").config
    assert dumped.model.include == ()
    expected = dataclasses.replace(
        original, source=None, model=dataclasses.replace(original.model, include=())
    )
    assert dataclasses.replace(dumped, source=None) == expected


# import-csv


def test_import_csv_writes_toml_that_loads(csv_site, capsys):
    code = main(
        [
            "import-csv",
            "--groups",
            "groups.csv",
            "--chargers",
            "chargers.csv",
            "--tags",
            "tags.csv",
            "--users",
            "users.csv",
            "-o",
            "site.toml",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    config = load_config("site.toml").config
    assert [g.id for g in config.group] == ["HQ", "RR1", "RR2", "Default"]
    chargers = {c.id: c for c in config.charger}
    assert chargers["TACW222421G063"].alias == "HQ-01"
    assert chargers["TACW222421G063"].max_current_a == 8
    assert chargers["TACW224377G584"].priority is None  # blank: allocator.default_priority applies
    assert chargers["TACW224377G584"].max_current_a == 16
    assert chargers["TACW224327G682"].alias is None  # alias equal to the id adds nothing
    assert chargers["TACW224327G682"].connectors == 2
    assert chargers["TACW224327G682"].max_current_a is None  # blank conn_max: the default applies
    tags = {t.id: t for t in config.tag}
    assert tags["8A03EE96"].parent == "ACME"
    assert tags["04A2B3C4"].status == "Blocked"
    assert tags["EXEC0001"].priority == 10
    assert "note: tags.csv line 4: tag '04A2B3C4' has status blank; written as Blocked" in err


def test_import_csv_keeps_auth_sha_out_of_the_toml(csv_site, capsys):
    main(["import-csv", "--chargers", "chargers.csv", "--groups", "groups.csv", "-o", "site.toml"])
    err = capsys.readouterr().err
    assert "auth_sha" not in (csv_site / "site.toml").read_text()
    side = (csv_site / "site.toml.auth_sha.csv").read_text().splitlines()
    assert side == [
        "charger_id,auth_sha",
        "TACW222421G063,3f1e0c9a5b7d2e4f6a8c0e2d4b6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c6e8d0b2f",
    ]
    assert (csv_site / "site.toml.auth_sha.csv").stat().st_mode & 0o777 == 0o600
    assert "1 charger credential hash(es) (auth_sha) written to site.toml.auth_sha.csv" in err


def test_import_csv_users_become_a_note(csv_site, capsys):
    assert main(["import-csv", "--users", "users.csv"]) == 0
    out = capsys.readouterr().out
    assert "# users.csv listed 2 API user(s): delete-admin (Admin), ops (Status)." in out
    assert "[[" not in out


def test_import_csv_reports_what_does_not_load(csv_site, capsys):
    (csv_site / "chargers.csv").write_text(CHARGERS + "ocpp/CP1,,RR9,1,1,,32,\n")
    assert main(["import-csv", "--groups", "groups.csv", "--chargers", "chargers.csv"]) == 2
    err = capsys.readouterr().err
    assert '<output>: charger[5] "ocpp/CP1".group: unknown group "RR9"' in err
    assert '<output>: charger[5] "ocpp/CP1".id: must be 1–48 printable ASCII characters without / or :' in err


def test_import_csv_needs_an_input(csv_site, capsys):
    assert main(["import-csv"]) == 2
