"""Session history of the selected charger (key ``h``): what was charged, by whom, and why it ended.

Asked for when opened (``sessions`` request, read-only), not streamed: history does not change while one
looks at it, and a site's full history can be large.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from balanz.control.client import AsyncClient, ConnectionLost, RequestFailed
from balanz.control.codec import DecodeError
from balanz.control.results import SessionRow, sessions_from_result
from balanz.tui.format import UNKNOWN, duration, parse_time

logger = logging.getLogger(__name__)

LIMIT = 200
COLUMNS = ("Start", "#", "Tag", "User", "Duration", "kWh", "Max A", "Stop reason")


class SessionsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("h", "close", "Close"),
        Binding("q", "close", "Close"),
    ]

    def __init__(self, client: AsyncClient | None, charger_id: str, name: str) -> None:
        super().__init__()
        self.client = client
        self.charger_id = charger_id
        self.charger_name = name
        self.heading = Static(f"sessions of {name}: asking the daemon …", id="sessions-title")
        self.table: DataTable[Text] = DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        self.rows: tuple[SessionRow, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions"):
            yield self.heading
            yield self.table

    def on_mount(self) -> None:
        self.table.add_columns(*COLUMNS)
        self.table.focus()
        self.run_worker(self._load(), exclusive=True)

    async def _load(self) -> None:
        if self.client is None:
            self.heading.update(Text(f"sessions of {self.charger_name}: not connected", style="bold red"))
            return
        try:
            result = await self.client.request("sessions", {"charger": self.charger_id, "limit": LIMIT})
            self.rows = sessions_from_result(result)
        except (RequestFailed, ConnectionLost, DecodeError) as exc:
            self.heading.update(Text(f"sessions of {self.charger_name}: {exc}", style="bold red"))
            return
        total = sum(r.energy_wh or 0.0 for r in self.rows) / 1000
        more = f" (latest {LIMIT})" if len(self.rows) >= LIMIT else ""
        self.heading.update(
            Text(f"sessions of {self.charger_name}: {len(self.rows)}{more}, {total:.1f} kWh", style="bold")
        )
        for row in self.rows:
            self.table.add_row(*(Text(cell) for cell in session_cells(row)), key=row.session_id)

    def action_close(self) -> None:
        self.dismiss(None)


def session_cells(row: SessionRow) -> tuple[str, ...]:
    start = parse_time(row.start_time)
    return (
        start.strftime("%Y-%m-%d %H:%M") if start else UNKNOWN,
        str(row.connector_id),
        row.id_tag,
        row.user_name,
        UNKNOWN if row.duration_s is None else duration(int(row.duration_s)),
        UNKNOWN if row.energy_wh is None else f"{row.energy_wh / 1000:.2f}",
        UNKNOWN if row.max_offer_a is None else f"{row.max_offer_a:.1f}",
        row.stop_reason,
    )
