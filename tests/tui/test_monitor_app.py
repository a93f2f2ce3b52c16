"""Pilot tests: the monitor against the fake daemon fed with the recorded 4-charger site."""

from dataclasses import replace

from balanz.control.protocol import ErrorReply, Event, LogLine, Push, encode
from balanz.tui.connectors import ConnectorTable
from balanz.tui.detail import DetailPane
from balanz.tui.dialogs import ConfirmScreen, HelpScreen
from balanz.tui.events import EventLog
from balanz.tui.groups import GroupsPanel
from balanz.tui.header import SiteHeader
from tests.control.fake_daemon import FakeDaemon, listen
from tests.tui.harness import run_monitor, wait_for
from tests.tui.sites import load_site


def column(table, key):
    return [str(table.get_cell(row.key, key)) for row in table.ordered_rows]


def cell(table, row, key):
    return str(table.get_cell(row, key))


def log_text(app):
    return "\n".join(strip.text for strip in app.query_one(EventLog).lines)


def test_the_recorded_site_is_shown():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        assert table.row_count == 6
        assert column(table, "charger") == ["HQ-01", "HQ-01", "HQ-02", "RR1-01", "RR1-01", "RR1-02"]
        assert [str(c) for c in table.get_row("TACW222421G063/1")] == [
            "HQ-01",
            "1",
            "Charging",
            "3t",
            "16.0",
            "16.0",
            "15.2",
            "—",
            "18.30",
            "04A2B3C4",
            "15:02",
            "HQ",
            "",
        ]
        assert cell(table, "RR1-0002/1", "flags") == "offline,no meter data"
        header = app.query_one(SiteHeader)
        assert (header.mode, header.site, header.connection) == ("csms", "Harbour Office", "connected")
        groups = str(app.query_one(GroupsPanel).render())
        assert "RR1 · slot Mon-Fri 06:00-16:59 (32 A) · next 17:00 (in 19m) 0=0:5=48" in groups
        detail = str(app.query_one("#detail-body").render())
        assert "R15 fair share after HQ-02 #1 started" in detail
        assert "SetChargingProfile Accepted" in detail

    run_monitor(scenario)


def test_a_delta_updates_cells_in_place_without_rebuilding_the_table():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        rebuilds = table.rebuilds
        await daemon.publish(load_site("site4_later.json"))
        await wait_for(pilot, lambda: cell(table, "TACW222421G063/1", "offer") == "14.0", "the new offer")
        assert cell(table, "EVB-P2045811/1", "status") == "Charging"
        assert cell(table, "RR1-0002/1", "flags") == "no meter data"
        assert table.rebuilds == rebuilds
        assert app.snapshot == load_site("site4_later.json")

    run_monitor(scenario)


def test_sort_by_offer_puts_unknowns_last_and_pressing_again_on_a_header_reverses():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        for _ in range(6):  # charger, #, status, prio, target, offer
            await pilot.press("o")
        assert table.sort_column == "offer"
        assert column(table, "offer") == ["0.0", "0.0", "12.0", "16.0", "16.0", "—"]
        table.sort_by("offer")
        assert column(table, "offer")[:3] == ["—", "16.0", "16.0"]

    run_monitor(scenario)


def test_sorted_column_stays_sorted_when_a_delta_changes_it():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        table.sort_by("offer", reverse=True)
        first = column(table, "charger")[1]
        await daemon.publish(load_site("site4_later.json"))
        await wait_for(pilot, lambda: "14.0" in column(table, "offer"))
        offers = [float(v) for v in column(table, "offer") if v != "—"]
        assert offers == sorted(offers, reverse=True)
        assert first == "HQ-01"

    run_monitor(scenario)


def test_filter_keeps_matching_rows_and_escape_returns_to_the_table():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        await pilot.press("slash", "r", "r", "1")
        await wait_for(pilot, lambda: table.row_count == 3, "the filter to apply after typing pauses")
        await pilot.press("escape")
        assert app.focused is table
        await pilot.press("slash", "backspace", "backspace", "backspace", *"suspendedev", "enter")
        assert column(table, "charger") == ["HQ-02"]
        assert app.focused is table

    run_monitor(scenario)


