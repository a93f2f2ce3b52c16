"""Allocator intents, tags, sessions, logs and runtime chargers over the control socket."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

import pytest
import trio

from balanz.config.schema import GroupConfig, ModeConfig
from balanz.control.snapshot import Snapshot
from balanz.store import RuntimeCharger, Store
from tests.control.server_harness import Client, close_clients, control_config, start
from tests.e2e.csms_charger import T0, scripted_charger


@pytest.fixture
async def running(nursery, tmp_path):
    config = control_config(tmp_path)
    config = dataclasses.replace(config, group=(*config.group, GroupConfig(id="annex")))
    with Store(config.store.path) as store:
        store.register_charger(RuntimeCharger("RT1", "site", 1, T0, alias="Visitor"))
    yield await start(nursery, config)
    await close_clients()


async def snapshot(client: Client) -> Snapshot:
    return Snapshot.from_json(await client.ok("snapshot"))


async def test_priority_overrides_are_stored_and_shown(autojump_clock, running):
    client = await Client.connect(running.path)
    code, message = await client.error("set-priority", {"charger": "CP1", "connector": 2, "priority": 7})
    assert code == "NotInTransaction"
    assert "CP1/2" in message
    assert running.store.priority_overrides() == {}
    async with scripted_charger(running.url, "CP1", running.clock) as cp1:
        await cp1.boot()
        tx = (await cp1.start(2, "bob", 100))["transactionId"]
        result = await client.ok("set-priority", {"charger": "CP1", "connector": 2, "priority": 7})
        assert result["applied"] is True
        stored = running.store.priority_overrides()[("CP1", 2)]
        assert (stored.priority, stored.transaction_id) == (7, tx)
        conn = (await snapshot(client)).charger("CP1").connectors[1]
        assert (conn.priority, conn.priority_source) == (7, "operator")
        await client.ok("clear-priority", {"charger": "CP1", "connector": 2})
        assert running.store.priority_overrides() == {}
        conn = (await snapshot(client)).charger("CP1").connectors[1]
        assert conn.priority_source != "operator"
    assert (await client.error("set-priority", {"charger": "CP1", "connector": 3, "priority": 1}))[0] == (
        "NoSuchConnector"
    )
    assert (await client.error("set-priority", {"charger": "X", "connector": 1, "priority": 1}))[0] == (
        "NoSuchCharger"
    )


async def test_group_and_connector_suspension(autojump_clock, running):
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["state", "events"]})
    await client.next_push("snapshot")
    await client.ok("suspend-group", {"group": "site"})
    assert "site" in running.store.suspended_groups()
    audit = await client.next_push("event")
    assert audit["data"]["kind"] == "audit"
    assert "suspend-group site" in audit["data"]["text"]
    await client.next_push("delta")
    assert client.snapshot.group("site").suspended
    await client.ok("resume-group", {"group": "site"})
    assert running.store.suspended_groups() == {}
    await client.ok("suspend-connector", {"charger": "CP1", "connector": 1})
    conn = (await snapshot(client)).charger("CP1").connectors[0]
    assert conn.suspended
    assert conn.suspend_reason.startswith("operator")
    await client.ok("resume-connector", {"charger": "CP1", "connector": 1})
    assert not (await snapshot(client)).charger("CP1").connectors[0].suspended
    code, message = await client.error("suspend-group", {"group": "nowhere"})
    assert code == "NoSuchGroup"
    assert "nowhere" in message


async def test_group_limit_override_expires(autojump_clock, running):
    client = await Client.connect(running.path)
    before = running.clock.now()
    await client.ok("set-group-limit", {"group": "site", "limit_a": 20, "for_s": 600})
    after = running.clock.now()
    override = (await snapshot(client)).group("site").override
    assert override.limit_a == 20
    until = datetime.fromisoformat(override.until.replace("Z", "+00:00"))
    assert before + timedelta(seconds=600) <= until <= after + timedelta(seconds=600)
    await trio.sleep(601)
    assert (await snapshot(client)).group("site").override is None
    assert running.store.group_limits() == {}, "an expired limit leaves the store too"
    code, message = await client.error("set-group-limit", {"group": "annex", "limit_a": 10})
    assert code == "Refused"
    assert "no max_allocation" in message
    assert running.store.group_limits() == {}
    await client.ok("set-group-limit", {"group": "site", "limit_a": 10})
    await client.ok("clear-group-limit", {"group": "site"})
    assert (await snapshot(client)).group("site").override is None
    assert running.store.group_limits() == {}
    assert (await client.error("set-group-limit", {"group": "site", "limit_a": -1}))[0] == "InvalidArgs"


class Hooks:
    def __init__(self):
        self.calls = []

    def priority_changed(self, charger_id, connector_id, priority):
        self.calls.append(("priority", charger_id, connector_id, priority))
        return "reallocated"

    def group_suspended(self, group_id, suspended):
        self.calls.append(("group", group_id, suspended))
        return "frozen"

    def connector_suspended(self, charger_id, connector_id, suspended):
        self.calls.append(("connector", charger_id, connector_id, suspended))
        return "offer withdrawn"

    def group_limit_changed(self, group_id, limit):
        self.calls.append(("limit", group_id, limit and limit.limit_a))
        return "limit applied"

    async def profiles(self, charger_id, action):
        self.calls.append(("profiles", charger_id, action))
        return f"{action} sent"


async def test_an_attached_allocator_hears_every_intent(autojump_clock, running):
    client = await Client.connect(running.path)
    running.daemon.control.allocator = None  # as in a daemon without smart charging
    assert (await client.error("reassert-profiles", {"charger": "CP1"}))[0] == "Refused"
    hooks = Hooks()
    running.daemon.control.allocator = hooks
    running.daemon.control.providers.append(
        lambda snap: dataclasses.replace(
            snap, groups=tuple(dataclasses.replace(g, limit_a=32.0) for g in snap.groups)
        )
    )
    async with scripted_charger(running.url, "CP1", running.clock) as cp1:
        await cp1.boot()
        await cp1.start(1, "bob", 100)
        result = await client.ok("set-priority", {"charger": "CP1", "connector": 1, "priority": 4})
    assert result == {"note": "reallocated", "applied": True}
    await client.ok("suspend-group", {"group": "site"})
    await client.ok("suspend-connector", {"charger": "CP1", "connector": 1})
    await client.ok("set-group-limit", {"group": "site", "limit_a": 16})
    await client.ok("clear-group-limit", {"group": "site"})
    for cmd, action in (
        ("reassert-profiles", "reassert"),
        ("release-profiles", "release"),
        ("release-offline", "release-offline"),
    ):
        assert await client.ok(cmd, {"charger": "CP1"}) == {"note": f"{action} sent", "applied": True}
    assert hooks.calls == [
        ("priority", "CP1", 1, 4),
        ("group", "site", True),
        ("connector", "CP1", 1, True),
        ("limit", "site", 16.0),
        ("limit", "site", None),
        ("profiles", "CP1", "reassert"),
        ("profiles", "CP1", "release"),
        ("profiles", "CP1", "release-offline"),
    ]
    assert (await snapshot(client)).group("site").limit_a == 32.0


async def test_without_smart_charging_allocator_commands_are_refused(autojump_clock, nursery, tmp_path):
    config = dataclasses.replace(control_config(tmp_path), mode=ModeConfig(smart_charging=False))
    other = await start(nursery, config)
    client = await Client.connect(other.path)
    code, message = await client.error("suspend-group", {"group": "site"})
    assert code == "Refused"
    assert "smart_charging" in message
    assert other.store.suspended_groups() == {}
    assert (await client.error("set-priority", {"charger": "CP1", "connector": 1, "priority": 2}))[
        0
    ] == "Refused"
    async with scripted_charger(other.url, "CP1", other.clock) as cp1:
        await cp1.boot()
        profile = {"charger": "CP1", "action": "ClearChargingProfile", "payload": {}}
        code, message = await client.error("call", profile)
        assert code == "ChargerError"  # sent: the scripted charger does not implement it
        assert [action for action, _ in cp1.received] == []


async def test_tags(autojump_clock, running):
    client = await Client.connect(running.path)
    tags = {t["id"]: t for t in await client.ok("tags")}
    assert tags["ALICE"]["origin"] == "config"
    assert tags["ALICE"]["parent"] == "FLEET"
    added = await client.ok("tag-add", {"id_tag": "newcard", "user": "Nina", "priority": 5})
    assert (added["id"], added["user"], added["priority"], added["origin"]) == (
        "NEWCARD",
        "Nina",
        5,
        "runtime",
    )
    assert (await client.error("tag-add", {"id_tag": "NEWCARD"}))[0] == "Refused"
    assert (await client.ok("tag-set", {"id_tag": "NEWCARD", "user": "Nina B"}))["user"] == "Nina B"
    blocked = await client.ok("tag-block", {"id_tag": "alice"})
    assert (blocked["status"], blocked["origin"]) == ("Blocked", "override")
    assert (await client.ok("tag-unblock", {"id_tag": "ALICE"}))["status"] == "Activated"
    assert await client.ok("tag-delete", {"id_tag": "NEWCARD"}) == {"id": "NEWCARD", "deleted": True}
    code, message = await client.error("tag-block", {"id_tag": "NOPE"})
    assert code == "NoSuchTag"
    assert "NOPE" in message
    async with scripted_charger(running.url, "CP2", running.clock) as cp2:
        await cp2.boot()
        assert (await cp2.authorize("alice"))["status"] == "Accepted"
        await client.ok("tag-block", {"id_tag": "ALICE"})
        assert (await cp2.authorize("alice"))["status"] == "Blocked"


async def test_sessions_export_and_logs(autojump_clock, running):
    client = await Client.connect(running.path)
    async with scripted_charger(running.url, "CP2", running.clock) as cp2:
        await cp2.boot()
        tx = (await cp2.start(1, "bob", 100))["transactionId"]
        await trio.sleep(300)
        await cp2.stop(tx, 2100)
    sessions = await client.ok("sessions", {"charger": "CP2"})
    assert len(sessions) == 1
    assert (sessions[0]["transaction_id"], sessions[0]["energy_wh"], sessions[0]["id_tag"]) == (
        tx,
        2000,
        "BOB",
    )
    assert await client.ok("sessions", {"tag": "alice"}) == []
    csv_text = await client.ok("export-sessions", {"group": "site"})
    assert csv_text.splitlines()[0].startswith("session_id") or "charger" in csv_text.splitlines()[0]
    assert "CP2" in csv_text.splitlines()[1]
    jsonl = await client.ok("export-sessions", {"format": "jsonl"})
    assert len(jsonl.splitlines()) == 1
    await client.ok("suspend-group", {"group": "site"})
    logging.getLogger("balanz.test").warning("find me in the buffer")
    lines = await client.ok("logs", {"grep": "find me"})
    assert [line["message"] for line in lines] == ["find me in the buffer"]
    audit = await client.ok("logs", {"logger": "audit"})
    assert any(line["level"] == "AUDIT" and "suspend-group site" in line["message"] for line in audit)
    await client.ok("log-level", {"logger": "balanz.test", "level": "ERROR"})
    assert logging.getLogger("balanz.test").level == logging.ERROR
    logging.getLogger("balanz.test").setLevel(logging.NOTSET)


async def test_runtime_chargers_auth_and_views(autojump_clock, running):
    client = await Client.connect(running.path)
    assert await client.ok("charger-move", {"charger": "Visitor", "group": "annex"}) == {
        "charger": "RT1",
        "group": "annex",
    }
    assert running.store.runtime_charger("RT1").group_id == "annex"
    assert (await snapshot(client)).charger("RT1").group == "annex"
    assert (await client.error("charger-move", {"charger": "CP1", "group": "annex"}))[0] == "Refused"
    assert (await client.error("charger-move", {"charger": "RT1", "group": "nowhere"}))[0] == "NoSuchGroup"
    assert (await client.error("charger-forget", {"charger": "CP1"}))[0] == "Refused"
    assert (await client.ok("charger-forget", {"charger": "RT1"}))["charger"] == "RT1"
    assert running.store.runtime_charger("RT1") is None
    assert (await client.ok("reset-auth", {"charger": "CP1"}))["charger"] == "CP1"
    assert (await client.error("reset-auth", {"charger": "CP9"}))[0] == "NoSuchCharger"
    status = await client.ok("status")
    assert (status["mode"], status["chargers"], status["connected"], status["monitor_clients"]) == (
        "csms",
        4,
        0,
        1,
    )
    assert status["store"]["schema_version"] >= 1
    config = await client.ok("config")
    assert config["server"]["host"] == "127.0.0.1"
    assert [c["id"] for c in config["charger"]] == ["CP1", "CP2", "CP3"]
    code, message = await client.error("reload")
    assert code == "Refused"
    assert "built-in defaults" in message
    assert (await client.error("upstream"))[0] == "Refused"
    assert (await client.error("outbox", {"charger": "CP1"}))[0] == "Refused"
