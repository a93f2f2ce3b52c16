"""Opening the control socket costs no virtual time: trio binds unix sockets in a worker thread, and while a
thread works autojump runs every pending timer ahead (the allocator's among them), which made daemon
start-up in tests take from seconds to hours of virtual time."""

import os
import stat

import trio

from balanz.control.listener import open_unix_listener
from tests.control.fake_daemon import short_socket_path


async def test_binding_the_control_socket_does_not_let_virtual_time_run(autojump_clock):
    async def timer() -> None:
        await trio.sleep(60)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(timer)
        path = short_socket_path()
        before = trio.current_time()
        listener = await open_unix_listener(path)
        assert trio.current_time() == before
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        await listener.aclose()
        nursery.cancel_scope.cancel()
