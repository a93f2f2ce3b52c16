"""The event log: allocator decisions, profile answers, audit lines, log lines and replies to the operator."""

from __future__ import annotations

import logging

from rich.text import Text
from textual.widgets import RichLog

from balanz.control.protocol import Event, LogLine
from balanz.tui.format import clock

logger = logging.getLogger(__name__)

_LEVEL_STYLE = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}


class EventLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=1000, wrap=False, markup=False, auto_scroll=True)

    def add_event(self, event: Event) -> None:
        where = event.charger + (f"/{event.connector}" if event.connector is not None else "")
        where = where or event.group
        rule = f" [{event.rule}]" if event.rule else ""
        self.write(Text(f"{clock(event.at)} {event.kind:<10} {where} {event.text}{rule}"))

    def add_log(self, line: LogLine) -> None:
        style = _LEVEL_STYLE.get(line.level, "dim")
        self.write(Text(f"{clock(line.at)} {line.level:<8} {line.logger}: {line.message}", style=style))

    def add_note(self, text: str, error: bool = False) -> None:
        self.write(Text(text, style="bold red" if error else "cyan"))
