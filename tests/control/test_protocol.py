"""NDJSON framing and message shapes (flows.md §4.2)."""

import json

import pytest

from balanz.control.protocol import (
    ErrorCode,
    ErrorReply,
    LineDecoder,
    LineTooLong,
    ProtocolError,
    Push,
    Reply,
    Request,
    encode,
    parse_request,
    parse_server_message,
)


def test_each_message_is_one_line_in_the_documented_shape():
    assert json.loads(encode(Request(7, "set-priority", {"priority": 5}))) == {
        "id": 7,
        "cmd": "set-priority",
        "args": {"priority": 5},
    }
    assert json.loads(encode(Reply(7, {"x": 1}))) == {"id": 7, "ok": True, "result": {"x": 1}}
    assert json.loads(encode(ErrorReply(7, ErrorCode.NO_SUCH_CHARGER, "no charger 'CP9'"))) == {
        "id": 7,
        "ok": False,
        "error": {"code": "NoSuchCharger", "message": "no charger 'CP9'"},
    }
    line = encode(Push("delta", 3, {"at": "t"}))
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {"event": "delta", "seq": 3, "data": {"at": "t"}}


def test_non_ascii_travels_as_utf8_and_newlines_inside_strings_are_escaped():
    line = encode(Reply(1, {"user": "Søren\nNæss"}))
    assert line.count(b"\n") == 1
    assert parse_server_message(json.loads(line)) == Reply(1, {"user": "Søren\nNæss"})


def test_decoder_splits_lines_across_reads():
    dec = LineDecoder(1000)
    assert dec.feed(b'{"a": 1}\n{"b"') == [{"a": 1}]
    assert dec.feed(b": 2}\n\n") == [{"b": 2}]
    assert dec.feed(b"") == []


def test_decoder_refuses_a_line_over_the_limit_even_before_its_newline():
    dec = LineDecoder(16)
    with pytest.raises(LineTooLong):
        dec.feed(b'{"a": "' + b"x" * 20)
    with pytest.raises(LineTooLong):
        LineDecoder(16).feed(b'{"a": "' + b"x" * 20 + b'"}\n')


def test_decoder_names_bad_json():
    with pytest.raises(ProtocolError, match="not a JSON line") as exc:
        LineDecoder(100).feed(b"{nope\n")
    assert exc.value.code is ErrorCode.INVALID_ARGS


@pytest.mark.parametrize(
    ("data", "message", "request_id"),
    [
        ([1], "a request must be a JSON object", None),
        ({"cmd": "status"}, "request needs an 'id'", None),
        ({"id": True, "cmd": "status"}, "request needs an 'id'", None),
        ({"id": 4}, "request needs a 'cmd'", 4),
        ({"id": "a", "cmd": "status", "args": [1]}, "status: 'args' must be an object", "a"),
    ],
)
def test_malformed_requests_get_an_error_naming_the_problem_and_the_id(data, message, request_id):
    with pytest.raises(ProtocolError) as exc:
        parse_request(data)
    assert message in exc.value.message
    assert exc.value.reply().id == request_id
    assert exc.value.reply().code == "InvalidArgs"


def test_request_args_default_to_empty():
    assert parse_request({"id": 1, "cmd": "status"}) == Request(1, "status", {})


def test_server_messages_are_told_apart_and_extra_keys_ignored():
    assert parse_server_message({"event": "log", "seq": 2, "data": {}, "v": 2}) == Push("log", 2, {})
    assert parse_server_message({"id": 1, "ok": True}) == Reply(1, None)
    assert parse_server_message({"id": 1, "ok": False, "error": {"code": "Timeout"}}) == ErrorReply(
        1, "Timeout", ""
    )
    with pytest.raises(ProtocolError):
        parse_server_message({"id": 1})
    with pytest.raises(ProtocolError):
        parse_server_message({"event": "delta", "seq": "1"})
