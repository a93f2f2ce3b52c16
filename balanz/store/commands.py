"""`balanz sessions list|export|backup`: read the store of a (possibly running) daemon.

These commands open their own read-only connection to the file named by `store.path` (or `--store`), so
they need neither the control socket nor a stopped daemon.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from balanz.sessions import SessionRecord
from balanz.store.errors import StoreError
from balanz.store.session_log import SessionFilter


def _bound(upper: bool) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        from balanz.store.export import parse_bound

        try:
            return parse_bound(text, upper=upper)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def _add_common(
    parser: argparse.ArgumentParser, add_config_flag: Callable[[argparse.ArgumentParser], None]
) -> None:
    add_config_flag(parser)
    parser.add_argument(
        "--store", metavar="FILE", help="read this database instead of the config's store.path"
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=_bound(False), metavar="WHEN", help="sessions started at/after (UTC date or RFC 3339)"
    )
    parser.add_argument(
        "--until", type=_bound(True), metavar="WHEN", help="sessions started before; a date includes that day"
    )
    parser.add_argument("--tag", metavar="ID_TAG", help="sessions started with this tag")
    parser.add_argument("--charger", metavar="ID", help="charger id or alias")
    parser.add_argument("--group", metavar="ID", help="group id (as at session end)")


def add_sessions_parser(sub: Any, add_config_flag: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `sessions` and its subcommands on the top-level subparsers of `balanz.cli`."""
    sessions = sub.add_parser("sessions", help="list, export or back up completed charging sessions")
    actions = sessions.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="print sessions as a table")
    _add_common(listing, add_config_flag)
    _add_filters(listing)
    listing.add_argument("--limit", type=int, metavar="N", help="only the N most recent sessions")
    listing.set_defaults(handler=cmd_list)

    export = actions.add_parser("export", help="write sessions as CSV or JSON Lines")
    _add_common(export, add_config_flag)
    _add_filters(export)
    export.add_argument(
        "--format",
        choices=("csv", "json", "jsonl"),
        default="csv",
        help="csv (default), or json = JSON Lines",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    export.set_defaults(handler=cmd_export)

    backup = actions.add_parser("backup", help="consistent copy of the whole store, safe while balanz runs")
    _add_common(backup, add_config_flag)
    backup.add_argument("-o", "--output", metavar="FILE", required=True, help="the backup file to write")
    backup.set_defaults(handler=cmd_backup)


def config_store_path(config_file: str | None) -> Path:
    """`store.path` of the config (relative to the config file), or of the default configuration."""
    from balanz.config.loader import default_config, load_config

    config = load_config(Path(config_file)).config if config_file else default_config()
    path = Path(config.store.path)
    if not path.is_absolute() and config.source is not None:
        path = Path(config.source).parent / path
    return path


def _filter(args: argparse.Namespace, limit: int | None = None) -> SessionFilter:
    return SessionFilter(
        since=args.since,
        until=args.until,
        id_tag=args.tag,
        charger=args.charger,
        group_id=args.group,
        limit=limit,
    )


def _run(args: argparse.Namespace, action: Callable[[Path], int]) -> int:
    """Resolve the store (`--store`, else the config) and report failures as readable lines: exit 1 for
    the store, 2 for configuration problems."""
    if args.store:
        path = Path(args.store)
    else:
        from balanz.config.loader import ConfigError

        try:
            path = config_store_path(args.config)
        except ConfigError as exc:
            for problem in getattr(exc, "problems", None) or (str(exc),):
                print(problem, file=sys.stderr)
            return 2
    try:
        return action(path)
    except StoreError as exc:
        print(f"balanz sessions: {exc}", file=sys.stderr)
        return 1


def cmd_export(args: argparse.Namespace) -> int:
    from balanz.store.export import export_sessions

    fmt = "csv" if args.format == "csv" else "jsonl"

    def action(path: Path) -> int:
        if not args.output:
            export_sessions(path, _filter(args), fmt, sys.stdout)
            return 0
        target = Path(args.output)
        partial = target.with_name(target.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = export_sessions(path, _filter(args), fmt, out)
        partial.replace(target)
        print(f"{count} sessions written to {target}", file=sys.stderr)
        return 0

    return _run(args, action)


def cmd_list(args: argparse.Namespace) -> int:
    from balanz.store.export import read_sessions

    def action(path: Path) -> int:
        print_table(read_sessions(path, _filter(args, args.limit)), sys.stdout)
        return 0

    return _run(args, action)


def cmd_backup(args: argparse.Namespace) -> int:
    from balanz.store.db import open_read_only
    from balanz.store.store import backup_to

    def action(path: Path) -> int:
        conn = open_read_only(path)
        try:
            backup_to(conn, path, Path(args.output))
        finally:
            conn.close()
        print(f"store {path} backed up to {args.output}", file=sys.stderr)
        return 0

    return _run(args, action)


_TABLE = ("start (UTC)", "charger", "conn", "tag", "user", "duration", "kWh", "reason", "flags")


def table_rows(records: Sequence[SessionRecord]) -> list[tuple[str, ...]]:
    from balanz.store.export import format_duration
    from balanz.store.timefmt import format_seconds

    return [
        (
            format_seconds(r.start_time)[:16].replace("T", " "),
            r.alias or r.charger_id,
            str(r.connector_id),
            r.id_tag,
            r.user_name,
            format_duration(r.duration_s),
            "" if r.energy_wh is None else f"{r.energy_wh / 1000:.3f}",
            r.stop_reason,
            ",".join(sorted(r.flags)),
        )
        for r in records
    ]


def print_table(records: Sequence[SessionRecord], out: TextIO) -> None:
    rows = [_TABLE, *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE))]
    right = {2, 5, 6}
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    total = sum(r.energy_wh for r in records if r.energy_wh is not None)
    out.write(f"{len(records)} sessions, {total / 1000:.3f} kWh\n")
