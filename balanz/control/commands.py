"""``balanz status`` and ``balanz ctl``: one request to the running daemon, printed, then exit.

Exit status: 0 done, 1 the daemon refused or could not be reached, 2 the command line is wrong (checked
against the command table before anything is sent, so a typo never reaches the daemon).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from balanz.control.client import BlockingClient, ConnectionLost, RequestFailed
from balanz.control.codec import DecodeError
from balanz.control.protocol import ProtocolError
from balanz.control.report import status_text
from balanz.control.requests import parse_argv, usage, validate
from balanz.control.snapshot import Snapshot
from balanz.control.socket_path import SocketPathError, socket_path

logger = logging.getLogger(__name__)


def add_socket_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket",
        metavar="PATH",
        help="the daemon's control socket (default: monitor.socket of the configuration)",
    )


def add_timeout_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for a reply"
    )


def status(args: argparse.Namespace) -> int:
    try:
        path = socket_path(args.config, args.socket)
        with BlockingClient(path, timeout=args.timeout, client="balanz-status") as client:
            data = client.request("snapshot")
        snapshot = Snapshot.from_json(data)
    except SocketPathError as exc:
        return _fail("status", str(exc), 2)
    except (ConnectionLost, RequestFailed, ProtocolError, DecodeError) as exc:
        return _fail("status", str(exc), 1)
    if args.json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(status_text(snapshot) + "\n")
    return 0


def ctl(args: argparse.Namespace) -> int:
    words: list[str] = list(args.words)
    if not words or words[0] in ("help", "-h", "--help"):
        sys.stdout.write("usage: balanz ctl [-c FILE | --socket PATH] COMMAND [ARGS...]\n\n" + usage() + "\n")
        return 0 if words else 2
    try:
        cmd, raw = parse_argv(words)
        request_args = {k: v for k, v in validate(cmd, raw).items() if v is not None}
    except ProtocolError as exc:
        return _fail("ctl", exc.message, 2)
    try:
        path = socket_path(args.config, args.socket)
        with BlockingClient(path, timeout=args.timeout, client="balanz-ctl") as client:
            result = client.request(cmd, request_args)
    except SocketPathError as exc:
        return _fail("ctl", str(exc), 2)
    except (ConnectionLost, RequestFailed, ProtocolError) as exc:
        return _fail("ctl", str(exc), 1)
    _print_result(result)
    return 0


def _print_result(result: Any) -> None:
    if result is None or result == {}:
        sys.stdout.write("ok\n")
    elif isinstance(result, str):
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    else:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")


def _fail(command: str, message: str, code: int) -> int:
    print(f"balanz {command}: {message}", file=sys.stderr)
    return code
