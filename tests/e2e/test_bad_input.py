"""Every kind of bad frame over a real socket: the right CALLERROR or a logged drop, nothing else breaks."""

from __future__ import annotations

import dataclasses
import json

import pytest
import trio
from ocpp.v16 import call, call_result
from trio_websocket import ConnectionClosed

from balanz.wire import Registry
from balanz.wire.client import open_charger_connection, open_websocket

from .conftest import make_config

HEARTBEAT = '[2,"hb-after","Heartbeat",{}]'
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "M1"}
STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


def frame(uid: str, action: str, payload: object) -> str:
    return json.dumps([2, uid, action, payload])


ANSWERED = [
    pytest.param('[2,"cut","Heartbeat",{', "cut", "FormationViolation", id="truncated-json-with-id"),
    pytest.param('[2,"p1","Heartbeat",[]]', "p1", "FormationViolation", id="payload-not-object"),
    pytest.param('[2,"short","Heartbeat"]', "short", "FormationViolation", id="call-missing-payload"),
    pytest.param('[2,"a1",17,{}]', "a1", "FormationViolation", id="action-not-string"),
    pytest.param(frame("x" * 37, "Heartbeat", {}), "x" * 37, "FormationViolation", id="id-too-long"),
    pytest.param(frame("u1", "Frobnicate", {}), "u1", "NotImplemented", id="unknown-action"),
    pytest.param(
        frame("u2", "Authorize", {"idTag": "T"}), "u2", "NotSupported", id="known-action-no-handler"
    ),
    pytest.param(
        frame("s1", "BootNotification", {"chargePointVendor": "A"}), "s1", "ProtocolError", id="missing"
    ),
    pytest.param(
        frame("s2", "BootNotification", {**BOOT, "chargePointModel": 5}),
        "s2",
        "TypeConstraintViolation",
        id="type",
    ),
    pytest.param(
        frame("s3", "StatusNotification", {**STATUS, "status": "Sleeping"}),
        "s3",
        "PropertyConstraintViolation",
        id="bad-enum",
    ),
    pytest.param(
        frame("s4", "BootNotification", {**BOOT, "chargePointVendor": "V" * 21}),
        "s4",
        "TypeConstraintViolation",
        id="too-long",
    ),
    pytest.param(
        frame("s5", "BootNotification", {**BOOT, "colour": "red"}), "s5", "FormationViolation", id="extra"
    ),
]


@pytest.mark.parametrize(("raw", "uid", "code"), ANSWERED)
async def test_bad_call_gets_callerror_and_connection_survives(site, autojump_clock, raw, uid, code):
    async with open_websocket(f"{site.url}/CP1") as ws:
        await ws.send_message(raw)
        answer = json.loads(await ws.get_message())
        assert answer[:3] == [4, uid, code]
        assert isinstance(answer[3], str)
        assert isinstance(answer[4], dict)
        await ws.send_message(HEARTBEAT)
        assert json.loads(await ws.get_message())[:2] == [3, "hb-after"]


DROPPED = [
    pytest.param("this is not json", id="not-json-no-id"),
    pytest.param('{"id": "x1"}', id="not-an-array"),
    pytest.param("[]", id="empty-array"),
    pytest.param('[7,"t1","Heartbeat",{}]', id="unknown-message-type"),
    pytest.param('[2,42,"Heartbeat",{}]', id="id-not-string"),
    pytest.param('[3,"never-sent",{}]', id="callresult-unknown-id"),
    pytest.param('[4,"never-sent","GenericError","",{}]', id="callerror-unknown-id"),
    pytest.param(b"\x00\x01\x02", id="binary-garbage"),
]


@pytest.mark.parametrize("raw", DROPPED)
async def test_unanswerable_frame_is_logged_and_dropped(site, autojump_clock, caplog, raw):
    async with open_websocket(f"{site.url}/CP1") as ws:
        await ws.send_message(raw)
        await ws.send_message(HEARTBEAT)
        assert json.loads(await ws.get_message())[:2] == [3, "hb-after"]
        assert site.server.connection("CP1").dropped_frames == 1
    assert "CP1" in caplog.text


async def test_too_few_items_is_occurence_constraint_violation(start_site, autojump_clock):
    registry = Registry()
    registry.add("MeterValues", lambda conn, **_: call_result.MeterValues())
    site = await start_site(registry=registry)
    async with open_websocket(f"{site.url}/CP1") as ws:
        await ws.send_message(frame("m1", "MeterValues", {"connectorId": 1, "meterValue": []}))
        assert json.loads(await ws.get_message())[:3] == [4, "m1", "OccurenceConstraintViolation"]


async def test_binary_frame_with_readable_call_id_gets_formation_violation(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        await ws.send_message(b'[2,"b1","Heartbeat",{}]')
        assert json.loads(await ws.get_message())[:3] == [4, "b1", "FormationViolation"]


async def test_garbage_from_one_charger_leaves_others_alone(site, autojump_clock):
    async with open_charger_connection(site.url, "CP2") as good, open_websocket(f"{site.url}/CP1") as bad:
        for raw in ("nonsense", '[2,"x","Frobnicate",{}]', b"\xff", '[3,"y",{}]'):
            await bad.send_message(raw)
        await good.call(call.Heartbeat())
        await bad.send_message(HEARTBEAT)
        while json.loads(await bad.get_message())[0] != 3:
            pass


async def test_oversized_frame_closes_with_1009_only_that_charger(start_site, autojump_clock):
    site = await start_site(make_config(max_frame_kib=1))
    async with open_charger_connection(site.url, "CP2") as good, open_websocket(f"{site.url}/CP1") as big:
        await big.send_message(frame("big", "DataTransfer", {"vendorId": "v", "data": "z" * 2048}))
        with pytest.raises(ConnectionClosed) as closed:
            await big.get_message()
        assert closed.value.reason.code == 1009
        await good.call(call.Heartbeat())
    async with open_charger_connection(site.url, "CP1") as again:
        await again.call(call.Heartbeat())
    assert trio.current_time() < 1


async def test_lenient_charger_gets_schema_violations_through_logged_once(start_site, autojump_clock, caplog):
    from balanz.config.schema import ChargerConfig

    config = dataclasses.replace(
        make_config(), charger=(ChargerConfig(id="CP1", group="site", lenient_validation=True),)
    )
    site = await start_site(config)
    odd = {"connectorId": 1, "errorCode": "Sleepy", "status": "Available"}
    async with open_websocket(f"{site.url}/CP1") as ws:
        for uid in ("l1", "l2"):
            await ws.send_message(frame(uid, "StatusNotification", odd))
            assert json.loads(await ws.get_message()) == [3, uid, {}]
        await ws.send_message(frame("l3", "BootNotification", {"chargePointVendor": "A"}))
        assert json.loads(await ws.get_message())[:3] == [4, "l3", "ProtocolError"]
    assert site.core.statuses[("CP1", 1)].error_code == "Sleepy"
    assert caplog.text.count("(lenient): accepted StatusNotification") == 1
