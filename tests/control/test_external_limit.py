"""The external-limit input (issue 6) over the control socket, on virtual time: a site-meter script pushes the
headroom every few seconds; while it does the group obeys it, once it stops the group falls back to
``external_fallback_a`` — visible in the snapshot and in what the simulated charger is offered."""

from __future__ import annotations

import dataclasses

import pytest
import trio

from balanz.config.schema import GroupConfig, ModeConfig
from balanz.control.requests import parse_argv
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.spec import SimChargerSpec
from tests.control.server_harness import Client, close_clients, start
from tests.control.test_allocation_fields import CAR, Site, smart_monitor_config

FALLBACK_A = 10


@pytest.fixture
async def site(nursery, tmp_path):
    config = smart_monitor_config(tmp_path, max_offer_increase_a=32, min_offer_increase_interval_s=1)
    site_group = GroupConfig(id="site", max_allocation="40", external_fallback_a=FALLBACK_A)
    config = dataclasses.replace(config, group=(site_group, *config.group[1:]), charger=config.charger[:1])
    running = await start(nursery, config)
    charger = SimCharger(SimChargerSpec(id="CP1"), running.url, clock=SimClock.starting(running.clock.now()))
    await nursery.start(charger.run)
    await charger.wait_booted()
    client = await Client.connect(running.path)
    await client.ok("subscribe", {"topics": ["state"]})
    await client.next_push("snapshot")
    yield Site(running, [charger], client)
    await close_clients()
    await running.stop()


async def push_headroom(path: str, amps: float, every_s: float, valid_s: float, task_status) -> None:
    """The site-meter script: its own connection, one request every ``every_s``."""
    client = await Client.connect(path)
    task_status.started()
    while True:
        result = await client.ok(
            "set-external-limit", {"group": "site", "headroom_a": amps, "valid_s": valid_s}
        )
        assert result["applied"] is True
        await trio.sleep(every_s)


async def test_the_group_follows_the_pushed_limit_and_falls_back_when_it_stops(autojump_clock, site):
    site.chargers[0].plug(1, CAR, tag="ALICE")
    await site.settle(120)
    group = site.snapshot().group("site")
    assert group is not None
    assert group.external is not None
    assert group.external.stale, "no limit received yet: the fallback is in force"
    assert group.limit_a == FALLBACK_A
    assert group.rules == ('slot 1 "*>0=40"', f"external fallback {FALLBACK_A} A")
    conn = site.connector("CP1")
    assert conn.target_a == FALLBACK_A

    # valid_s beyond schedule_lead_s (60 s): the live limit may raise the group above its fallback.
    async with trio.open_nursery() as meter:
        await meter.start(push_headroom, site.running.path, 25, 5, 90)
        await site.settle(300)
        group = site.snapshot().group("site")
        assert group is not None
        assert group.external is not None
        assert not group.external.stale
        assert (group.external.limit_a, group.limit_a) == (25, 25)
        assert "external limit 25 A" in group.rules
        assert site.connector("CP1").target_a == 25
        assert site.chargers[0].limit(1).amps == 25, "the charger itself allows the pushed limit"
        meter.cancel_scope.cancel()
    await site.settle(200)
    group = site.snapshot().group("site")
    assert group is not None
    assert group.external is not None
    assert group.external.stale, "the pushes stopped 200 s ago and each was valid for 90 s"
    assert group.limit_a == FALLBACK_A
    assert site.connector("CP1").target_a == FALLBACK_A
    assert site.chargers[0].limit(1).amps <= FALLBACK_A


async def test_a_short_validity_can_only_lower_the_group(autojump_clock, site):
    """A limit valid for less than schedule_lead_s is always about to go stale, so the fallback stays in the
    look-ahead window: the group gets the lower of the two."""
    site.chargers[0].plug(1, CAR, tag="ALICE")
    async with trio.open_nursery() as meter:
        await meter.start(push_headroom, site.running.path, 25, 5, 10)
        await site.settle(300)
        group = site.snapshot().group("site")
        assert group is not None
        assert group.lookahead
        assert site.connector("CP1").target_a == FALLBACK_A
        meter.cancel_scope.cancel()
    async with trio.open_nursery() as meter:
        await meter.start(push_headroom, site.running.path, 7, 5, 10)
        await site.settle(120)
        assert site.connector("CP1").target_a == 7
        meter.cancel_scope.cancel()


async def test_refusals_name_the_problem(autojump_clock, site):
    client = site.client
    code, message = await client.error("set-external-limit", {"group": "staff", "headroom_a": 20})
    assert code == "Refused"
    assert "staff takes no external limit" in message
    assert "external_fallback_a" in message
    code, _ = await client.error("set-external-limit", {"group": "nowhere", "headroom_a": 20})
    assert code == "NoSuchGroup"
    code, message = await client.error("set-external-limit", {"group": "site", "headroom_a": -1})
    assert code == "InvalidArgs"
    assert "headroom_a" in message


async def test_refused_without_smart_charging(autojump_clock, nursery, tmp_path):
    config = smart_monitor_config(tmp_path)
    config = dataclasses.replace(config, mode=ModeConfig(smart_charging=False))
    running = await start(nursery, config)
    client = await Client.connect(running.path)
    code, message = await client.error("set-external-limit", {"group": "site", "headroom_a": 20})
    assert code == "Refused"
    assert "smart charging is off" in message
    await close_clients()
    await running.stop()


def test_ctl_spelling():
    assert parse_argv(["external-limit", "--group", "site", "--headroom", "20", "--valid", "10"]) == (
        "set-external-limit",
        {"group": "site", "headroom_a": 20.0, "valid_s": 10.0},
    )
