"""``balanz monitor``: find the socket, start the Textual app, exit with its return code."""

from __future__ import annotations

import argparse
import logging
import sys

from balanz.control.socket_path import SocketPathError, socket_path

logger = logging.getLogger(__name__)


def monitor(args: argparse.Namespace) -> int:
    try:
        path = socket_path(args.config, args.socket)
    except SocketPathError as exc:
        print(f"balanz monitor: {exc}", file=sys.stderr)
        return 2
    from balanz.tui.app import MonitorApp

    result = MonitorApp(path).run()
    return result or 0