def test_priority_keys_send_set_priority_for_the_selected_session():
    async def scenario(app, pilot, daemon):
        await pilot.press("plus")
        request = await daemon.next_request("set-priority")
        assert request.args == {"charger": "TACW222421G063", "connector": 1, "priority": 4}
        await pilot.press("down", "down", "down", "down", "minus")  # RR1-01 #2, priority 5 (session)
        request = await daemon.next_request("set-priority")
        assert request.args == {"charger": "RR1-0001", "connector": 2, "priority": 4}
        await wait_for(pilot, lambda: "RR1-01 #2: priority 4" in log_text(app), "the reply in the log")

    run_monitor(scenario)


def test_suspend_toggles_by_state_and_g_suspends_the_group():
    async def scenario(app, pilot, daemon):
        await pilot.press("s")
        assert (await daemon.next_request("suspend-connector")).args == {
            "charger": "TACW222421G063",
            "connector": 1,
        }
        await pilot.press("down", "down", "s")  # HQ-02 #1 is suspended: s resumes it
        assert (await daemon.next_request("resume-connector")).args == {
            "charger": "EVB-P2045811",
            "connector": 1,
        }
        await pilot.press("g")
        assert (await daemon.next_request("suspend-group")).args == {"group": "HQ"}

    run_monitor(scenario)


def test_stop_asks_first_and_no_sends_nothing():
    async def scenario(app, pilot, daemon):
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Stop the session on HQ-01 #1 (tag 04A2B3C4)?" in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("c")  # a later request: the stop, had it been sent, would be before it
        await daemon.next_request("clear-priority")
        assert [r.cmd for r in daemon.requests if r.cmd not in ("hello", "subscribe")] == []
        await pilot.press("x", "y")
        assert (await daemon.next_request("remote-stop")).args == {
            "charger": "TACW222421G063",
            "connector": 1,
            "transaction_id": None,
        }

    run_monitor(scenario)


def test_reset_asks_first_and_sends_a_soft_reset():
    async def scenario(app, pilot, daemon):
        await pilot.press("down", "down", "down", "r")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Soft-reset charger RR1-01?" in app.screen.question
        await pilot.click("#yes")
        assert (await daemon.next_request("reset")).args == {"charger": "RR1-0001", "type": "Soft"}

    run_monitor(scenario)


def test_the_daemon_s_error_is_shown():
    async def scenario(app, pilot, daemon):
        daemon.replies["set-priority"] = ErrorReply(None, "NotInTransaction", "HQ-01 #2 has no session")
        await pilot.press("down", "plus")
        await wait_for(pilot, lambda: "NotInTransaction" in log_text(app), "the error in the log")
        assert "set-priority failed: NotInTransaction: HQ-01 #2 has no session" in log_text(app)

    run_monitor(scenario)


def test_events_and_log_lines_go_to_the_event_log():
    async def scenario(app, pilot, daemon):
        await daemon.push_event(
            Event(
                "2026-11-24T16:40:13+01:00",
                "profile",
                "TxProfile 14 A Accepted",
                charger="HQ-01",
                connector=1,
                rule="R16",
            )
        )
        await daemon.push_event(LogLine("2026-11-24T16:40:14+01:00", "WARNING", "balanz.wire", "slow answer"))
        await wait_for(pilot, lambda: "slow answer" in log_text(app))
        assert "16:40 profile    HQ-01/1 TxProfile 14 A Accepted [R16]" in log_text(app)
        assert "16:40 WARNING  balanz.wire: slow answer" in log_text(app)

    run_monitor(scenario)


def test_a_gap_in_the_push_sequence_fetches_a_fresh_snapshot():
    async def scenario(app, pilot, daemon):
        daemon.snapshot = load_site("site4_later.json")
        await daemon.push_raw(encode(Push("delta", daemon.seq + 5, {"at": "x"})))
        await daemon.next_request("snapshot")
        table = app.query_one(ConnectorTable)
        await wait_for(pilot, lambda: cell(table, "TACW222421G063/1", "offer") == "14.0", "the resync")
        assert app.snapshot.at == "2026-11-24T16:40:13+01:00"

    run_monitor(scenario)


def test_a_bad_push_is_reported_and_does_not_stop_the_monitor():
    async def scenario(app, pilot, daemon):
        await daemon.push_raw(encode(Push("delta", daemon.seq + 1, {"chargers": {"remove": ["NOPE"]}})))
        daemon.seq += 1
        await wait_for(pilot, lambda: "bad delta from the daemon ignored" in log_text(app))
        await daemon.next_request("snapshot")

    run_monitor(scenario)


