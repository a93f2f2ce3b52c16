"""``balanz run`` as a real process: where to connect, SIGTERM closes chargers with 1001 and exits 0.

Wall-clock bounds only stop a hung run; nothing waits for time to pass.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import trio
from ocpp.v16 import call

from balanz.cli import main
from balanz.wire.client import open_charger_connection
from tests.pipe_lines import wait_for

BOUND_S = 120  # only stops a hung run: on a loaded shared machine start-up alone took > 15 s


def wait_for_port(proc: subprocess.Popen) -> int:
    return int(wait_for(proc, r"chargers connect to ws://127\.0\.0\.1:(\d+)/<charger_id>", BOUND_S).group(1))


async def boot_then_terminate(port: int, pid: int) -> int | None:
    with trio.fail_after(BOUND_S):
        async with open_charger_connection(f"ws://127.0.0.1:{port}", "CP-proc") as conn:
            await conn.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="M"))
            os.kill(pid, signal.SIGTERM)
            await conn.wait_closed()
            return conn.close_code


def test_sigterm_closes_chargers_with_1001_and_exits_zero(tmp_path):
    command = [sys.executable, "-m", "balanz", "run", "--host", "127.0.0.1", "--port", "0"]
    command += ["--data-dir", str(tmp_path / "data")]
    with subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            port = wait_for_port(proc)
            code = trio.run(boot_then_terminate, port, proc.pid)
            assert proc.wait(BOUND_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=BOUND_S)
    assert code == 1001


def test_config_problems_exit_2_before_listening(tmp_path, capsys):
    bad = tmp_path / "site.toml"
    bad.write_text("[server]\nport = 'nine'\nping_interval_s = -1\n")
    assert main(["run", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "server.port" in err
    assert len([line for line in err.splitlines() if line.strip()]) >= 2


def test_busy_port_exits_1_naming_the_address(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "balanz", "run", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data-dir", str(tmp_path / "data")]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=BOUND_S)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
