"""The command table: every command of flows.md §4.2 exists, arguments are checked, errors name them."""

import pytest

from balanz.control.protocol import Access, ErrorCode, ProtocolError
from balanz.control.requests import COMMANDS, check_access, parse_argv, usage, validate

FLOWS_TABLE = [
    "hello",
    "subscribe",
    "status",
    "snapshot",
    "config",
    "reload",
    "set-priority",
    "clear-priority",
    "suspend-group",
    "resume-group",
    "tag-add",
    "tag-set",
    "tag-block",
    "tag-unblock",
    "tag-delete",
    "tags",
    "sessions",
    "export-sessions",
    "logs",
    "log-level",
    "reset-auth",
    "charger-forget",
    "charger-move",
    "firmware-options",
    "update-firmware",
    "remote-start",
    "remote-stop",
    "reset",
    "trigger",
    "get-config",
    "set-config",
    "unlock",
    "availability",
    "clear-cache",
    "diagnostics",
    "composite",
    "call",
    "reassert-profiles",
    "release-profiles",
    "release-offline",
    "upstream",
    "outbox",
    "suspend-connector",
    "resume-connector",
    "set-group-limit",
]


def test_every_command_of_the_spec_and_the_issue_is_in_the_table():
    assert set(FLOWS_TABLE) <= set(COMMANDS)
    assert all(name in usage() for name in FLOWS_TABLE)


def test_defaults_are_filled_in():
    assert validate("reset", {"charger": "CP1"}) == {"charger": "CP1", "type": "Soft"}
    assert validate("set-group-limit", {"group": "HQ", "limit_a": 40}) == {
        "group": "HQ",
        "limit_a": 40.0,
        "for_s": 3600,
    }
    assert validate("subscribe", {})["topics"] == ["state", "events", "logs"]


@pytest.mark.parametrize(
    ("cmd", "args", "message"),
    [
        ("set-priority", {"charger": "CP1", "connector": 1}, "set-priority: priority: missing"),
        (
            "set-priority",
            {"charger": "CP1", "connector": 1, "priority": "5"},
            "set-priority: priority: must be an integer; got '5'",
        ),
        ("set-priority", {"charger": "CP1", "connector": 0, "priority": 5}, "connector: must be ≥ 1; got 0"),
        (
            "set-priority",
            {"charger": "CP1", "connector": 1, "priority": 5, "prio": 1},
            "unknown argument 'prio'",
        ),
        ("reset", {"charger": "CP1", "type": "soft"}, "type: must be one of Soft, Hard; got 'soft'"),
        ("reset", {"charger": ""}, "charger: must be a non-empty string"),
        ("set-group-limit", {"group": "HQ", "limit_a": 40, "for_s": 10}, "for_s: must be ≥ 60; got 10"),
        ("remote-stop", {"charger": "CP1"}, "remote-stop: give one of connector, transaction_id"),
        ("tag-add", {"id_tag": "X" * 21}, "id_tag: at most 20 characters; got 21"),
        ("tag-add", {"id_tag": "ABC", "expires": "tomorrow"}, "expires: must be an ISO-8601 time"),
        ("tag-add", {"id_tag": "ABC", "expires": "2026-12-01T00:00:00"}, "needs a time zone"),
        ("subscribe", {"topics": ["state", "weather"]}, "'weather' is not one of state, events, logs"),
        ("call", {"charger": "CP1", "action": "Heartbeat", "payload": []}, "payload: must be an object"),
        ("frobnicate", {}, "unknown command 'frobnicate'"),
    ],
)
def test_bad_arguments_get_invalid_args_naming_the_argument(cmd, args, message):
    with pytest.raises(ProtocolError) as exc:
        validate(cmd, args, request_id=9)
    assert exc.value.code is ErrorCode.INVALID_ARGS
    assert message in exc.value.message
    assert exc.value.reply().id == 9


def test_a_client_newer_than_the_daemon_is_refused():
    with pytest.raises(ProtocolError) as exc:
        validate("hello", {"protocol": 2})
    assert exc.value.code is ErrorCode.REFUSED


def test_read_only_socket_allows_views_only():
    check_access("snapshot", Access.READONLY)
    check_access("set-priority", Access.CONTROL)
    with pytest.raises(ProtocolError) as exc:
        check_access("set-priority", Access.READONLY)
    assert exc.value.code is ErrorCode.READ_ONLY


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["set-priority", "CP1", "2", "5"],
            ("set-priority", {"charger": "CP1", "connector": 2, "priority": 5}),
        ),
        (
            ["tag", "add", "04A2", "--user", "Ana", "--priority", "3"],
            ("tag-add", {"id_tag": "04A2", "user": "Ana", "priority": 3}),
        ),
        (
            ["set-group-limit", "HQ", "40.5", "--for-s", "600"],
            ("set-group-limit", {"group": "HQ", "limit_a": 40.5, "for_s": 600}),
        ),
        (
            ["get-config", "CP1", "HeartbeatInterval", "MeterValueSampleInterval"],
            ("get-config", {"charger": "CP1", "keys": ["HeartbeatInterval", "MeterValueSampleInterval"]}),
        ),
        (
            ["call", "CP1", "DataTransfer", "--payload", '{"vendorId": "x"}'],
            ("call", {"charger": "CP1", "action": "DataTransfer", "payload": {"vendorId": "x"}}),
        ),
        (["charger", "move", "CP1", "HQ"], ("charger-move", {"charger": "CP1", "group": "HQ"})),
    ],
)
def test_ctl_words_become_requests(argv, expected):
    cmd, args = parse_argv(argv)
    assert (cmd, args) == expected
    validate(cmd, args)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no command given"),
        (["set-priority", "CP1", "one", "5"], "connector: cannot read 'one' as int"),
        (["reset", "CP1", "Soft", "extra"], "unexpected argument 'extra'"),
        (["reset", "CP1", "--kind", "Hard"], "unknown option --kind"),
        (["reset", "CP1", "--type"], "--type needs a value"),
        (["nope"], "unknown command 'nope'"),
    ],
)
def test_ctl_words_that_make_no_request_are_named(argv, message):
    with pytest.raises(ProtocolError, match=message):
        parse_argv(argv)