def test_daemon_restart_shows_retrying_keeps_the_picture_and_reconnects():
    async def scenario(app, pilot, daemon):
        header = app.query_one(SiteHeader)
        await daemon.close()
        await wait_for(
            pilot, lambda: header.connection.startswith("disconnected, retrying in"), "disconnected"
        )
        assert not header.online
        assert app.query_one(ConnectorTable).row_count == 6
        restarted = await FakeDaemon(load_site("site4_later.json"), listen(daemon.path)).start()
        try:
            await wait_for(pilot, lambda: header.connection == "connected", "reconnected")
            table = app.query_one(ConnectorTable)
            await wait_for(pilot, lambda: cell(table, "TACW222421G063/1", "offer") == "14.0", "new snapshot")
            await restarted.publish(replace(restarted.snapshot, at="2026-11-24T16:41:00+01:00"))
            await wait_for(pilot, lambda: app.snapshot.at == "2026-11-24T16:41:00+01:00", "deltas again")
        finally:
            await restarted.close()

    run_monitor(scenario)


def test_actions_while_disconnected_say_so():
    async def scenario(app, pilot, daemon):
        await daemon.close()
        await wait_for(pilot, lambda: app.client is None, "disconnected")
        await pilot.press("plus")
        await wait_for(pilot, lambda: "set-priority: not sent, not connected" in log_text(app))

    run_monitor(scenario)


def test_help_screen_opens_with_question_mark_and_closes_with_escape():
    async def scenario(app, pilot, daemon):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        assert app.return_code == 0

    run_monitor(scenario)


def test_narrow_terminal_shows_detail_instead_of_the_table_on_d():
    async def scenario(app, pilot, daemon):
        table, detail = app.query_one(ConnectorTable), app.query_one(DetailPane)
        assert table.display
        assert not detail.display
        await pilot.press("down", "d")
        assert detail.display
        assert not app.query_one("#left").display
        assert "HQ-01 #2" in str(app.query_one("#detail-title").render())
        await pilot.press("d")
        assert app.query_one("#left").display
        assert app.focused is table

    run_monitor(scenario, size=(80, 24))


def test_clicking_a_column_header_sorts_by_it_and_again_reverses():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        # Column widths settle once the table has measured its rows (on idle): click only then.
        await wait_for(pilot, lambda: table.columns["tag"].content_width == len("04A2B3C4"), "column widths")
        x = 0
        for col in table.ordered_columns:
            if col.key.value == "kwh":
                break
            x += col.get_render_width(table)
        for _ in range(50):  # a click is resolved against the last painted frame: retry until it is current
            await pilot.click(ConnectorTable, offset=(x + 1, 0))
            await pilot.pause(0.02)
            if table.sort_column == "kwh":
                break
        assert table.sort_column == "kwh"
        assert not table.sort_reverse
        assert column(table, "kwh")[:3] == ["2.10", "7.95", "11.02"]
        await pilot.click(ConnectorTable, offset=(x + 1, 0))
        await wait_for(pilot, lambda: table.sort_reverse, "reversed")
        assert column(table, "kwh")[:2] == ["—", "—"]

    run_monitor(scenario)


def test_shrinking_the_terminal_moves_the_detail_pane_off_the_table():
    async def scenario(app, pilot, daemon):
        assert app.screen.has_class("-detail"), "wide: the detail sits beside the table"
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.screen.has_class("-narrow"), "the narrow layout")
        assert not app.screen.has_class("-detail"), "narrow: the table alone until d"
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: app.screen.has_class("-detail"), "the wide layout again")

    run_monitor(scenario)


def test_the_next_slot_countdown_follows_the_snapshot_clock_though_no_group_changed():
    async def scenario(app, pilot, daemon):
        panel = app.query_one(GroupsPanel)
        assert "next 17:00 (in 19m)" in str(panel.render())
        later = replace(app.snapshot, at="2026-11-24T16:50:00+01:00")
        await daemon.publish(later)
        await wait_for(pilot, lambda: "next 17:00 (in 10m)" in str(panel.render()), "the countdown")

    run_monitor(scenario)


def test_release_asks_first_with_the_warning_and_a_reasserts():
    async def scenario(app, pilot, daemon):
        await pilot.press("down", "down", "down", "R")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Release balanz's profiles on RR1-01?" in app.screen.question
        assert "without any limit of balanz" in app.screen.question
        await pilot.click("#yes")
        assert (await daemon.next_request("release-profiles")).args == {"charger": "RR1-0001"}
        await pilot.press("A")
        assert (await daemon.next_request("reassert-profiles")).args == {"charger": "RR1-0001"}

    run_monitor(scenario)
