"""Pure framing: what each kind of frame decodes to, and that decoding never raises."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from balanz.wire import framing
from balanz.wire.framing import BadFrame, CallFrame, ErrorFrame, ResultFrame


def test_call_result_error_decode():
    assert framing.decode('[2,"1","Heartbeat",{}]') == CallFrame("1", "Heartbeat", {})
    assert framing.decode('[3,"1",{"a":1}]') == ResultFrame("1", {"a": 1})
    assert framing.decode('[3,"1",null]') == ResultFrame("1", {})
    assert framing.decode('[4,"1","GenericError","x",{"d":1}]') == ErrorFrame(
        "1", "GenericError", "x", {"d": 1}
    )
    assert framing.decode('[4,"1","GenericError","x"]') == ErrorFrame("1", "GenericError", "x", {})


def test_reply_id_read_from_broken_json_only_for_calls():
    assert framing.decode('[2, "abc", "Heartbeat", {').reply_to == "abc"
    assert framing.decode('[3, "abc", {').reply_to is None
    assert framing.decode("garbage").reply_to is None


def test_unknown_message_type_and_booleans_are_dropped():
    assert framing.decode('[5,"1","Heartbeat",{}]').reply_to is None
    assert framing.decode('[true,"1","Heartbeat",{}]').reply_to is None


def test_encoders_round_trip():
    uid = framing.new_message_id()
    assert framing.decode(framing.encode_call(uid, "Heartbeat", {})) == CallFrame(uid, "Heartbeat", {})
    assert framing.decode(framing.encode_result(uid, {"x": 1})) == ResultFrame(uid, {"x": 1})
    assert framing.decode(framing.encode_error(uid, "InternalError", "oops")) == ErrorFrame(
        uid, "InternalError", "oops", {}
    )


def test_message_ids_are_uuid4_within_36_chars():
    ids = {framing.new_message_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(uuid.UUID(i).version == 4 and len(i) <= framing.MESSAGE_ID_MAX for i in ids)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), json_values.map(json.dumps)))
def test_decode_never_raises(raw):
    frame = framing.decode(raw)
    assert isinstance(frame, CallFrame | ResultFrame | ErrorFrame | BadFrame)
    if isinstance(frame, BadFrame) and frame.reply_to is not None:
        assert len(frame.reply_to) > 0
