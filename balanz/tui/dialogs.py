"""Modal screens: the yes/no question before an action that interrupts charging, and the help screen."""

from __future__ import annotations

import logging
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

logger = logging.getLogger(__name__)


class ConfirmScreen(ModalScreen[bool]):
    """Asks before stop and reset: they end a car's charging, so one stray key must not do it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question, id="question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


HELP = """\
[b]balanz monitor[/b] — live view of the daemon over its control socket

[b]Keys[/b]
  ↑ ↓ PgUp PgDn  move in the table; click a header to sort by it
  /              filter: charger id, alias, group, status, tag
  escape         back from the filter to the table
  o              sort by the next column
  + / -          raise / lower the session's priority (override)
  c              clear the priority override
  s              suspend or resume the connector
  g              suspend or resume the connector's group
  x              stop the session (asks first)
  r              soft-reset the charger (asks first)
  R / A          release balanz's profiles on the charger (asks
                 first) / re-assert them
  h              session history of the charger
  t              tags: add (a), block or unblock (b)
  d              show or hide the detail pane
  e              show or hide the event log
  ?              this help
  q              quit

[b]Columns[/b]
  Prio   effective priority; s session, t tag, c charger override
  Tgt    what the allocator wants now
  Offer  last limit the charger accepted
  Use    highest phase current drawn    Cap  learned EV cap
  Flags  offline, susp(ended), pinned, no meter data,
         floor N A / seen N A over its limit (room kept for it) …

[b]Groups[/b]  per phase: █ drawn  ▒ offered  ░ free up to the limit

While the daemon is unreachable the header says [b]disconnected,
retrying[/b]; the last picture stays and the monitor reconnects.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close"),
        Binding("question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP, markup=True)

    def action_close(self) -> None:
        self.dismiss(None)
