"""Convert the earlier design's CSV model files into balanz TOML (model.md §9, "Migration").

Pure functions over rows; ``commands.import_csv`` does the file handling. Differences in meaning are
reported as notes rather than hidden: a blank tag status becomes Blocked (that is how the reference read
it), charger credential hashes cannot live in the TOML and go to a side file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP_COLUMNS = ("group_id", "description", "max_allocation")
CHARGER_COLUMNS = (
    "charger_id",
    "alias",
    "group_id",
    "no_connectors",
    "priority",
    "description",
    "conn_max",
    "auth_sha",
)
TAG_COLUMNS = ("id_tag", "user_name", "parent_id_tag", "description", "status", "priority")
USER_COLUMNS = ("user_id", "user_type", "description", "auth_sha")


@dataclass
class Imported:
    """The TOML document to write, notes for the operator, and the credential hashes kept out of it."""

    document: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    auth_sha: list[tuple[str, str]] = field(default_factory=list)
    header_comments: list[str] = field(default_factory=list)


def read_rows(text: str, columns: tuple[str, ...], name: str, imported: Imported) -> list[dict[str, str]]:
    """Rows as dicts with stripped cells; missing expected columns are a note and read as blank."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    missing = [c for c in columns if c not in header]
    if missing:
        imported.notes.append(f"{name}: missing column(s) {', '.join(missing)}; read as blank")
    rows = []
    for raw in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in raw.items()})
    return rows


def _int(cell: str, where: str, imported: Imported) -> int | None:
    if not cell:
        return None
    try:
        number = float(cell)
    except ValueError:
        imported.notes.append(f"{where}: not a number, left out; got {cell!r}")
        return None
    if not math.isfinite(number):
        imported.notes.append(f"{where}: not a number, left out; got {cell!r}")
        return None
    if number != int(number):
        imported.notes.append(f"{where}: {cell} is not a whole number, rounded down to {int(number)}")
    return int(number)


def _copy_text(row: Mapping[str, str], column: str, into: dict[str, Any], key: str) -> None:
    """Blank cells are left out, so the TOML default applies."""
    if row.get(column):
        into[key] = row[column]


def _copy_int(
    row: Mapping[str, str], column: str, into: dict[str, Any], key: str, where: str, imported: Imported
) -> None:
    number = _int(row.get(column, ""), f"{where} {column}", imported)
    if number is not None:
        into[key] = number


def convert_groups(rows: Iterable[Mapping[str, str]], imported: Imported) -> None:
    groups = []
    for n, row in enumerate(rows, start=2):
        group: dict[str, Any] = {"id": row.get("group_id", "")}
        _copy_text(row, "description", group, "description")
        if row.get("max_allocation"):
            group["max_allocation"] = row["max_allocation"]
        else:
            imported.notes.append(
                f"groups.csv line {n}: group {group['id']!r} has no max_allocation: not an allocation group "
                "(its chargers are not smart-charged)"
            )
        groups.append(group)
    imported.document["group"] = groups


def convert_chargers(rows: Iterable[Mapping[str, str]], imported: Imported) -> None:
    chargers = []
    for n, row in enumerate(rows, start=2):
        where = f"chargers.csv line {n}"
        charger_id = row.get("charger_id", "")
        charger: dict[str, Any] = {"id": charger_id, "group": row.get("group_id", "")}
        alias = row.get("alias", "")
        if alias and alias != charger_id:
            charger["alias"] = alias
        connectors = _int(row.get("no_connectors", ""), f"{where} no_connectors", imported)
        if connectors is not None and connectors != 1:
            charger["connectors"] = connectors
        _copy_int(row, "conn_max", charger, "max_current_a", where, imported)
        _copy_int(row, "priority", charger, "priority", where, imported)
        _copy_text(row, "description", charger, "description")
        if row.get("auth_sha"):
            imported.auth_sha.append((charger_id, row["auth_sha"]))
        chargers.append(charger)
    imported.document["charger"] = chargers


def convert_tags(rows: Iterable[Mapping[str, str]], imported: Imported) -> None:
    tags = []
    for n, row in enumerate(rows, start=2):
        where = f"tags.csv line {n}"
        tag: dict[str, Any] = {"id": row.get("id_tag", "").upper()}
        _copy_text(row, "user_name", tag, "user")
        if row.get("parent_id_tag"):
            tag["parent"] = row["parent_id_tag"].upper()
        status = row.get("status", "")
        if status == "Blocked":
            tag["status"] = "Blocked"
        elif status != "Activated":
            tag["status"] = "Blocked"
            shown = "blank" if not status else f"{status!r}"
            imported.notes.append(
                f"{where}: tag {tag['id']!r} has status {shown}; written as Blocked (the reference treated "
                "anything but Activated as Blocked)"
            )
        _copy_int(row, "priority", tag, "priority", where, imported)
        _copy_text(row, "description", tag, "description")
        tags.append(tag)
    imported.document["tag"] = tags


def convert_users(rows: Iterable[Mapping[str, str]], imported: Imported) -> None:
    users = [f"{row.get('user_id', '')} ({row.get('user_type', '')})" for row in rows]
    imported.header_comments += [
        f"users.csv listed {len(users)} API user(s): {', '.join(users) or 'none'}.",
        "balanz has no users: access to the monitor is controlled by the permissions of its Unix sockets",
        "(monitor.socket, monitor.readonly_socket, monitor.readonly_group; model.md §4.2).",
    ]
