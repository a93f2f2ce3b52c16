"""The monitor application: one screen of live site state, fed by the control socket.

Pushes are applied to the snapshot as they arrive (cheap, pure ``delta.apply``); widgets are refreshed from
it by a timer at most every ``refresh_interval`` seconds, touching only what the deltas named. That keeps a
2,000-charger site readable: the screen changes four times a second at most, and only where something did.

Operator actions go out as requests through the same connection; the reply or the daemon's error shows as a
notification and in the event log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input

from balanz.control.client import AsyncClient, Backoff, ConnectionLost, RequestFailed, follow
from balanz.control.codec import DecodeError
from balanz.control.delta import apply, touched
from balanz.control.protocol import ProtocolError, Push, PushKind, event_from_json, log_from_json
from balanz.control.snapshot import Charger, Connector, Snapshot
from balanz.tui.connectors import ConnectorTable
from balanz.tui.detail import DetailPane
from balanz.tui.dialogs import ConfirmScreen, HelpScreen
from balanz.tui.events import EventLog
from balanz.tui.format import set_zone
from balanz.tui.groups import GroupsPanel
from balanz.tui.header import SiteHeader
from balanz.tui.sessions import SessionsScreen
from balanz.tui.tags import TagsScreen

logger = logging.getLogger(__name__)

WIDE = 120  # columns from which the detail pane sits beside the table instead of replacing it
FILTER_DELAY = 0.15  # seconds of no typing before the filter is applied


SLOW_REPLIES_S = {"release-profiles": 120.0, "reassert-profiles": 120.0}
"""Commands the daemon answers only once chargers have answered (a release also waits until the site has
made room): they get longer than the client's usual timeout."""


