"""The top line: which site, which mode, and whether the monitor is looking at live data at all.

An operator must never mistake a frozen picture for a live one, so the connection state sits next to the
site name and turns red while the daemon is unreachable.
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

logger = logging.getLogger(__name__)


class SiteHeader(Widget):
    mode: reactive[str] = reactive("")
    site: reactive[str] = reactive("")
    at: reactive[str] = reactive("")
    connection: reactive[str] = reactive("connecting")
    online: reactive[bool] = reactive(False)

    def render(self) -> Text:
        text = Text(" balanz ", style="bold")
        if self.mode:
            text.append(f"· {self.mode.upper()} ")
        if self.site:
            text.append(f"· {self.site} ")
        if self.at:
            text.append(f"· {self.at} ", style="dim")
        text.append("· ")
        text.append(self.connection, style="bold green" if self.online else "bold red")
        return text
