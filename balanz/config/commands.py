"""``balanz check-config`` and ``balanz import-csv``: thin shells around the loader and the converter."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import tomli_w

from balanz.config import csv_import
from balanz.config.defaults import BUILT_IN
from balanz.config.dump import dump_config
from balanz.config.errors import ConfigError, Problem
from balanz.config.loader import LoadedConfig, default_config, load_config

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2


def _print_problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def check_config(args: argparse.Namespace) -> int:
    """Load FILE (positional or -c); print errors, then warnings; 0 ok, 2 errors.

    Without a file it checks the built-in default, because that is what ``balanz run`` without ``-c`` uses.
    """
    if args.file and args.config and args.file != args.config:
        print("balanz check-config: give the file either as FILE or with -c, not both", file=sys.stderr)
        return EXIT_CONFIG
    path = args.file or args.config
    try:
        loaded = load_config(path) if path else LoadedConfig(default_config(), ())
    except ConfigError as exc:
        _print_problems(exc.problems)
        errors = sum(1 for p in exc.problems if p.is_error)
        print(f"{path}: {errors} error(s); balanz would not start with this file", file=sys.stderr)
        return EXIT_CONFIG
    _print_problems(loaded.warnings)
    if args.dump:
        sys.stdout.write(dump_config(loaded.config))
    else:
        print(f"{path or BUILT_IN}: OK ({len(loaded.warnings)} warning(s))")
    return EXIT_OK


def import_csv(args: argparse.Namespace) -> int:
    """Convert groups/chargers/tags/users CSV files to one TOML file; check it loads; 0 ok, 2 problems."""
    imported = csv_import.Imported()
    steps: tuple[tuple[str | None, tuple[str, ...], str, Callable[..., None]], ...] = (
        (args.groups, csv_import.GROUP_COLUMNS, "groups.csv", csv_import.convert_groups),
        (args.chargers, csv_import.CHARGER_COLUMNS, "chargers.csv", csv_import.convert_chargers),
        (args.tags, csv_import.TAG_COLUMNS, "tags.csv", csv_import.convert_tags),
        (args.users, csv_import.USER_COLUMNS, "users.csv", csv_import.convert_users),
    )
    if not any(path for path, *_ in steps):
        print(
            "balanz import-csv: give at least one of --groups, --chargers, --tags, --users", file=sys.stderr
        )
        return EXIT_CONFIG
    for path, columns, name, convert in steps:
        if not path:
            continue
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_CONFIG
        convert(csv_import.read_rows(text, columns, name, imported), imported)
    toml_text = _render(imported)
    if args.output:
        Path(args.output).write_text(toml_text, encoding="utf-8")
    else:
        sys.stdout.write(toml_text)
    if imported.auth_sha:
        auth_path = args.auth_out or (f"{args.output}.auth_sha.csv" if args.output else "auth_sha.csv")
        _write_auth(auth_path, imported.auth_sha)
        imported.notes.append(
            f"{len(imported.auth_sha)} charger credential hash(es) (auth_sha) written to {auth_path}: they "
            "belong in the runtime store, not in the TOML; keep the file private"
        )
    for note in imported.notes:
        print("note: " + note, file=sys.stderr)
    problems = _check_loads(toml_text, args.output)
    _print_problems(problems)
    return EXIT_CONFIG if any(p.is_error for p in problems) else EXIT_OK


def _render(imported: csv_import.Imported) -> str:
    comments = [
        "Converted from the reference CSV model files by `balanz import-csv`.",
        "Chargers and tags without a priority use allocator.default_priority; chargers without",
        "max_current_a use allocator.default_max_allocation_a. Use this file as the main file or include it",
        "from one ([model] include = [...]).",
        *imported.header_comments,
    ]
    header = "".join(f"# {line}\n" for line in comments)
    return header + "\n" + tomli_w.dumps(_ordered(imported.document))


def _ordered(document: Mapping[str, object]) -> dict[str, object]:
    return {kind: document[kind] for kind in ("group", "charger", "tag") if kind in document}


def _write_auth(path: str, rows: list[tuple[str, str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["charger_id", "auth_sha"])
        writer.writerows(rows)


def _check_loads(toml_text: str, output: str | None) -> tuple[Problem, ...]:
    """Load the result the way balanz would; problems are reported against the output's name."""
    if output:
        target = output
    else:
        handle, target = tempfile.mkstemp(suffix=".toml", prefix="balanz-import-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(toml_text)
    try:
        problems = load_config(target).warnings
    except ConfigError as exc:
        problems = exc.problems
    finally:
        if not output:
            os.unlink(target)
    return tuple(replace(p, file="<output>") if p.file == target else p for p in problems)
