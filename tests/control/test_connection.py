"""The daemon's per-connection request checks: hello first, validation, access, line limits."""

import json

import pytest

from balanz.control.connection import ControlConnection, LineTooLong
from balanz.control.protocol import Access, ErrorReply, Request, encode

HELLO = b'{"id": 1, "cmd": "hello", "args": {"protocol": 1, "client": "test"}}\n'


def test_hello_first_then_validated_requests():
    conn = ControlConnection(Access.CONTROL)
    [early] = conn.receive(b'{"id": 0, "cmd": "status"}\n')
    assert early == ErrorReply(0, "InvalidArgs", "status: send 'hello' first")
    [hello] = conn.receive(HELLO)
    assert hello == Request(1, "hello", {"protocol": 1, "client": "test"})
    assert conn.client == "test"
    [reset] = conn.receive(b'{"id": 2, "cmd": "reset", "args": {"charger": "CP1"}}\n')
    assert reset == Request(2, "reset", {"charger": "CP1", "type": "Soft"})
    [again] = conn.receive(HELLO)
    assert again.code == "InvalidArgs"


def test_the_hello_reply_carries_version_mode_and_access():
    conn = ControlConnection(Access.READONLY)
    [hello] = conn.receive(HELLO)
    reply = json.loads(encode(conn.hello_reply(hello, version="0.1.0", mode="lc", site="Campus")))
    assert reply["result"] == {
        "protocol": 1,
        "version": "0.1.0",
        "mode": "lc",
        "access": "readonly",
        "site": "Campus",
    }


def test_read_only_socket_refuses_commands_that_change_things():
    conn = ControlConnection(Access.READONLY)
    conn.receive(HELLO)
    views, change = conn.receive(
        b'{"id": 2, "cmd": "snapshot"}\n{"id": 3, "cmd": "suspend-group", "args": {"group": "HQ"}}\n'
    )
    assert views == Request(2, "snapshot", {})
    assert change == ErrorReply(
        3, "ReadOnly", "suspend-group: this socket is read-only; use the control socket"
    )


def test_a_bad_line_gets_its_error_and_the_lines_after_it_still_count():
    conn = ControlConnection(Access.CONTROL)
    conn.receive(HELLO)
    bad, good = conn.receive(b'{not json\n{"id": 5, "cmd": "tags"}\n')
    assert isinstance(bad, ErrorReply)
    assert bad.id is None
    assert good == Request(5, "tags", {})


def test_requests_split_across_reads_are_joined():
    conn = ControlConnection(Access.CONTROL)
    assert conn.receive(HELLO[:10]) == []
    assert conn.receive(HELLO[10:]) == [Request(1, "hello", {"protocol": 1, "client": "test"})]


def test_an_overlong_line_ends_the_connection():
    conn = ControlConnection(Access.CONTROL, max_line=100)
    with pytest.raises(LineTooLong):
        conn.receive(b'{"id": 1, "cmd": "' + b"x" * 200)
