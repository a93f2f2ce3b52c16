"""The tags screen (key ``t``): who may charge, at which priority, until when — and the two changes an
operator makes on the spot: add a tag, block (or unblock) one.

Read on demand with ``tags`` like the session history, and read again after each change, so what is shown is
what the daemon's store now says, not what the monitor assumes it did.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from balanz.control.client import AsyncClient, ConnectionLost, RequestFailed
from balanz.control.codec import DecodeError
from balanz.control.results import TagRow, tags_from_result
from balanz.tui.format import UNKNOWN, parse_time

logger = logging.getLogger(__name__)

COLUMNS = ("Tag", "User", "Status", "Parent", "Prio", "Expires", "Origin")
BLOCKED = "Blocked"


def tag_cells(row: TagRow) -> tuple[str, ...]:
    expires = parse_time(row.expires)
    return (
        row.id,
        row.user,
        row.status,
        row.parent or "",
        UNKNOWN if row.priority is None else str(row.priority),
        expires.strftime("%Y-%m-%d %H:%M") if expires else "",
        row.origin,
    )


def add_args(id_tag: str, user: str, priority: str) -> dict[str, Any]:
    """The ``tag-add`` arguments from the form; ``ValueError`` names the field that is wrong."""
    id_tag = id_tag.strip()
    if not id_tag:
        raise ValueError("the tag id is empty")
    args: dict[str, Any] = {"id_tag": id_tag}
    if user.strip():
        args["user"] = user.strip()
    if priority.strip():
        try:
            args["priority"] = int(priority)
        except ValueError:
            raise ValueError(f"priority must be a whole number, not {priority!r}") from None
    return args


class TagsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("t", "close", "Close"),
        Binding("b", "block", "Block/unblock"),
        Binding("a", "add", "Add tag"),
    ]

    def __init__(self, client: AsyncClient | None) -> None:
        super().__init__()
        self.client = client
        self.heading = Static("tags: asking the daemon …", id="tags-title")
        self.table: DataTable[Text] = DataTable(id="tags-table", cursor_type="row", zebra_stripes=True)
        self.rows: dict[str, TagRow] = {}
        self.form = Horizontal(id="tag-form")
        self.new_id = Input(placeholder="idTag", id="tag-id")
        self.new_user = Input(placeholder="user", id="tag-user")
        self.new_priority = Input(placeholder="priority", id="tag-priority")

    def compose(self) -> ComposeResult:
        with Vertical(id="tags"):
            yield self.heading
            yield self.table
            with self.form:
                yield self.new_id
                yield self.new_user
                yield self.new_priority
            yield Static(
                "b block/unblock · a add (enter to save, escape to cancel) · t close", id="tags-keys"
            )

    def on_mount(self) -> None:
        self.table.add_columns(*COLUMNS)
        self.form.display = False
        self.table.focus()
        self.run_worker(self._load(), group="tags", exclusive=True)

    async def _load(self) -> None:
        if self.client is None:
            self.heading.update(Text("tags: not connected", style="bold red"))
            return
        try:
            rows = tags_from_result(await self.client.request("tags"))
        except (RequestFailed, ConnectionLost, DecodeError) as exc:
            self.heading.update(Text(f"tags: {exc}", style="bold red"))
            return
        self.show(rows)

    def show(self, rows: tuple[TagRow, ...]) -> None:
        keep = self.selected()
        self.rows = {row.id: row for row in rows}
        self.table.clear()
        for row in rows:
            style = "red" if row.status == BLOCKED else ""
            self.table.add_row(*(Text(cell, style=style) for cell in tag_cells(row)), key=row.id)
        if keep in self.rows:
            self.table.move_cursor(row=self.table.get_row_index(keep), animate=False)
        blocked = sum(1 for row in rows if row.status == BLOCKED)
        self.heading.update(Text(f"tags: {len(rows)}, {blocked} blocked", style="bold"))

    def selected(self) -> str | None:
        if not self.table.row_count:
            return None
        try:
            key = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        except Exception:  # the cursor may point past the last row while rows are being replaced
            return None
        return key

    def action_block(self) -> None:
        if self.form.display:
            return
        tag = self.rows.get(self.selected() or "")
        if tag is None:
            self.notify("no tag selected", severity="warning")
            return
        cmd = "tag-unblock" if tag.status == BLOCKED else "tag-block"
        self._change(
            cmd, {"id_tag": tag.id}, f"tag {tag.id} {'unblocked' if cmd == 'tag-unblock' else 'blocked'}"
        )

    def action_add(self) -> None:
        self.form.display = True
        self.new_id.focus()

    def action_close(self) -> None:
        if self.form.display:
            self._close_form()
            return
        self.dismiss(None)

    def _close_form(self) -> None:
        for field in (self.new_id, self.new_user, self.new_priority):
            field.value = ""
        self.form.display = False
        self.table.focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        try:
            args = add_args(self.new_id.value, self.new_user.value, self.new_priority.value)
        except ValueError as exc:
            self.notify(f"tag add: {exc}", severity="error")
            return
        self._close_form()
        self._change("tag-add", args, f"tag {args['id_tag']} added")

    def _change(self, cmd: str, args: dict[str, Any], done: str) -> None:
        self.run_worker(self._send(cmd, args, done), group="tag-change")

    async def _send(self, cmd: str, args: dict[str, Any], done: str) -> None:
        if self.client is None:
            self.notify(f"{cmd}: not connected to the daemon", severity="error")
            return
        try:
            await self.client.request(cmd, args)
        except RequestFailed as exc:
            self.notify(f"{cmd}: {exc.code}: {exc.message}", severity="error", timeout=6)
            return
        except ConnectionLost as exc:
            self.notify(f"{cmd}: connection lost ({exc})", severity="error")
            return
        self.notify(done, timeout=3)
        await self._load()
