"""``balanz status --json`` and ``balanz ctl`` against a real ``balanz run`` process, and a second
``balanz run`` on the same socket refused. Wall-clock bounds only stop a hung run; nothing waits for time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.control.server_harness import short_dir
from tests.pipe_lines import wait_for

BOUND_S = 20


def balanz(*args: str, cwd: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "balanz", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=BOUND_S)


def test_status_and_ctl_against_a_running_daemon(tmp_path):
    sock = os.path.join(short_dir(), "c.sock")
    config = tmp_path / "site.toml"
    config.write_text(
        f"""
[server]
host = "127.0.0.1"
port = 0

[store]
path = "{tmp_path / "state" / "balanz.sqlite"}"

[monitor]
socket = "{sock}"

[[group]]
id = "site"
max_allocation = "32"

[[charger]]
id = "CP1"
group = "site"
alias = "Garage"
"""
    )
    command = [sys.executable, "-m", "balanz", "run", "-c", str(config)]
    with subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            wait_for(proc, "chargers connect to", BOUND_S)
            status = balanz("status", "--json", "-c", str(config), cwd=str(tmp_path))
            assert status.returncode == 0, status.stderr
            data = json.loads(status.stdout)
            assert data["site"]["mode"] == "csms"
            assert [c["id"] for c in data["chargers"]] == ["CP1"]
            assert [g["id"] for g in data["groups"]] == ["site"]
            text = balanz("status", "--socket", sock, cwd=str(tmp_path))
            assert text.returncode == 0
            assert "Garage" in text.stdout
            added = balanz("ctl", "--socket", sock, "tag", "add", "CARD1", "--user", "Ann", cwd=str(tmp_path))
            assert added.returncode == 0, added.stderr
            assert json.loads(added.stdout)["id"] == "CARD1"
            tags = balanz("ctl", "--socket", sock, "tags", cwd=str(tmp_path))
            assert [t["id"] for t in json.loads(tags.stdout)] == ["CARD1"]
            reload = balanz("ctl", "--socket", sock, "reload", cwd=str(tmp_path))
            assert reload.returncode == 0, reload.stderr
            assert json.loads(reload.stdout)["changes"] == ["no changes"]
            missing = balanz("ctl", "--socket", sock, "reset", "CP9", cwd=str(tmp_path))
            assert missing.returncode == 1
            assert "NoSuchCharger" in missing.stderr
            second = balanz("run", "-c", str(config), cwd=str(tmp_path))
            assert second.returncode == 1
            assert f"control socket {sock} is in use" in second.stderr
        finally:
            proc.terminate()
            proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 0
    assert not os.path.exists(sock)
