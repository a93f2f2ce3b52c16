"""Where console commands come from: the terminal (stdin) or a local Unix socket.

The socket lets an installer poke a simulation running in the background (`socat - UNIX-CONNECT:PATH`).
It is created with mode 0600 so only its owner can drive the site, a stale socket left by a crashed run is
replaced, and one still answering is refused rather than stolen. Both read whole lines without threads
(trio streams), so the console also runs under the tests' virtual clock.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import IO

import trio

from balanz.control.listener import bind_unix
from balanz.sim.console import CommandError, execute, parse_command
from balanz.sim.runner import Companion, SiteRun

logger = logging.getLogger(__name__)

MAX_LINE = 1024
MAX_SOCKET_PATH = 107
"""Bytes of a Unix socket path Linux accepts (sun_path is 108 with the terminating NUL)."""


class ConsoleSocketError(Exception):
    """The console socket cannot be created; the message names the path and what to do."""


def answer(run: SiteRun, line: str | None) -> str | None:
    """The reply to one typed line (None: nothing to say, e.g. a blank line); errors start with "error:"."""
    if line is None:
        return f"error: line longer than {MAX_LINE} bytes"
    try:
        command = parse_command(line)
        return None if command is None else execute(run, command)
    except CommandError as exc:
        return f"error: {exc}"


async def read_lines(stream: trio.abc.ReceiveStream) -> AsyncIterator[str | None]:
    """Lines without their newline; None for a line longer than `MAX_LINE` (it is skipped)."""
    buffer, overlong = b"", False
    while True:
        chunk = await stream.receive_some(4096)
        if not chunk:
            if buffer and not overlong:
                yield buffer.decode("utf-8", errors="replace")
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield None if overlong or len(line) > MAX_LINE else line.decode("utf-8", errors="replace")
            overlong = False
        if len(buffer) > MAX_LINE:
            buffer, overlong = b"", True


def stream_console(open_stream: Callable[[], trio.abc.ReceiveStream], out: IO[str]) -> Companion:
    """Commands from a stream (stdin in the CLI), replies to `out`; at end of input the console stops and
    the simulation goes on."""

    async def serve(run: SiteRun) -> None:
        async with open_stream() as stream:
            async for line in read_lines(stream):
                reply = answer(run, line)
                if reply:
                    out.write(reply + "\n")
                    out.flush()

    return serve


def stdin_stream() -> trio.abc.ReceiveStream:
    return trio.lowlevel.FdStream(os.dup(0))


async def open_console_socket(path: str) -> trio.SocketListener:
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ConsoleSocketError(
            f"--console-socket {path}: {len(os.fsencode(path))} bytes, longer than the {MAX_SOCKET_PATH} a "
            "Unix socket path may have; choose a shorter one, e.g. /tmp/balanz-sim.sock"
        )
    await _remove_stale(path)
    try:
        sock = bind_unix(path, 0o600)
    except OSError as exc:
        raise ConsoleSocketError(
            f"--console-socket {path}: cannot create it: {exc.strerror or exc}"
        ) from None
    os.chmod(path, 0o600)
    sock.listen()
    return trio.SocketListener(sock)


async def _remove_stale(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConsoleSocketError(
            f"--console-socket {path}: exists and is not a socket; remove it or pick another"
        )
    probe = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await probe.connect(path)
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise ConsoleSocketError(f"--console-socket {path}: {exc.strerror or exc}") from None
        logger.info("removing stale console socket %s", path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    finally:
        probe.close()
    raise ConsoleSocketError(
        f"--console-socket {path}: another simulation is listening there; pick another path"
    )


def socket_console(listener: trio.SocketListener, path: str) -> Companion:
    """Serves every client of `listener` until the run ends, then removes the socket file."""

    async def serve(run: SiteRun) -> None:
        try:
            await trio.serve_listeners(partial(_client, run), [listener])
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    return serve


async def _client(run: SiteRun, stream: trio.SocketStream) -> None:
    async with stream:
        try:
            async for line in read_lines(stream):
                reply = answer(run, line)
                if reply:
                    await stream.send_all((reply + "\n").encode())
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            logger.debug("console client went away")
