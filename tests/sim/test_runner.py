"""`balanz simulate`: scenarios played against balanz's own server and the scripted CSMS, under virtual time.

The CLI tests at the end run real processes; they assert on exit codes and the written log, never on how
long anything took.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio

from balanz.cli import main
from balanz.clock import SiteClock
from balanz.config.loader import load_config
from balanz.daemon import build_daemon
from balanz.sim.eventlog import (
    Booted,
    Connected,
    Disconnected,
    EvDraw,
    EventLog,
    Rebooted,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
    read_jsonl,
)
from balanz.sim.played import Played, SimulationEnded, SimulationStarted
from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.quirks import Quirk
from balanz.sim.runner import SiteRun
from balanz.sim.scenario import Arrival, NetworkDrop, Reboot, Scenario, load_scenario
from balanz.sim.scenario_chargers import ChargerSpec
from balanz.sim.scenario_specs import sim_spec
from balanz.sim.summary import ConnectorRow, render
from balanz.store import Store
from tests.pipe_lines import wait_for

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
BOUND_S = 60


def scenario_file(tmp_path: Path, text: str) -> Scenario:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return load_scenario(path, NOW).scenario


TINY = """
[simulation]
start = "2027-03-22T08:00:00Z"
duration = "2h"

[[charger]]
id = "CP1"

[[charger]]
id = "CP2"
connectors = 2

[[event]]
at = "10m"
kind = "arrive"
charger = "CP1"
tag = "T1"
max_current_a = 16
wanted_kwh = 40
leave_after = "1h"

[[event]]
at = "20m"
kind = "pause"
charger = "CP1"

[[event]]
at = "30m"
kind = "resume"
charger = "CP1"

[[event]]
at = "40m"
kind = "drop"
charger = "CP2"
duration = "2m"

[[event]]
at = "50m"
kind = "fault"
charger = "CP2"
connector = 0
error_code = "GroundFailure"
duration = "5m"
"""


SITE_4_UNTIL = datetime(2027, 3, 22, 13, 5, tzinfo=UTC)


async def play_site_4(tmp_path: Path) -> tuple[Scenario, SiteRun, EventLog]:
    """The example site until just after its last scripted event (14:00 local), against CSMS-mode balanz.

    Shortened for the suite's sake: the run stops at 14:05 local, chargers sample meters every 5 minutes
    and the server does not ping (wire-level keepalive is tested elsewhere).
    """
    scenario = load_scenario(EXAMPLES / "site-4-chargers.toml", NOW).scenario
    slower_meters = {"MeterValueSampleInterval": "300"}
    chargers = tuple(
        dataclasses.replace(c, configuration={**c.configuration, **slower_meters}) for c in scenario.chargers
    )
    scenario = dataclasses.replace(scenario, chargers=chargers)
    until = SITE_4_UNTIL
    config = load_config(EXAMPLES / "site-4-chargers.balanz.toml").config
    server = dataclasses.replace(config.server, host="127.0.0.1", port=0, ping_interval_s=0)
    config = dataclasses.replace(config, server=server)
    log = EventLog()
    with Store(tmp_path / "site.sqlite") as store:
        daemon = build_daemon(config, store=store, clock=SiteClock(scenario.simulation.start))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            run = SiteRun(scenario, f"ws://127.0.0.1:{daemon.server.port}/", events=log, until=until)
            await run.run()
            nursery.cancel_scope.cancel()
    return scenario, run, log


async def test_site_4_chargers_against_balanz(autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
    scenario, run, log = await play_site_4(tmp_path)
    until = SITE_4_UNTIL
    assert run.finished
    [started] = log.of(SimulationStarted)
    [ended] = log.of(SimulationEnded)
    assert (started.chargers, ended.at) == (4, until)
    for charger in scenario.chargers:
        assert [b.status for b in log.of(Booted, charger.id)][:1] == ["Accepted"], charger.id
    arrivals = [e for e in scenario.events if isinstance(e, Arrival)]
    played = [p for p in log.of(Played) if p.kind == "arrive"]
    assert [(p.at, p.charger, p.connector) for p in played] == [
        (a.at, a.charger, a.connector) for a in arrivals
    ]
    for a in arrivals:
        assert any(
            s.at == a.at and s.connector == a.connector and s.status == "Preparing"
            for s in log.of(StatusChanged, a.charger)
        ), a
    started_tags = {(t.charger, t.connector, t.id_tag) for t in log.of(TransactionStarted)}
    assert {(a.charger, a.connector, a.tag) for a in arrivals} <= started_tags
    [drop] = [e for e in scenario.events if isinstance(e, NetworkDrop)]
    back = drop.at + drop.duration
    assert any(d.at == drop.at and d.reason == "network dropped" for d in log.of(Disconnected, drop.charger))
    assert any(back <= c.at < back + timedelta(minutes=5) for c in log.of(Connected, drop.charger))
    [reboot] = [e for e in scenario.events if isinstance(e, Reboot)]
    assert [p.at for p in log.of(Played, reboot.charger) if p.kind == "reboot"] == [reboot.at]
    [rebooted] = log.of(Rebooted, reboot.charger)
    assert reboot.at <= rebooted.at < reboot.at + timedelta(seconds=10)  # the link closes first
    again = [b.at for b in log.of(Booted, reboot.charger) if b.at > reboot.at]
    assert again
    assert reboot.at + reboot.offline <= again[0] < reboot.at + reboot.offline + timedelta(minutes=5)


async def test_site_4_stays_within_its_feeder(autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
    """The site's feeder is 40 A per phase (examples/site-4-chargers.balanz.toml, group "Site")."""
    _, _, log = await play_site_4(tmp_path)
    assert max(peak_draw(log)) <= 40.0


