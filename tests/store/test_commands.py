import csv
import io
import json
import sqlite3
import subprocess
import sys

import pytest

from balanz.cli import main
from balanz.store import SCHEMA_VERSION, Store
from tests.store.conftest import at, session


@pytest.fixture
def filled(store_path):
    with Store(store_path) as store:
        store.complete_session(session())
        store.complete_session(
            session(
                charger="CP2",
                tx=7,
                start=at(60 * 30),
                end=at(60 * 31),
                alias="RR-07",
                group_id="RR1",
                id_tag="DB08E534",
                meter_stop_wh=1240000,
            )
        )
    return store_path


def test_export_csv_to_stdout(filled, capsys):
    assert main(["sessions", "export", "--store", str(filled), "--group", "RR1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["charger_id"], r["transaction_id"], r["energy_wh"]) for r in rows] == [("CP2", "7", "5500")]


def test_export_json_lines_to_file(filled, tmp_path, capsys):
    target = tmp_path / "out" / "s.jsonl"
    target.parent.mkdir()
    assert (
        main(
            [
                "sessions",
                "export",
                "--store",
                str(filled),
                "--format",
                "json",
                "-o",
                str(target),
                "--since",
                "2025-03-04",
                "--until",
                "2025-03-04",
            ]
        )
        == 0
    )
    lines = target.read_text().splitlines()
    assert [json.loads(line)["transaction_id"] for line in lines] == [1042]
    assert "1 sessions written" in capsys.readouterr().err
    assert not (target.parent / "s.jsonl.partial").exists()


def test_list_prints_a_table_with_totals(filled, capsys):
    assert main(["sessions", "list", "--store", str(filled)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "start",
        "(UTC)",
        "charger",
        "conn",
        "tag",
        "user",
        "duration",
        "kWh",
        "reason",
        "flags",
    ]
    assert lines[1].split()[:5] == ["2025-03-04", "10:00", "HQ-01", "1", "8A03EE96"]
    assert "18.021" in lines[1]
    assert "RR-07" in lines[2]
    assert lines[-1] == "2 sessions, 23.521 kWh"


def test_list_filters_by_tag_and_limit(filled, capsys):
    assert main(["sessions", "list", "--store", str(filled), "--tag", "db08e534"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 sessions, 5.500 kWh"
    assert main(["sessions", "list", "--store", str(filled), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "RR-07" in out
    assert "HQ-01" not in out


def test_bad_time_filter_is_a_usage_error(filled, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "list", "--store", str(filled), "--since", "last week"])
    assert exc.value.code == 2
    assert "expected a date" in capsys.readouterr().err


def test_missing_store_exits_1_with_the_path(tmp_path, capsys):
    missing = tmp_path / "nowhere.sqlite"
    assert main(["sessions", "list", "--store", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "no such file" in err


def test_backup_copies_a_consistent_standalone_database(filled, tmp_path, capsys):
    target = tmp_path / "backups" / "b.sqlite"
    with Store(filled) as daemon:
        daemon.database.connection.execute("BEGIN IMMEDIATE")
        daemon.database.connection.execute("DELETE FROM sessions")
        assert main(["sessions", "backup", "--store", str(filled), "-o", str(target)]) == 0
        daemon.database.connection.execute("ROLLBACK")
    assert "backed up" in capsys.readouterr().err
    assert not (target.parent / "b.sqlite.partial").exists()
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    with Store(target) as copy:
        assert copy.schema_version == SCHEMA_VERSION
        assert [s.transaction_id for s in copy.sessions()] == [1042, 7]


def test_store_backup_method(filled, tmp_path):
    with Store(filled) as store:
        store.backup(tmp_path / "x.sqlite")
    with Store(tmp_path / "x.sqlite") as copy:
        assert len(copy.sessions()) == 2


def test_sessions_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sessions"])
    assert exc.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_python_dash_m_balanz_sessions_export(filled):
    out = subprocess.run(
        [sys.executable, "-m", "balanz", "sessions", "export", "--store", str(filled), "--charger", "RR-07"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["session_id"] for r in rows] == ["CP2/1/7/20250305T160008Z"]


def test_store_path_comes_from_the_config_relative_to_its_file(tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    (site / "balanz.toml").write_text('[store]\npath = "state/balanz.sqlite"\n')
    with Store(site / "state" / "balanz.sqlite") as store:
        store.complete_session(session())
    assert main(["sessions", "list", "-c", str(site / "balanz.toml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 sessions, 18.021 kWh"


def test_config_problems_exit_2_with_file_and_key(tmp_path, capsys):
    bad = tmp_path / "balanz.toml"
    bad.write_text("[store]\npath = 5\n")
    assert main(["sessions", "export", "-c", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == f"{bad}: store.path: must be a string; got 5"


def test_without_config_the_default_data_directory_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sessions", "list"]) == 1
    assert "balanz-data" in capsys.readouterr().err
