"""The ``balanz`` command line.

argparse (stdlib) rather than a CLI library: the command set is small, every subcommand shares ``-c FILE``,
and one dependency fewer matters for a daemon installed on site controllers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from balanz import __version__

Handler = Callable[[argparse.Namespace], int]


def _add_config_flag(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        required=required,
        help="site configuration (TOML); without it the built-in default configuration is used",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from balanz.daemon import main_run

    return main_run(args)


def _cmd_check_config(args: argparse.Namespace) -> int:
    from balanz.config.commands import check_config

    return check_config(args)


def _cmd_import_csv(args: argparse.Namespace) -> int:
    from balanz.config.commands import import_csv

    return import_csv(args)


def _cmd_monitor(args: argparse.Namespace) -> int:
    from balanz.tui.commands import monitor

    return monitor(args)


def _cmd_status(args: argparse.Namespace) -> int:
    from balanz.control.commands import status

    return status(args)


def _cmd_ctl(args: argparse.Namespace) -> int:
    from balanz.control.commands import ctl

    return ctl(args)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from balanz.sim.commands import simulate

    return simulate(args)


def _add_control_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from balanz.control.commands import add_socket_flag, add_timeout_flag

    mon = sub.add_parser("monitor", help="live dashboard attached to a running daemon")
    _add_config_flag(mon)
    add_socket_flag(mon)
    mon.set_defaults(handler=_cmd_monitor)

    stat = sub.add_parser("status", help="print one snapshot of a running daemon")
    _add_config_flag(stat)
    add_socket_flag(stat)
    add_timeout_flag(stat)
    stat.add_argument("--json", action="store_true", help="the whole snapshot as JSON")
    stat.set_defaults(handler=_cmd_status)

    ctl = sub.add_parser("ctl", help="send one command to a running daemon ('balanz ctl help' lists them)")
    _add_config_flag(ctl)
    add_socket_flag(ctl)
    add_timeout_flag(ctl)
    ctl.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS...]")
    ctl.set_defaults(handler=_cmd_ctl)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="balanz",
        description="OCPP 1.6J smart-charging server: shares one electrical supply between EV chargers.",
    )
    parser.add_argument("--version", action="version", version=f"balanz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run the daemon")
    _add_config_flag(run)
    run.add_argument("--host", help="listen address (overrides server.host)")
    run.add_argument("--port", type=int, help="listen port (overrides server.port)")
    run.add_argument(
        "--data-dir",
        metavar="DIR",
        help="directory for the store and the monitor socket (overrides their directories)",
    )
    run.set_defaults(handler=_cmd_run)

    check = sub.add_parser("check-config", help="validate a configuration file and print all problems")
    check.add_argument(
        "file", metavar="FILE", nargs="?", help="the TOML file to check (default: -c FILE or ./balanz.toml)"
    )
    _add_config_flag(check)
    check.add_argument(
        "--dump", action="store_true", help="print the effective configuration, defaults filled in"
    )
    check.set_defaults(handler=_cmd_check_config)

    imp = sub.add_parser("import-csv", help="convert the earlier design's CSV model files to TOML")
    imp.add_argument("--groups", metavar="CSV", help="groups.csv")
    imp.add_argument("--chargers", metavar="CSV", help="chargers.csv")
    imp.add_argument("--tags", metavar="CSV", help="tags.csv")
    imp.add_argument("--users", metavar="CSV", help="users.csv (becomes a note)")
    imp.add_argument("-o", "--output", metavar="FILE", help="write TOML here instead of stdout")
    imp.add_argument(
        "--auth-out",
        metavar="FILE",
        help="where chargers' auth_sha values go (default: OUTPUT.auth_sha.csv, or ./auth_sha.csv)",
    )
    imp.set_defaults(handler=_cmd_import_csv)

    _add_control_parsers(sub)
    from balanz.sim.commands import add_simulate_parser

    add_simulate_parser(sub, _add_config_flag, _cmd_simulate)

    from balanz.store.commands import add_sessions_parser

    add_sessions_parser(sub, _add_config_flag)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