def peak_draw(log: EventLog) -> tuple[float, float, float]:
    """The highest sum over all connectors of the cars' draw, per phase, at any instant of the log."""
    now: dict[tuple[str, int], tuple[float, float, float]] = {}
    peak = (0.0, 0.0, 0.0)
    for record in log.of(EvDraw):
        now[(record.charger, record.connector)] = record.amps
        total = tuple(sum(amps[i] for amps in now.values()) for i in range(3))
        peak = tuple(max(p, t) for p, t in zip(peak, total, strict=True))  # type: ignore[assignment]
    return peak


async def test_a_car_charges_pauses_and_leaves(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, scripted_csms
) -> None:
    scenario = scenario_file(tmp_path, TINY)
    log = EventLog()
    run = SiteRun(scenario, scripted_csms.url, events=log)
    await run.run()

    start = scenario.simulation.start
    [tx] = log.of(TransactionStarted, "CP1")
    assert (tx.id_tag, tx.at) == ("T1", start + timedelta(minutes=10))
    statuses = [(s.at - start, s.status) for s in log.of(StatusChanged, "CP1")]
    assert (timedelta(minutes=20), "SuspendedEV") in statuses
    assert (timedelta(minutes=30), "Charging") in statuses
    [stop] = log.of(TransactionStopped, "CP1")
    assert (stop.at - start, stop.reason) == (timedelta(minutes=70), "EVDisconnected")
    # 50 minutes at the car's own 16 A (the charger offers 32 A) on three phases of 230 V
    assert stop.meter_stop_wh == pytest.approx(16 * 3 * 230 * 50 / 60, abs=2)
    faults = [(s.at - start, s.connector, s.error_code) for s in log.of(StatusChanged, "CP2")]
    assert (timedelta(minutes=50), 2, "GroundFailure") in faults
    assert (timedelta(minutes=55), 2, "NoError") in faults
    assert any(d.at - start == timedelta(minutes=40) for d in log.of(Disconnected, "CP2"))


async def test_speed_runs_simulated_time_faster(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, scripted_csms
) -> None:
    scenario = scenario_file(tmp_path, TINY)
    ended: list[float] = []
    begun = trio.current_time()
    run = SiteRun(scenario, scripted_csms.url, speed=60)
    await run.run(at_end=[lambda _: ended.append(trio.current_time())])
    assert ended[0] - begun == pytest.approx(2 * 3600 / 60)
    assert run.finished


async def test_until_stops_early_and_skips_later_events(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, scripted_csms
) -> None:
    scenario = scenario_file(tmp_path, TINY)
    log = EventLog()
    until = scenario.simulation.start + timedelta(minutes=35)
    await SiteRun(scenario, scripted_csms.url, events=log, until=until).run()
    [ended] = log.of(SimulationEnded)
    assert ended.at == until
    assert [p.kind for p in log.of(Played)] == ["arrive"]


def test_speed_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--speed"):
        SiteRun(scenario_file(tmp_path, TINY), "ws://127.0.0.1:1/", speed=0)


def test_scenario_charger_becomes_sim_spec() -> None:
    charger = ChargerSpec(
        id="A",
        connectors=2,
        phases=1,
        max_current_a=16,
        quirks={Quirk.WATTS_ONLY: {}, Quirk.APPLY_DELAY: {"apply_delay_s": 45.0}},
        configuration={"ChargeProfileMaxStackLevel": "3", "LocalAuthListEnabled": "true"},
    )
    mapped = sim_spec(charger)
    spec = mapped.spec
    assert (spec.id, spec.connectors, spec.phases, spec.max_current_a) == ("A", 2, 1, 16.0)
    assert (spec.serial, spec.password) == (None, None)
    assert spec.quirks == QuirkFlags(watts_only=True, apply_delay_s=45.0)
    assert dict(spec.configuration) == {"ChargeProfileMaxStackLevel": "3"}
    assert mapped.ignored_keys == ("LocalAuthListEnabled",)


def test_every_quirk_of_the_example_maps() -> None:
    scenario = load_scenario(EXAMPLES / "quirks.toml", NOW).scenario
    flags = [sim_spec(c).spec.quirks for c in scenario.chargers]
    assert all(f.active() for f in flags if f != QuirkFlags())
    assert {q for c in scenario.chargers for q in c.quirks} == set(Quirk)


