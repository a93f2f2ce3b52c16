"""``balanz status`` and ``balanz ctl`` as real processes against the fake daemon's socket."""

import asyncio
import json
import sys

from balanz.control.protocol import ErrorReply
from balanz.control.socket_path import configured_socket
from tests.control.fake_daemon import FakeDaemon, listen, short_socket_path
from tests.tui.sites import load_site


async def balanz(*argv):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "balanz", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


def run(scenario):
    async def main():
        daemon = await FakeDaemon(load_site("site4.json"), listen(short_socket_path())).start()
        try:
            await scenario(daemon)
        finally:
            await daemon.close()

    asyncio.run(main())


def test_status_json_prints_the_snapshot():
    async def scenario(daemon):
        code, out, err = await balanz("status", "--json", "--socket", daemon.path)
        assert (code, err) == (0, "")
        assert json.loads(out) == load_site("site4.json").to_json()

    run(scenario)


def test_status_text_names_site_groups_and_connectors():
    async def scenario(daemon):
        code, out, _ = await balanz("status", "--socket", daemon.path)
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == "balanz 0.1.0 CSMS site Harbour Office at 2026-11-24T16:40:12+01:00"
        assert "group RR1 (in HQ) limit 32.0 A offered 28.0/28.0/28.0 A used 25.3/24.9/25.0 A" in lines[2]
        assert "4 chargers (3 connected), 6 connectors" in out
        assert any(
            line.split()[:3] == ["RR1-02", "#1", "Unavailable"] and "offline" in line for line in lines
        )

    run(scenario)


def test_ctl_sends_one_command_and_prints_ok():
    async def scenario(daemon):
        code, out, err = await balanz("ctl", "--socket", daemon.path, "set-priority", "HQ-01", "1", "7")
        assert (code, out, err) == (0, "ok\n", "")
        assert (await daemon.next_request("set-priority")).args == {
            "charger": "HQ-01",
            "connector": 1,
            "priority": 7,
        }

    run(scenario)


def test_ctl_reports_the_daemon_s_error_with_status_1():
    async def scenario(daemon):
        daemon.replies["remote-stop"] = ErrorReply(None, "NotInTransaction", "HQ-01 #2 has no session")
        code, _, err = await balanz("ctl", "--socket", daemon.path, "remote-stop", "HQ-01", "2")
        assert code == 1
        assert err == "balanz ctl: remote-stop: NotInTransaction: HQ-01 #2 has no session\n"

    run(scenario)


def test_ctl_refuses_bad_arguments_before_connecting():
    async def scenario(daemon):
        code, _, err = await balanz("ctl", "--socket", daemon.path, "reset", "HQ-01", "Warm")
        assert code == 2
        assert "reset: type: must be one of Soft, Hard; got 'Warm'" in err
        assert daemon.connections == 0

    run(scenario)


def test_status_without_a_daemon_says_where_it_looked():
    async def main():
        code, _, err = await balanz("status", "--socket", "/tmp/bz-missing.sock")
        assert code == 1
        assert "cannot reach the daemon at /tmp/bz-missing.sock" in err

    asyncio.run(main())


def test_socket_defaults_to_balanz_sock_next_to_the_store():
    assert configured_socket("", "/var/lib/balanz/balanz.sqlite", None) == "/var/lib/balanz/balanz.sock"
    assert configured_socket("run/ctl.sock", "x", "/etc/balanz/balanz.toml") == "/etc/balanz/run/ctl.sock"
    assert configured_socket("/run/b.sock", "x", "/etc/balanz/balanz.toml") == "/run/b.sock"


def test_monitor_status_and_ctl_parse_their_socket_and_config_flags():
    from balanz.cli import build_parser

    args = build_parser().parse_args(["monitor", "--socket", "/tmp/x.sock"])
    assert (args.socket, args.config) == ("/tmp/x.sock", None)
    args = build_parser().parse_args(["status", "-c", "site.toml", "--json"])
    assert (args.config, args.json, args.socket) == ("site.toml", True, None)
    args = build_parser().parse_args(["ctl", "--socket", "s", "tag", "add", "X", "--priority", "3"])
    assert args.words == ["tag", "add", "X", "--priority", "3"]


def test_ctl_help_lists_every_command(capsys):
    from balanz.cli import main

    assert main(["ctl", "help"]) == 0
    out = capsys.readouterr().out
    assert "set-priority <charger> <connector> <priority>" in out
    assert "remote-stop <charger> [connector] [--transaction-id int]" in out


def test_status_finds_the_socket_through_the_configuration(tmp_path):
    async def scenario(daemon):
        config = tmp_path / "site.toml"
        config.write_text(f'[monitor]\nsocket = "{daemon.path}"\n', encoding="utf-8")
        code, out, err = await balanz("status", "-c", str(config), "--json")
        assert (code, err) == (0, "")
        assert json.loads(out)["site"]["name"] == "Harbour Office"

    run(scenario)


def test_an_empty_monitor_socket_means_balanz_sock_next_to_the_store(tmp_path):
    async def main():
        config = tmp_path / "site.toml"
        config.write_text('[store]\npath = "data/b.sqlite"\n', encoding="utf-8")
        code, _, err = await balanz("status", "-c", str(config))
        assert code == 1
        assert f"cannot reach the daemon at {tmp_path / 'data' / 'balanz.sock'}" in err

    asyncio.run(main())


def test_a_broken_configuration_is_reported_with_every_error(tmp_path):
    async def main():
        config = tmp_path / "site.toml"
        config.write_text("[monitor]\nsocket = 5\n[nonsense]\n", encoding="utf-8")
        code, _, err = await balanz("ctl", "-c", str(config), "status")
        assert code == 2
        assert err.startswith("balanz ctl: cannot find the socket, the configuration has errors:\n")
        assert len(err.strip().splitlines()) >= 3

    asyncio.run(main())
