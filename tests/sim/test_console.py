"""The simulator console: parsing (pure), commands on a running site, stdin-like streams, the Unix socket."""

from __future__ import annotations

import os
import re
import socket
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing

from balanz.sim.console import Command, CommandError, execute, parse_command
from balanz.sim.console_io import (
    MAX_LINE,
    ConsoleSocketError,
    answer,
    open_console_socket,
    read_lines,
    socket_console,
    stream_console,
)
from balanz.sim.eventlog import Disconnected, EventLog, StatusChanged
from balanz.sim.played import Played
from balanz.sim.runner import SiteRun
from balanz.sim.scenario import load_scenario

SCENARIO = """
[simulation]
start = "2027-03-22T08:00:00Z"
duration = "1d"

[[charger]]
id = "CP1"
connectors = 2

[[charger]]
id = "CP2"
"""


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("plug CP1", Command("plug", "CP1", 1)),
        ("plug CP1:2 TAG-7 max=11 kwh=40 phases=1", Command("plug", "CP1", 2, "TAG-7", 11.0, 40.0, 1)),
        ("PLUG CP1 KWH=5", Command("plug", "CP1", 1, kwh=5.0)),
        ("unplug CP1:2", Command("unplug", "CP1", 2)),
        ("tag CP2 BADGE", Command("tag", "CP2", 1, "BADGE")),
        ("full CP1", Command("full", "CP1", 1)),
        ("suspend CP1:2", Command("suspend", "CP1", 2)),
        ("resume CP1:2  # after lunch", Command("resume", "CP1", 2)),
        ("maxa CP1 10.5", Command("maxa", "CP1", 1, amps=10.5)),
        ("reboot CP2", Command("reboot", "CP2", seconds=20.0)),
        ("reboot CP2 90s", Command("reboot", "CP2", seconds=90.0)),
        ("drop CP2 2m", Command("drop", "CP2", seconds=120.0)),
        ("drop CP2 45", Command("drop", "CP2", seconds=45.0)),
        ("status", Command("status")),
        ("help", Command("help")),
    ],
)
def test_parse(line: str, command: Command) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize("line", ["", "   ", "# just a note"])
def test_blank_lines_are_no_command(line: str) -> None:
    assert parse_command(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("plg CP1", 'unknown command "plg" (did you mean "plug"?)'),
        ("plug", "plug: which charger? (usage: plug CHARGER[:CONN]"),
        ("plug CP1:x", 'plug: connector "x" of CP1 must be a number from 1'),
        ("plug CP1:0", 'plug: connector "0" of CP1'),
        ("plug :2", 'plug: ":2" names no charger'),
        ("plug CP1 A B", 'plug: one tag only, got "A" and "B"'),
        ("plug CP1 mx=16", 'plug: unknown option "mx" (did you mean "max"?)'),
        ("plug CP1 max=sixteen", 'plug: max must be a number, got "sixteen"'),
        ("plug CP1 max=200", "plug: max must be between 1 and 80, got 200"),
        ("plug CP1 phases=4", 'plug: phases must be 1, 2 or 3, got "4"'),
        ("tag CP1", "tag: missing an argument (usage: tag CHARGER[:CONN] TAG)"),
        ("maxa CP1", "maxa: missing an argument"),
        ("maxa CP1 nan", "maxa: A must be between 0 and 80, got nan"),
        ("unplug CP1 now", 'unplug: unexpected "now"'),
        ("drop CP2", "drop: missing an argument (usage: drop CHARGER SECONDS)"),
        ("drop CP2 0", "drop: SECONDS must be more than 0"),
        ("drop CP2 soon", 'drop: SECONDS must be a number, got "soon"'),
        ("reboot CP2:1", "reboot: acts on the whole charger; write CP2 without :CONN"),
        ("status now", 'status: unexpected "now"'),
    ],
)
def test_parse_errors_name_the_problem(line: str, message: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_command(line)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.fixture
async def site(tmp_path: Path, nursery: trio.Nursery, scripted_csms) -> SiteRun:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path, datetime(2030, 1, 1, tzinfo=UTC)).scenario
    run: SiteRun = await nursery.start(SiteRun(scenario, scripted_csms.url, events=EventLog()).run)
    for cp in run.chargers.values():
        await cp.wait_booted()
    return run


def run_line(run: SiteRun, line: str) -> str:
    command = parse_command(line)
    assert command is not None
    return execute(run, command)


async def test_commands_drive_the_car(autojump_clock: trio.testing.MockClock, site: SiteRun) -> None:
    cp = site.chargers["CP1"]
    assert run_line(site, "plug CP1:2 TAG max=10 kwh=30") == (
        "plugged into CP1:2: 10 A on 3 phase(s), 30 kWh wanted, tag TAG"
    )
    await trio.sleep(60)
    assert (cp.status(2).value, cp.draw(2)) == ("Charging", (10.0, 10.0, 10.0))
    run_line(site, "maxa CP1:2 8")
    await trio.sleep(1)
    assert cp.draw(2) == (8.0, 8.0, 8.0)
    run_line(site, "suspend CP1:2")
    await trio.sleep(60)
    assert (cp.status(2).value, cp.draw(2)) == ("SuspendedEV", (0.0, 0.0, 0.0))
    run_line(site, "resume CP1:2")
    await trio.sleep(60)
    assert cp.status(2).value == "Charging"
    assert run_line(site, "full CP1:2").startswith("the car at CP1:2 is full after 0.")
    await trio.sleep(60)
    assert (cp.status(2).value, cp.draw(2)) == ("SuspendedEV", (0.0, 0.0, 0.0))
    run_line(site, "unplug CP1:2")
    await trio.sleep(1)
    assert cp.status(2).value == "Available"
    kinds = [(p.kind, p.charger, p.connector, p.source) for p in site.events.of(Played)]
    assert kinds[0] == ("plug", "CP1", 2, "console")
    assert [k[0] for k in kinds] == ["plug", "maxa", "suspend", "resume", "full", "unplug"]