def test_summary_table() -> None:
    rows = [
        ConnectorRow("HQ-01", 1, True, "Charging", 16.0, 3, "TxProfile", (15.8, 15.8, 15.8), 4.25),
        ConnectorRow("HQ-04", 2, False, "Available", 32.0, 3, None, (0.0, 0.0, 0.0), 0.0),
    ]
    text = render(rows, datetime(2027, 3, 22, 9, 0, tzinfo=UTC), 60)
    lines = text.splitlines()
    assert lines[0] == "== 2027-03-22 09:00:00 UTC  speed 60×  site draw 15.8/15.8/15.8 A"
    assert lines[1].split() == [
        "charger",
        "conn",
        "link",
        "status",
        "limit",
        "by",
        "draw",
        "L1/L2/L3",
        "A",
        "kWh",
    ]
    assert lines[2].split() == [
        "HQ-01",
        "1",
        "up",
        "Charging",
        "16.0",
        "A×3",
        "TxProfile",
        "15.8/15.8/15.8",
        "4.25",
    ]
    assert lines[3].split() == [
        "HQ-04",
        "2",
        "DOWN",
        "Available",
        "32.0",
        "A×3",
        "rating",
        "0.0/0.0/0.0",
        "0.00",
    ]
    assert len({line.index("status") for line in lines[1:2]}) == 1


# ---- the command line --------------------------------------------------------------------------------


def test_cli_refuses_without_a_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.toml").write_text(TINY)
    assert main(["simulate", str(tmp_path / "s.toml")]) == 2
    assert "--url ws://HOST:PORT/" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--speed", "0"], "--speed must be a positive number"),
        (["--until", "soon"], '--until "soon": must be a duration'),
        (["--log", "/nonexistent/dir/log.jsonl"], "--log /nonexistent/dir/log.jsonl:"),
    ],
)
def test_cli_names_a_bad_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    (tmp_path / "s.toml").write_text(TINY)
    assert main(["simulate", str(tmp_path / "s.toml"), "--url", "ws://127.0.0.1:1/", *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_reports_every_scenario_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[charger]]\nid = "A"\nphases = 2\n\n[[event]]\nat = "1h"\nkind = "arive"\ncharger = "A"\n'
    )
    assert main(["simulate", str(bad), "--url", "ws://127.0.0.1:1/"]) == 2
    err = capsys.readouterr().err
    assert 'charger[1] "A".phases: must be 1 or 3' in err
    assert 'event[1].kind: must be one of "arrive"' in err


def test_cli_takes_the_url_from_the_balanz_configuration(tmp_path: Path) -> None:
    from balanz.sim.commands import _url_from_config

    cfg = tmp_path / "balanz.toml"
    cfg.write_text('[server]\nhost = "0.0.0.0"\nport = 9100\npath_prefix = "/ocpp/"\n')
    assert _url_from_config(str(cfg)) == "ws://127.0.0.1:9100/ocpp/"


def _port_of(proc: subprocess.Popen[str]) -> int:
    return int(wait_for(proc, r"chargers connect to ws://127\.0\.0\.1:(\d+)/", BOUND_S).group(1))


def test_cli_plays_a_scenario_against_balanz_run(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(
        '[simulation]\nstart = "2027-03-22T08:00:00Z"\nduration = "60s"\n\n'
        '[[charger]]\nid = "CP1"\n\n[[charger]]\nid = "CP2"\n\n'
        '[[event]]\nat = "20s"\nkind = "arrive"\ncharger = "CP2"\ntag = "T"\n'
    )
    log = tmp_path / "log.jsonl"
    daemon_cmd = [sys.executable, "-m", "balanz", "run", "--host", "127.0.0.1", "--port", "0"]
    daemon_cmd += ["--data-dir", str(tmp_path / "data")]
    with subprocess.Popen(daemon_cmd, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          text=True) as daemon:  # fmt: skip
        try:
            port = _port_of(daemon)
            sim = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "balanz",
                    "simulate",
                    str(scenario),
                    "--url",
                    f"ws://127.0.0.1:{port}/",
                    "--speed",
                    "60",
                    "--log",
                    str(log),
                    "--every",
                    "1",
                ],
                capture_output=True,
                text=True,
                timeout=BOUND_S,
                check=False,
            )
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=BOUND_S)
    assert sim.returncode == 0, sim.stderr
    with log.open() as lines:
        records = read_jsonl(lines)
    types = [r["type"] for r in records]
    # The built-in configuration accepts and registers unknown tags: the arrival starts a session, held at
    # 0 A until the allocator's first offer (the daemon runs on the real clock, the scenario at 60x).
    assert "TransactionStarted" in types
    assert "CP2      1     up    SuspendedEVSE" in sim.stdout or "CP2      1     up    Charging" in sim.stdout
    assert (types[0], types[-1]) == ("SimulationStarted", "SimulationEnded")
    assert {r["charger"] for r in records if r["type"] == "Booted" and r["status"] == "Accepted"} == {
        "CP1",
        "CP2",
    }
    [arrive] = [r for r in records if r["type"] == "Played"]
    assert (arrive["at"], arrive["charger"], arrive["kind"]) == ("2027-03-22T08:00:20+00:00", "CP2", "arrive")
    assert json.loads(log.read_text().splitlines()[-1])["at"] == "2027-03-22T08:01:00+00:00"
