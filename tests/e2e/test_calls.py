"""CALLs in both directions: results, typed failures, timeouts, one outstanding CALL, hooks that call back."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from ocpp.v16 import call, call_result
from ocpp.v16.enums import ConfigurationStatus

from balanz.wire import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    ErrorCode,
    PayloadInvalid,
    Registry,
    ResponseInvalid,
)
from balanz.wire.client import open_charger_connection, open_websocket


def charger_registry(seen: list[str]) -> Registry:
    registry = Registry()

    @registry.on("ChangeConfiguration")
    def change(conn, key, value):
        seen.append(f"{key}={value}")
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @registry.on("GetConfiguration")
    def get(conn, **_):
        return call_result.GetConfiguration(configuration_key=[{"key": "K", "readonly": True, "value": "1"}])

    return registry


async def wait_connected(site, charger_id):
    while site.server.connection(charger_id) is None:
        await trio.sleep(0.01)
    return site.server.connection(charger_id)


async def test_server_call_gets_typed_result(site, autojump_clock):
    seen = []
    async with open_charger_connection(site.url, "CP1", charger_registry(seen)):
        conn = await wait_connected(site, "CP1")
        result = await conn.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="60"))
    assert result == call_result.ChangeConfiguration(status="Accepted")
    assert seen == ["MeterValueSampleInterval=60"]


async def test_call_timeout_is_exactly_the_configured_time(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")
        start = trio.current_time()
        with pytest.raises(CallTimeout) as timeout:
            await conn.call(call.GetConfiguration())
        assert trio.current_time() - start == site.server.config.server.call_timeout_s == 30
        assert timeout.value.action == "GetConfiguration"
        sent = json.loads(await ws.get_message())
        await ws.send_message(json.dumps([3, sent[1], {}]))
        await ws.send_message('[2,"hb","Heartbeat",{}]')
        await ws.get_message()
        assert conn.dropped_frames == 1, "the late answer is dropped"


async def test_one_outstanding_call_fifo(site, autojump_clock):
    results = {}
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")

        async def send(key):
            results[key] = await conn.call(call.ChangeConfiguration(key=key, value="1"))

        async with trio.open_nursery() as nursery:
            for key in ("first", "second", "third"):
                nursery.start_soon(send, key)
                await trio.testing.wait_all_tasks_blocked()
            order = []
            for _ in range(3):
                msg = json.loads(await ws.get_message())
                order.append(msg[3]["key"])
                with trio.move_on_after(10) as quiet:
                    await ws.get_message()
                assert quiet.cancelled_caught, "a second CALL went out before the first was answered"
                await ws.send_message(json.dumps([3, msg[1], {"status": "Accepted"}]))
    assert order == ["first", "second", "third"]
    assert set(results) == {"first", "second", "third"}


async def test_callerror_answer_raises_typed_exception(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_with_error, ws)
            with pytest.raises(CallErrorReceived) as refused:
                await conn.call(call.Reset(type="Soft"))
    assert (refused.value.code, refused.value.description, refused.value.details) == (
        "NotSupported",
        "no resets here",
        {"why": "demo"},
    )
    assert refused.value.charger_id == "CP1"


async def answer_with_error(ws):
    msg = json.loads(await ws.get_message())
    await ws.send_message(json.dumps([4, msg[1], "NotSupported", "no resets here", {"why": "demo"}]))


async def test_invalid_answer_raises_response_invalid(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_with, ws, {"status": "Maybe"})
            with pytest.raises(ResponseInvalid) as bad:
                await conn.call(call.Reset(type="Soft"))
    assert bad.value.problem.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


async def answer_with(ws, payload):
    msg = json.loads(await ws.get_message())
    await ws.send_message(json.dumps([3, msg[1], payload]))


async def test_invalid_outbound_payload_is_never_sent(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")
        with pytest.raises(PayloadInvalid) as bad:
            await conn.call(call.ChangeConfiguration(key="K" * 51, value="1"))
        assert bad.value.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
        with trio.move_on_after(5) as quiet:
            await ws.get_message()
        assert quiet.cancelled_caught


async def test_connection_lost_fails_pending_call_at_once(site, autojump_clock):
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close_after_call, ws)
            with pytest.raises(ConnectionLost):
                await conn.call(call.GetConfiguration())
    assert trio.current_time() < 1
    with pytest.raises(ConnectionLost):
        await conn.call(call.GetConfiguration())


async def close_after_call(ws):
    await ws.get_message()
    await ws.aclose()


async def test_handler_exception_answers_internal_error_and_stays_connected(
    start_site, autojump_clock, caplog
):
    registry = Registry()

    @registry.on("DataTransfer")
    def broken(conn, **_):
        raise RuntimeError("bug in a handler")

    site = await start_site(registry=registry)
    async with open_charger_connection(site.url, "CP1") as conn:
        with pytest.raises(CallErrorReceived) as failed:
            await conn.call(call.DataTransfer(vendor_id="acme"))
        assert failed.value.code == ErrorCode.INTERNAL_ERROR
        await conn.call(call.Heartbeat())
    assert "bug in a handler" in caplog.text


async def test_handler_may_raise_ocpp_error_for_its_code(start_site, autojump_clock):
    from ocpp.exceptions import FormatViolationError

    registry = Registry()
    registry.add("DataTransfer", lambda conn, **_: (_ for _ in ()).throw(FormatViolationError("bad data")))
    site = await start_site(registry=registry)
    async with open_charger_connection(site.url, "CP1") as conn:
        with pytest.raises(CallErrorReceived) as failed:
            await conn.call(call.DataTransfer(vendor_id="acme"))
    assert (failed.value.code, failed.value.description) == ("FormationViolation", "bad data")


async def test_handler_returning_invalid_result_answers_internal_error(start_site, autojump_clock):
    registry = Registry()
    registry.add("DataTransfer", lambda conn, **_: {"status": "Perhaps"})
    site = await start_site(registry=registry)
    async with open_charger_connection(site.url, "CP1") as conn:
        with pytest.raises(CallErrorReceived) as failed:
            await conn.call(call.DataTransfer(vendor_id="acme"))
    assert failed.value.code == ErrorCode.INTERNAL_ERROR


async def test_after_hook_calls_charger_back_without_deadlock(start_site, autojump_clock):
    registry = Registry()
    fetched = []
    done = trio.Event()

    @registry.after("BootNotification")
    async def configure(conn, charge_point_vendor, **_):
        result = await conn.call(call.GetConfiguration(key=["K"]))
        fetched.append((charge_point_vendor, result.configuration_key))
        done.set()

    site = await start_site(registry=registry)
    async with open_charger_connection(site.url, "CP1", charger_registry([])) as conn:
        await conn.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="M"))
        await done.wait()
    assert fetched == [("Acme", [{"key": "K", "readonly": True, "value": "1"}])]
    assert trio.current_time() < 1


async def test_handler_may_call_back_inline(start_site, autojump_clock):
    registry = Registry()

    @registry.on("DataTransfer")
    async def ask_back(conn, **_):
        result = await conn.call(call.ChangeConfiguration(key="Asked", value="yes"))
        return call_result.DataTransfer(status="Accepted", data=result.status)

    site = await start_site(registry=registry)
    seen = []
    async with open_charger_connection(site.url, "CP1", charger_registry(seen)) as conn:
        answer = await conn.call(call.DataTransfer(vendor_id="acme"))
    assert (answer.data, seen) == ("Accepted", ["Asked=yes"])


async def test_failing_after_hook_is_logged_and_connection_lives(start_site, autojump_clock, caplog):
    registry = Registry()
    registry.add_after("Heartbeat", lambda conn, **_: 1 / 0)
    site = await start_site(registry=registry)
    async with open_charger_connection(site.url, "CP1") as conn:
        await conn.call(call.Heartbeat())
        await trio.sleep(1)
        await conn.call(call.Heartbeat())
    assert "after-hook" in caplog.text


async def test_crossing_calls_are_both_answered(site, autojump_clock):
    """OCPP-J 1.6 §4.1.1 note: CALLs from both sides may cross; neither side waits for the other."""
    async with open_websocket(f"{site.url}/CP1") as ws:
        conn = await wait_connected(site, "CP1")

        async def charger_side():
            ours = json.loads(await ws.get_message())
            await ws.send_message('[2,"cross","Heartbeat",{}]')
            assert json.loads(await ws.get_message())[:2] == [3, "cross"]
            await ws.send_message(json.dumps([3, ours[1], {"configurationKey": []}]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(charger_side)
            result = await conn.call(call.GetConfiguration())
    assert result.configuration_key == []
