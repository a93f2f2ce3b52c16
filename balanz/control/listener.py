"""The control socket's listening end: 0600 from the first instant, stale files from a crash replaced, and a
running instance never displaced (trio has no unix listener helper; stack.md §5).

Whether a socket file is stale is decided by connecting to it: if something answers, another daemon owns it
and this one must not start (two daemons on one site would both command the chargers); if nothing answers,
it is left over from a crash and is replaced.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import stat

import trio

from balanz.server import ListenError

logger = logging.getLogger(__name__)


class SocketInUse(ListenError):
    """Another process answers on the control socket (or the path is not a socket)."""


def bind_unix(path: str, mode: int) -> trio.socket.SocketType:
    """A unix stream socket bound at ``path``, created with ``mode`` from the first instant.

    Bound synchronously: trio binds a unix socket in a worker thread, during which the umask would apply to
    whatever else the process creates and a virtual clock (tests) runs every pending timer ahead. A bind is
    one quick filesystem operation.
    """
    plain = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o777 & ~mode)
    try:
        plain.bind(path)
    except OSError:
        plain.close()
        raise
    finally:
        os.umask(old)
    return trio.socket.from_stdlib_socket(plain)


async def open_unix_listener(path: str, mode: int = 0o600, group: str = "") -> trio.SocketListener:
    await _clear_stale(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    try:
        sock = bind_unix(path, mode)
    except OSError as exc:
        raise ListenError(f"control socket {path}: cannot bind: {exc.strerror or exc}") from None
    try:
        if group:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)
    except (KeyError, OSError) as exc:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise ListenError(
            f"control socket {path}: cannot set group {group!r} / mode {mode:o}: {exc}"
        ) from None
    sock.listen(64)
    return trio.SocketListener(sock)


async def _clear_stale(path: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketInUse(
            f"control socket {path}: the path exists and is not a socket; remove it or set monitor.socket"
        )
    try:
        stream = await trio.open_unix_socket(path)
    except OSError:
        logger.warning("control socket %s: stale file from an earlier run removed", path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    await stream.aclose()
    raise SocketInUse(
        f"control socket {path} is in use: another balanz is running on it; stop that one or set "
        "monitor.socket to another path"
    )


def unlink_if_ours(path: str, inode: int) -> None:
    """Remove the socket at shutdown unless another process has since replaced it."""
    with contextlib.suppress(FileNotFoundError):
        if os.lstat(path).st_ino == inode:
            os.unlink(path)
