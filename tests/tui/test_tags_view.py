"""The tags screen (key t): the daemon's tag list, and add/block through the socket commands."""

import pytest

from balanz.control.codec import DecodeError
from balanz.control.protocol import ErrorReply
from balanz.control.results import TagRow, tags_from_result
from balanz.tui.app import MonitorApp
from balanz.tui.tags import TagsScreen, add_args
from tests.tui.harness import run_monitor, wait_for
from tests.tui.test_screens_svg import SMALL, fed

TAGS = [  # as store_commands._tag_json answers
    {
        "id": "STAFF-ANNA",
        "user": "Anna",
        "parent": "STAFF",
        "status": "Activated",
        "priority": 3,
        "expires": None,
        "description": "",
        "origin": "config",
    },
    {
        "id": "VISITOR-01",
        "user": "Visitor badge 1",
        "parent": None,
        "status": "Blocked",
        "priority": 0,
        "expires": "2026-12-31T23:00:00+00:00",
        "description": "",
        "origin": "override",
    },
]


def test_t_lists_the_tags_and_b_blocks_the_selected_one():
    async def scenario(app, pilot, daemon):
        daemon.replies["tags"] = TAGS
        await pilot.press("t")
        await daemon.next_request("tags")
        screen = app.screen
        assert isinstance(screen, TagsScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 2, "the rows")
        assert [str(c) for c in screen.table.get_row("VISITOR-01")] == [
            "VISITOR-01",
            "Visitor badge 1",
            "Blocked",
            "",
            "0",
            "2027-01-01 00:00",  # shown in the site zone
            "override",
        ]
        assert "tags: 2, 1 blocked" in str(screen.heading.render())
        await pilot.press("b")
        block = await daemon.next_request("tag-block")
        assert block.args["id_tag"] == "STAFF-ANNA"
        await daemon.next_request("tags")  # read again: the screen shows what the store now says
        await pilot.press("down", "b")
        unblock = await daemon.next_request("tag-unblock")
        assert unblock.args["id_tag"] == "VISITOR-01"
        await pilot.press("escape")
        assert not isinstance(app.screen, TagsScreen)

    run_monitor(scenario)


def test_a_adds_a_tag_from_the_form():
    async def scenario(app, pilot, daemon):
        daemon.replies["tags"] = TAGS
        await pilot.press("t")
        screen = app.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2, "the rows")
        await pilot.press("a")
        assert screen.form.display
        await pilot.press(*"GUEST-7", "tab", *"Guest", "tab", "5", "enter")
        added = await daemon.next_request("tag-add")
        assert (added.args["id_tag"], added.args["user"], added.args["priority"]) == ("GUEST-7", "Guest", 5)
        assert not screen.form.display

    run_monitor(scenario)


def test_a_refused_change_is_shown():
    async def scenario(app, pilot, daemon):
        daemon.replies["tags"] = TAGS
        daemon.replies["tag-block"] = ErrorReply(None, "NoSuchTag", "tag-block: tag X: no such tag")
        await pilot.press("t")
        screen = app.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2, "the rows")
        await pilot.press("b")
        await daemon.next_request("tag-block")
        await wait_for(
            pilot, lambda: any("no such tag" in str(n.message) for n in app._notifications), "the refusal"
        )

    run_monitor(scenario)


def test_form_values_are_checked_before_sending():
    assert add_args(" X1 ", "", "") == {"id_tag": "X1"}
    with pytest.raises(ValueError, match="empty"):
        add_args(" ", "u", "1")
    with pytest.raises(ValueError, match="whole number"):
        add_args("X1", "", "high")
    with pytest.raises(DecodeError, match=r"tags\[0\]\.priority"):
        tags_from_result([{**TAGS[0], "priority": "3"}])


def test_tags_screen(snap_compare):
    before = fed("site4.json")

    async def run_before(pilot):
        await before(pilot)
        screen = TagsScreen(None)
        await pilot.app.push_screen(screen)
        await pilot.pause()
        screen.show(tuple(TagRow(**t) for t in TAGS))
        await pilot.pause()

    assert snap_compare(MonitorApp(None), terminal_size=SMALL, run_before=run_before)
