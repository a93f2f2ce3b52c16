"""The socket itself: bad requests, access, a slow consumer dropped without slowing anyone, the file's mode,
stale files, a second instance refused, the file removed at shutdown."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat

import pytest
import trio

from balanz.control.feed import FeedPolicy
from balanz.control.listener import SocketInUse
from balanz.daemon import _leaves, build_daemon
from balanz.server import ListenError
from balanz.store import Store
from tests.control.server_harness import Client, close_clients, control_config, short_dir, start
from tests.e2e.csms_charger import scripted_charger


@pytest.fixture
async def running(nursery, tmp_path):
    yield await start(nursery, control_config(tmp_path))
    await close_clients()


async def test_bad_requests_get_an_error_naming_the_problem(autojump_clock, running):
    client = await Client.connect(running.path, hello=False)
    code, message = await client.error("status")
    assert (code, message) == ("InvalidArgs", "status: send 'hello' first")
    await client.ok("hello", {"protocol": 1})
    assert (await client.error("hello", {"protocol": 1}))[1] == "hello: already greeted on this connection"
    await client.send_raw(b"{not json\n")
    reply = await client.reply()
    assert reply["id"] is None
    assert reply["error"]["code"] == "InvalidArgs"
    assert "not a JSON line" in reply["error"]["message"]
    await client.send_raw(b'{"cmd": "status"}\n')
    assert "needs an 'id'" in (await client.reply())["error"]["message"]
    code, message = await client.error("fly", {})
    assert code == "InvalidArgs"
    assert "unknown command 'fly'" in message
    code, message = await client.error("reset", {"charger": "CP1", "type": "Warm"})
    assert (code, message) == ("InvalidArgs", "reset: type: must be one of Soft, Hard; got 'Warm'")
    code, message = await client.error("set-priority", {"charger": "CP1", "connector": 1})
    assert message == "set-priority: priority: missing"
    assert (await client.error("reset", {"charger": "CP1", "colour": "red"}))[1] == (
        "reset: unknown argument 'colour'"
    )
    assert (await client.ok("status"))["mode"] == "csms"  # the connection survived all of it


async def test_a_line_too_long_closes_the_connection(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.send_raw(b'{"id": 1, "cmd": "status", "args": {"x": "' + b"a" * 70_000 + b'"}}\n')
    reply = await client.reply()
    assert "line longer than" in reply["error"]["message"]
    assert await client.line() is None
    other = await Client.connect(running.path)
    assert (await other.ok("status"))["monitor_clients"] == 1


async def test_read_only_socket_allows_views_only(autojump_clock, nursery, tmp_path):
    directory = short_dir()
    config = control_config(tmp_path, directory, readonly_socket=os.path.join(directory, "ro.sock"))
    running = await start(nursery, config)
    client = await Client.connect(os.path.join(directory, "ro.sock"))
    assert stat.S_IMODE(os.stat(os.path.join(directory, "ro.sock")).st_mode) == 0o660
    await client.ok("snapshot")
    await client.ok("tags")
    code, message = await client.error("suspend-group", {"group": "site"})
    assert code == "ReadOnly"
    assert "use the control socket" in message
    assert running.store.suspended_groups() == {}
    await close_clients()


async def test_the_socket_is_0600_and_removed_at_shutdown(autojump_clock, running):
    info = os.stat(running.path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.getuid()
    await running.stop()
    assert not os.path.exists(running.path)


async def test_a_stale_socket_file_is_replaced(autojump_clock, nursery, tmp_path, caplog):
    config = control_config(tmp_path)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(config.monitor.socket)  # bound, never listening, closed: what a crash leaves
    assert os.path.exists(config.monitor.socket)
    caplog.set_level(logging.WARNING)
    running = await start(nursery, config)
    assert "stale file from an earlier run removed" in caplog.text
    client = await Client.connect(running.path)
    assert (await client.ok("status"))["mode"] == "csms"
    await close_clients()


async def test_a_second_instance_is_refused(autojump_clock, running, tmp_path):
    config = control_config(tmp_path / "second", os.path.dirname(running.path))
    second = build_daemon(config, store=Store(config.store.path), monitor=True)
    with pytest.raises(BaseExceptionGroup) as caught:
        await second.run()
    leaves = _leaves(caught.value)
    assert len(leaves) == 1
    assert isinstance(leaves[0], SocketInUse)
    assert isinstance(leaves[0], ListenError)
    assert str(leaves[0]).startswith(f"control socket {running.path} is in use")
    client = await Client.connect(running.path)  # the first one still owns it
    assert (await client.ok("status"))["mode"] == "csms"
    await close_clients()


async def test_a_path_that_is_not_a_socket_is_left_alone(autojump_clock, tmp_path):
    config = control_config(tmp_path)
    with open(config.monitor.socket, "w") as f:
        f.write("precious")
    daemon = build_daemon(config, store=Store(config.store.path), monitor=True)
    with pytest.raises(BaseExceptionGroup) as caught:
        await daemon.run()
    assert "is not a socket" in str(_leaves(caught.value)[0])
    with open(config.monitor.socket) as f:
        assert f.read() == "precious"


async def test_a_slow_consumer_is_dropped_and_nobody_waits_for_it(autojump_clock, nursery, tmp_path, caplog):
    policy = FeedPolicy(max_backlog_bytes=256 * 1024, max_stall_s=15)
    running = await start(nursery, control_config(tmp_path), policy)
    slow = await Client.connect(running.path)
    await slow.ok("subscribe", {"topics": ["state", "logs"], "level": "DEBUG"})
    slow.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    fast = await Client.connect(running.path)
    await fast.ok("subscribe", {"topics": ["state"]})
    await fast.next_push("snapshot")
    noisy = logging.getLogger("balanz.test.noise")
    async with scripted_charger(running.url, "CP1", running.clock) as cp1:
        await cp1.boot()
        for n in range(400):
            noisy.warning("line %d %s", n, "x" * 2000)  # ~800 kB the slow client never reads
        await cp1.status(1, "Preparing")
        began = trio.current_time()
        while True:
            await fast.next_push("delta")
            if fast.snapshot.charger("CP1").connectors[0].status == "Preparing":
                break
        assert trio.current_time() - began <= 0.25
        assert (await cp1.send("Heartbeat", {}))["currentTime"]
    assert "monitor client test dropped: too slow" in caplog.text
    assert (await fast.ok("status"))["monitor_clients"] == 1
    received = 0
    while (data := await slow.stream.receive_some(65536)) != b"":
        received += len(data)
    assert received < 800_000  # what was in the socket buffers, then EOF
    await close_clients()


async def test_a_stuck_consumer_is_dropped_after_the_stall_bound(autojump_clock, nursery, tmp_path, caplog):
    policy = FeedPolicy(max_backlog_bytes=64 * 1024 * 1024, max_stall_s=15)
    running = await start(nursery, control_config(tmp_path), policy)
    stuck = await Client.connect(running.path)
    await stuck.ok("subscribe", {"topics": ["logs"], "level": "DEBUG"})
    for n in range(400):
        logging.getLogger("balanz.test.noise").warning("line %d %s", n, "x" * 2000)
    began = trio.current_time()
    while "dropped: stuck" not in caplog.text:
        await trio.sleep(1)
    assert 15 <= trio.current_time() - began <= 17
    await close_clients()


def test_results_are_json(tmp_path):
    from balanz.control.executor import plain

    assert json.dumps(plain({"t": [tmp_path]})) == json.dumps({"t": [str(tmp_path)]})