class MonitorApp(App[int]):
    CSS_PATH = Path(__file__).with_name("balanz.tcss")
    TITLE = "balanz monitor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort", "Sort"),
        Binding("plus", "priority(1)", "Prio", key_display="+"),
        Binding("minus", "priority(-1)", "Prio", key_display="-"),
        Binding("c", "clear_priority", "Clear prio", show=False),
        Binding("s", "suspend", "Susp"),
        Binding("g", "suspend_group", "Group susp", show=False),
        Binding("x", "stop", "Stop"),
        Binding("r", "reset", "Reset"),
        Binding("R", "release", "Release", show=False),
        Binding("A", "reassert", "Reassert", show=False),
        Binding("d", "toggle_detail", "Detail"),
        Binding("h", "sessions", "History", show=False),
        Binding("t", "tags", "Tags", show=False),
        Binding("e", "toggle_events", "Events", show=False),
    ]

    def __init__(
        self,
        socket_path: str | None,
        *,
        refresh_interval: float = 0.25,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__()
        self.socket_path = socket_path
        self.refresh_interval = refresh_interval
        self.backoff = backoff or Backoff()
        self.snapshot: Snapshot | None = None
        self.client: AsyncClient | None = None
        self.seq: int | None = None
        self.pushes_applied = 0
        self.flushes = 0
        self.detail_wanted: bool | None = None  # None: beside the table when the terminal is wide enough
        self._rebuild = False
        self._dirty_chargers: set[str] = set()
        self._dirty_groups = False
        self._groups_minute = ""
        self._filter_timer: Timer | None = None
        # Held here, not queried: pushes and timers may still fire while the app is shutting down.
        self.header = SiteHeader(id="header")
        self.groups = GroupsPanel(id="groups")
        self.filter = Input(placeholder="/ filter: charger, group, status, tag", id="filter")
        self.table = ConnectorTable(id="connectors")
        self.detail = DetailPane(id="detail")
        self.events = EventLog(id="events")

    def compose(self) -> ComposeResult:
        yield self.header
        with VerticalScroll(id="groups-box"):
            yield self.groups
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.filter
                yield self.table
            yield self.detail
        yield self.events
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.refresh_interval, self.flush)
        self.table.focus()
        self._apply_layout()
        if self.socket_path is not None:
            self.run_worker(
                follow(self.socket_path, self, backoff=self.backoff), exclusive=True, name="follow"
            )

    def on_resize(self, event: events.Resize) -> None:
        # The app's own size follows a moment later (a timer), so lay out for the size the event names.
        self._apply_layout(event.size.width)

    # -- the control socket (Subscriber) -------------------------------------------------------------

    def on_connected(self, client: AsyncClient) -> None:
        self.client = client
        hello = client.hello
        if hello is not None:
            self.header.mode = self.header.mode or hello.mode
        readonly = hello is not None and hello.access != "control"
        self.show_connection("connected (read-only)" if readonly else "connected", online=True)

    def on_disconnected(self, reason: str, retry_in: float) -> None:
        self.client = None
        self.show_connection(f"disconnected, retrying in {retry_in:g}s", online=False)
        logger.info("monitor: %s", reason)

    def show_connection(self, text: str, online: bool) -> None:
        self.header.connection, self.header.online = text, online

    def on_push(self, push: Push) -> None:
        try:
            self._take(push)
        except (DecodeError, ProtocolError) as exc:
            self.events.add_note(f"bad {push.event} from the daemon ignored: {exc}", error=True)
            if push.event == PushKind.DELTA:
                self._resync()

    def _take(self, push: Push) -> None:
        if push.event == PushKind.EVENT:
            self.events.add_event(event_from_json(push.data))
            return
        if push.event == PushKind.LOG:
            self.events.add_log(log_from_json(push.data))
            return
        if push.event == PushKind.SNAPSHOT:
            self.load(Snapshot.from_json(push.data), push.seq)
            return
        if push.event != PushKind.DELTA:
            return  # a push kind of a newer daemon: nothing to show for it
        if self.snapshot is None or self.seq is None or push.seq != self.seq + 1:
            self._resync()
            return
        self.snapshot = apply(self.snapshot, push.data)
        self.seq = push.seq
        changes = touched(push.data)
        self._rebuild = self._rebuild or changes.structural
        self._dirty_chargers |= changes.chargers
        self._dirty_groups = self._dirty_groups or bool(changes.groups) or changes.site
        self.pushes_applied += 1

    def load(self, snapshot: Snapshot, seq: int | None = None) -> None:
        """Show a whole snapshot (on subscribe, after a gap, or from a recording)."""
        self.snapshot, self.seq = snapshot, seq
        self._rebuild = True
        self.pushes_applied += 1

    def _resync(self) -> None:
        self.seq = None
        self.run_worker(self._fetch_snapshot(), group="resync", exclusive=True)

    async def _fetch_snapshot(self) -> None:
        client = self.client
        if client is None:
            return
        try:
            self.load(Snapshot.from_json(await client.request("snapshot")))
        except (RequestFailed, ConnectionLost, DecodeError) as exc:
            self.events.add_note(f"snapshot: {exc}", error=True)

    # -- refreshing widgets --------------------------------------------------------------------------

    def flush(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        # "next 18:00 (in 40m)" counts down with the snapshot's clock even when no group changed.
        minute = snap.at[:16]
        self._dirty_groups = self._dirty_groups or minute != self._groups_minute
        if not (self._rebuild or self._dirty_chargers or self._dirty_groups):
            return
        set_zone(snap.site.timezone)
        table = self.table
        if self._rebuild:
            table.rebuild(snap)
        elif self._dirty_chargers:
            table.update_chargers(snap, self._dirty_chargers)
        if self._rebuild or self._dirty_groups:
            self.groups.snapshot = snap
            self.groups.refresh(layout=True)
            self._groups_minute = minute
        self.header.show_site(snap.site, snap.at)
        selected = table.selected()
        if selected is not None and (self._rebuild or selected[0] in self._dirty_chargers):
            self._show_detail()
        self._rebuild, self._dirty_groups = False, False
        self._dirty_chargers = set()
        self.flushes += 1

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        charger, connector = self.selection()
        self.detail.show(charger, connector, self.snapshot.at if self.snapshot else "")

    def selection(self) -> tuple[Charger | None, Connector | None]:
        selected = self.table.selected()
        if selected is None or self.snapshot is None:
            return None, None
        charger = self.snapshot.charger(selected[0])
        if charger is None:
            return None, None
        return charger, next((c for c in charger.connectors if c.id == selected[1]), None)

    # -- layout --------------------------------------------------------------------------------------

    def _apply_layout(self, width: int | None = None) -> None:
        wide = (self.size.width if width is None else width) >= WIDE
        show = self.detail_wanted if self.detail_wanted is not None else wide
        self.screen.set_class(not wide, "-narrow")
        self.screen.set_class(show, "-detail")
        table_hidden = show and not wide
        if table_hidden:
            self.detail.focus()
        elif self.focused is None or self.focused is self.detail:
            self.table.focus()

    def action_toggle_detail(self) -> None:
        shown = self.screen.has_class("-detail")
        self.detail_wanted = not shown
        self._apply_layout()

    def action_toggle_events(self) -> None:
        self.screen.toggle_class("-no-events")

    # -- filter and sort -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        if self.screen.has_class("-narrow") and self.screen.has_class("-detail"):
            self.detail_wanted = False
            self._apply_layout()
        self.filter.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        # Refiltering 4,000 rows takes about a second: wait until the typing pauses.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        needle = self.filter.value
        if needle == self.table.needle:
            return
        if self.snapshot is not None:
            self.table.set_filter(needle, self.snapshot)
        else:
            self.table.needle = needle

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter()
        self.table.focus()

    def key_escape(self) -> None:
        if self.focused is self.filter:
            self.table.focus()

    def action_sort(self) -> None:
        table = self.table
        name = table.next_sort()
        self.notify(f"sorted by {name}", timeout=2)

    # -- operator actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_sessions(self) -> None:
        charger, _ = self._target()
        if charger is not None:
            self.push_screen(SessionsScreen(self.client, charger.id, charger.name))

    def action_tags(self) -> None:
        self.push_screen(TagsScreen(self.client))

    def action_priority(self, step: int) -> None:
        charger, connector = self._target()
        if charger is None or connector is None:
            return
        current = connector.priority if connector.priority is not None else 0
        new = max(0, current + step)
        self.send(
            "set-priority",
            {"charger": charger.id, "connector": connector.id, "priority": new},
            f"{charger.name} #{connector.id}: priority {new}",
        )

    def action_clear_priority(self) -> None:
        charger, connector = self._target()
        if charger is not None and connector is not None:
            self.send(
                "clear-priority",
                {"charger": charger.id, "connector": connector.id},
                f"{charger.name} #{connector.id}: priority override cleared",
            )

    def action_suspend(self) -> None:
        charger, connector = self._target()
        if charger is None or connector is None:
            return
        cmd = "resume-connector" if connector.suspended else "suspend-connector"
        word = "resumed" if connector.suspended else "suspended"
        self.send(
            cmd, {"charger": charger.id, "connector": connector.id}, f"{charger.name} #{connector.id} {word}"
        )

    def action_suspend_group(self) -> None:
        charger, _ = self._target()
        if charger is None or self.snapshot is None:
            return
        group = self.snapshot.group(charger.group)
        if group is None:
            self.notify(f"{charger.name} is in no known group", severity="warning")
            return
        cmd = "resume-group" if group.suspended else "suspend-group"
        self.send(
            cmd, {"group": group.id}, f"group {group.id} {'resumed' if group.suspended else 'suspended'}"
        )

    def action_stop(self) -> None:
        charger, connector = self._target()
        if charger is None or connector is None:
            return
        session = connector.session
        what = f"the session on {charger.name} #{connector.id}"
        if session is not None and session.id_tag:
            what += f" (tag {session.id_tag})"

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(
                    "remote-stop",
                    {"charger": charger.id, "connector": connector.id},
                    f"stop requested for {charger.name} #{connector.id}",
                )

        self.push_screen(ConfirmScreen(f"Stop {what}?"), answered)

    def action_reset(self) -> None:
        charger, _ = self._target()
        if charger is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("reset", {"charger": charger.id, "type": "Soft"}, f"reset sent to {charger.name}")

        self.push_screen(
            ConfirmScreen(f"Soft-reset charger {charger.name}? Sessions on it are interrupted."), answered
        )

    def action_release(self) -> None:
        """profiles.md §5.2: the operator's confirmation, with the warning, before release-profiles."""
        charger, _ = self._target()
        if charger is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("release-profiles", {"charger": charger.id}, f"profiles released on {charger.name}")

        self.push_screen(
            ConfirmScreen(
                f"Release balanz's profiles on {charger.name}? It then charges without any limit of balanz; "
                "balanz counts it at its maximum and first lowers the others to make room "
                "(A takes it back)."
            ),
            answered,
        )

    def action_reassert(self) -> None:
        charger, _ = self._target()
        if charger is not None:
            self.send("reassert-profiles", {"charger": charger.id}, f"profiles re-asserted on {charger.name}")

    def _target(self) -> tuple[Charger | None, Connector | None]:
        charger, connector = self.selection()
        if charger is None:
            self.notify("select a connector first", severity="warning")
        return charger, connector

    def send(self, cmd: str, args: dict[str, Any], done: str) -> None:
        """Send a request in the background; the reply or the daemon's error is shown when it comes."""
        self.run_worker(self._send(cmd, args, done), group="requests")

    async def _send(self, cmd: str, args: dict[str, Any], done: str) -> None:
        log = self.events
        client = self.client
        if client is None:
            self.notify(f"{cmd}: not connected to the daemon", severity="error")
            log.add_note(f"{cmd}: not sent, not connected", error=True)
            return
        try:
            result = await client.request(cmd, args, timeout=SLOW_REPLIES_S.get(cmd))
        except RequestFailed as exc:
            self.notify(f"{cmd}: {exc.code}: {exc.message}", severity="error", timeout=6)
            log.add_note(f"{cmd} failed: {exc.code}: {exc.message}", error=True)
            return
        except ConnectionLost as exc:
            self.notify(f"{cmd}: connection lost ({exc})", severity="error")
            log.add_note(f"{cmd}: connection lost", error=True)
            return
        note = result.get("note") if isinstance(result, dict) else None
        if note:
            done = f"{done}: {note}"
        self.notify(done, timeout=3)
        log.add_note(done)
