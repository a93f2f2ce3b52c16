"""The top line: which site, which mode, and whether the monitor is looking at live data at all.

An operator must never mistake a frozen picture for a live one, so the connection state comes first (it is
never cut off on a narrow terminal) and turns red while the daemon is unreachable; the time shown is the
snapshot's, so a stale picture also shows a stale time.
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from balanz.control.snapshot import Site
from balanz.tui.format import parse_time

logger = logging.getLogger(__name__)


class SiteHeader(Widget):
    mode: reactive[str] = reactive("")
    site: reactive[str] = reactive("")
    at: reactive[str] = reactive("")
    upstream: reactive[str] = reactive("")
    upstream_down: reactive[bool] = reactive(False)
    warnings: reactive[int] = reactive(0)
    connection: reactive[str] = reactive("connecting")
    online: reactive[bool] = reactive(False)

    def show_site(self, site: Site, at: str) -> None:
        parsed = parse_time(at)
        self.mode, self.site = site.mode, site.name
        self.at = parsed.strftime("%H:%M:%S") if parsed else ""
        self.warnings = len(site.warnings)
        up = site.upstream
        self.upstream = "" if up is None else f"upstream {up.legs_up}↑ {up.legs_down}↓ outbox {up.outbox}"
        self.upstream_down = up is not None and up.legs_down > 0

    def render(self) -> Text:
        text = Text(" balanz ", style="bold")
        text.append(self.connection, style="bold green" if self.online else "bold red")
        text.append(" ")
        if self.mode:
            text.append(f"· {self.mode.upper()} ")
        if self.site:
            text.append(f"· {self.site} ")
        if self.upstream:
            text.append(f"· {self.upstream} ", style="bold yellow" if self.upstream_down else "")
        if self.warnings:
            text.append(f"· {self.warnings} warning{'s' if self.warnings > 1 else ''} ", style="yellow")
        if self.at:
            text.append(f"· {self.at}", style="dim")
        return text
