"""Charger commands over the control socket against a scripted charger: the answer, or the protocol's
error code for each way a command can fail."""

from __future__ import annotations

import pytest
import trio

from balanz.charging.probe import PROBE_KEYS
from tests.control.server_harness import Client, close_clients, control_config, start
from tests.e2e.csms_charger import scripted_charger

PROBE = {"key": list(PROBE_KEYS)}


@pytest.fixture
async def running(nursery, tmp_path):
    yield await start(nursery, control_config(tmp_path))
    await close_clients()


async def test_each_charger_command_reaches_the_charger(autojump_clock, running):
    client = await Client.connect(running.path)
    async with scripted_charger(running.url, "CP1", running.clock) as cp1:
        await cp1.boot()
        result = await client.ok("remote-start", {"charger": "CP1", "connector": 1, "id_tag": "alice"})
        assert result["answer"] == {"status": "Accepted"}
        assert await client.ok("reset", {"charger": "Garage", "type": "Hard"})
        trig = {"charger": "CP1", "message": "StatusNotification", "connector": 1}
        assert (await client.ok("trigger", trig))["answer"]["status"] == "Accepted"
        config = await client.ok("get-config", {"charger": "CP1", "keys": ["HeartbeatInterval"]})
        assert config["answer"]["configurationKey"][0]["value"] == "120"
        await client.ok("set-config", {"charger": "CP1", "key": "MeterValueSampleInterval", "value": "60"})
        assert (await client.ok("unlock", {"charger": "CP1", "connector": 2}))["answer"][
            "status"
        ] == "Unlocked"
        await client.ok("availability", {"charger": "CP1", "type": "Inoperative"})
        await client.ok("clear-cache", {"charger": "CP1"})
        await client.ok("call", {"charger": "CP1", "action": "ClearCache", "payload": {}})
        tx = (await cp1.start(1, "alice", 0))["transactionId"]
        stop = await client.ok("remote-stop", {"charger": "CP1", "connector": 1})
        assert stop["request"] == {"transactionId": tx}
    # The allocator's onboarding probes the charger after its boot (profiles.md §4); the rest is ours.
    received = [(a, p) for a, p in cp1.received if not (a == "GetConfiguration" and p == PROBE)]
    assert [action for action, _ in received] == [
        "RemoteStartTransaction",
        "Reset",
        "TriggerMessage",
        "GetConfiguration",
        "ChangeConfiguration",
        "UnlockConnector",
        "ChangeAvailability",
        "ClearCache",
        "ClearCache",
        "RemoteStopTransaction",
    ]
    assert received[0][1] == {"connector_id": 1, "id_tag": "ALICE"}
    assert received[1][1] == {"type": "Hard"}
    assert received[6][1] == {"connector_id": 0, "type": "Inoperative"}


async def test_unknown_things_and_offline_chargers(autojump_clock, running):
    client = await Client.connect(running.path)
    code, message = await client.error("reset", {"charger": "CP9"})
    assert code == "NoSuchCharger"
    assert "CP9" in message
    assert (await client.error("unlock", {"charger": "CP1", "connector": 7}))[0] == "NoSuchConnector"
    code, message = await client.error("clear-cache", {"charger": "CP2"})
    assert code == "NotConnected"
    assert "CP2" in message
    assert (await client.error("remote-stop", {"charger": "CP1", "connector": 1}))[0] == "NotInTransaction"
    assert (await client.error("firmware-options", {"charger": "CP9"}))[0] == "NoSuchCharger"
    assert await client.ok("firmware-options", {"charger": "CP1"}) == []


async def test_refusals_charger_errors_and_timeouts(autojump_clock, running):
    client = await Client.connect(running.path)
    answers = {"Reset": {"status": "Rejected"}, "UnlockConnector": {"status": "UnlockFailed"}}
    async with scripted_charger(running.url, "CP1", running.clock, ClearCache="hang", **answers) as cp1:
        await cp1.boot()
        code, message = await client.error("reset", {"charger": "CP1"})
        assert (code, message) == ("ChargerError", "Reset to charger CP1: answered Rejected")
        assert (await client.error("unlock", {"charger": "CP1", "connector": 1}))[0] == "ChargerError"
        code, message = await client.error("diagnostics", {"charger": "CP1", "location": "ftp://x/"})
        assert code == "ChargerError"
        assert "NotImplemented" in message or "NotSupported" in message
        assert (await client.error("composite", {"charger": "CP1"}))[0] == "ChargerError"
        code, message = await client.error(
            "set-config", {"charger": "CP1", "key": "AuthorizationKey", "value": "x"}
        )
        assert code == "Refused"
        assert "reset-auth" in message
        code, message = await client.error("trigger", {"charger": "CP1", "message": "BootNotification"})
        assert code == "Refused"
        assert "errata" in message
        code, message = await client.error("update-firmware", {"charger": "CP1", "location": "fw-9"})
        assert code == "Refused"
        assert "fw-9" in message
        profile = {"charger": "CP1", "action": "SetChargingProfile", "payload": {}}
        code, message = await client.error("call", profile)
        assert code == "Refused"
        assert "smart charging" in message
        began = trio.current_time()
        code, message = await client.error("clear-cache", {"charger": "CP1"})
        assert code == "Timeout"
        assert trio.current_time() - began >= 30
        # another client is served while a command waits for its charger
        other = await Client.connect(running.path)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.error, "clear-cache", {"charger": "CP1"})
            await trio.sleep(1)
            began = trio.current_time()
            assert (await other.ok("status"))["connected"] == 1
            assert trio.current_time() - began < 1