async def test_tag_drop_and_reboot(autojump_clock: trio.testing.MockClock, site: SiteRun) -> None:
    run_line(site, "plug CP2")
    await trio.sleep(5)
    assert site.chargers["CP2"].status(1).value == "Preparing"
    run_line(site, "tag CP2 LATE")
    await trio.sleep(60)
    assert site.chargers["CP2"].status(1).value == "Charging"
    assert run_line(site, "drop CP2 2m") == "CP2 loses the network for 120 s"
    await trio.sleep(1)
    assert site.events.of(Disconnected, "CP2")[-1].reason == "network dropped"
    await trio.sleep(600)
    assert site.chargers["CP2"].connected
    assert run_line(site, "reboot CP2 30") == "CP2 reboots (offline 30 s)"
    await trio.sleep(120)
    assert site.chargers["CP2"].connected
    assert [s.status for s in site.events.of(StatusChanged, "CP2")][-1] == "Preparing"


async def test_commands_that_do_not_apply(autojump_clock: trio.testing.MockClock, site: SiteRun) -> None:
    for line, message in [
        ("plug CP9", 'plug: no charger "CP9" (did you mean "CP'),
        ("plug CP2:3", "plug: charger CP2 has no connector 3 (it has 1..1)"),
        ("unplug CP1", "unplug: no car is plugged into CP1:1"),
        ("suspend CP1", "suspend: no car is plugged into CP1:1"),
    ]:
        with pytest.raises(CommandError, match=re.escape(message)):
            run_line(site, line)
    run_line(site, "plug CP1")
    with pytest.raises(CommandError, match="already has a car"):
        run_line(site, "plug CP1")
    with pytest.raises(CommandError, match="is not paused"):
        run_line(site, "resume CP1")
    assert answer(site, "plug CP1") == "error: plug: CP1:1 already has a car plugged in; unplug it first"


async def test_status_and_help(autojump_clock: trio.testing.MockClock, site: SiteRun) -> None:
    status = run_line(site, "status")
    assert status.splitlines()[0].startswith("== 2027-03-22 08:00")
    assert len(status.splitlines()) == 2 + 3
    assert "maxa CHARGER[:CONN] A" in run_line(site, "help")
    assert answer(site, "") is None


async def test_read_lines_splits_and_skips_overlong() -> None:
    send, receive = trio.testing.memory_stream_one_way_pair()
    await send.send_all(b"one\ntw")
    await send.send_all(b"o\n" + b"x" * (MAX_LINE + 10) + b"\nthree")
    await send.aclose()
    lines = [line async for line in read_lines(receive)]
    assert lines == ["one", "two", None, "three"]


async def test_stream_console_answers_each_line(
    autojump_clock: trio.testing.MockClock, site: SiteRun, tmp_path: Path
) -> None:
    send, receive = trio.testing.memory_stream_one_way_pair()
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream_console(lambda: receive, out), site)
            await send.send_all(b"plug CP2 T\nplg CP2\n\n")
            await send.aclose()
    assert out_path.read_text().splitlines() == [
        "plugged into CP2:1: 16 A on 3 phase(s), 20 kWh wanted, tag T",
        'error: unknown command "plg" (did you mean "plug"?); "help" lists them',
    ]


async def test_socket_console(autojump_clock: trio.testing.MockClock, site: SiteRun, tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    listener = await open_console_socket(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    async with trio.open_nursery() as nursery:
        nursery.start_soon(socket_console(listener, path), site)
        client = await trio.open_unix_socket(path)
        await client.send_all(b"plug CP1:2 VAN\n")
        reply = b""
        while not reply.endswith(b"\n"):
            reply += await client.receive_some(1024)
        assert reply == b"plugged into CP1:2: 16 A on 3 phase(s), 20 kWh wanted, tag VAN\n"
        with pytest.raises(ConsoleSocketError, match="another simulation is listening there"):
            await open_console_socket(path)
        await client.aclose()
        nursery.cancel_scope.cancel()
    assert not os.path.exists(path)


async def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    listener = await open_console_socket(path)
    await listener.aclose()


async def test_socket_path_problems(tmp_path: Path) -> None:
    with pytest.raises(ConsoleSocketError, match="longer than the 107 a Unix socket path may have"):
        await open_console_socket("/tmp/" + "x" * 120)
    plain = tmp_path / "file"
    plain.write_text("")
    with pytest.raises(ConsoleSocketError, match="exists and is not a socket"):
        await open_console_socket(str(plain))
    with pytest.raises(ConsoleSocketError, match="cannot create it"):
        await open_console_socket(str(tmp_path / "missing" / "c.sock"))
