"""The session-history screen (key h): asks the daemon once, shows what the store recorded."""

import pytest

from balanz.control.codec import DecodeError
from balanz.control.protocol import ErrorReply
from balanz.control.results import sessions_from_result
from balanz.tui.sessions import SessionsScreen
from tests.tui.harness import run_monitor, wait_for

ROW = {  # a row as store/codec.py session_to_json writes it
    "session_id": "s-1041",
    "charger_id": "TACW222421G063",
    "alias": "HQ-01",
    "group_id": "HQ",
    "connector_id": 1,
    "transaction_id": 1041,
    "id_tag": "04A2B3C4",
    "user_name": "Ana",
    "parent_id_tag": None,
    "stop_id_tag": "04A2B3C4",
    "start_time": "2026-11-23T07:58:02Z",
    "end_time": "2026-11-23T10:12:40Z",
    "duration_s": 8078.0,
    "meter_start_wh": 1180200,
    "meter_stop_wh": 1204500,
    "energy_wh": 24300,
    "stop_reason": "EVDisconnected",
    "priority": 3,
    "priority_source": "tag",
    "max_offer_a": 16,
    "max_usage_a": 15.4,
    "mean_usage_a": 12.2,
    "history": [],
    "flags": [],
}


def test_h_shows_the_charger_s_sessions_from_the_daemon():
    async def scenario(app, pilot, daemon):
        daemon.replies["sessions"] = {"sessions": [ROW, {**ROW, "session_id": "s-1050", "energy_wh": None}]}
        await pilot.press("h")
        request = await daemon.next_request("sessions")
        assert request.args["charger"] == "TACW222421G063"
        assert request.args["limit"] == 200
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 2, "the rows")
        assert [str(c) for c in screen.table.get_row("s-1041")] == [
            "2026-11-23 08:58",  # the site zone (Europe/Copenhagen), like its schedule
            "1",
            "04A2B3C4",
            "Ana",
            "2h14m",
            "24.30",
            "16.0",
            "EVDisconnected",
        ]
        assert "sessions of HQ-01: 2, 24.3 kWh" in str(screen.heading.render())
        await pilot.press("escape")
        assert not isinstance(app.screen, SessionsScreen)

    run_monitor(scenario)


def test_the_daemon_s_refusal_is_shown_on_the_screen():
    async def scenario(app, pilot, daemon):
        daemon.replies["sessions"] = ErrorReply(None, "Internal", "store unavailable")
        await pilot.press("h")
        screen = app.screen
        await wait_for(pilot, lambda: "store unavailable" in str(screen.heading.render()), "the error")

    run_monitor(scenario)


def test_a_malformed_sessions_answer_names_the_row():
    with pytest.raises(DecodeError, match=r"sessions\[1\]\.connector_id: expected an integer"):
        sessions_from_result({"sessions": [ROW, {**ROW, "connector_id": "1"}]})
    with pytest.raises(DecodeError, match="no 'sessions' list"):
        sessions_from_result([ROW])
