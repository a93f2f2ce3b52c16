"""R19 end to end: a SetChargingProfile whose answer comes too late (after ``server.call_timeout_s``) pins the
connector at the offer; balanz re-sends it after ``retry_initial_s`` and is settled by the next Accepted, or
— while the answers keep coming late — by the charger's Current.Offered showing the offer twice. The other
charger is served meanwhile and the chargers never allow more than the supply.

The simulated charger is made late by setting ``answer_delay_s`` (31 s, above balanz's 30 s call timeout)
once it is onboarded; a CALL takes the delay in force when it arrives.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import trio

from balanz.sim.charger import SimCharger
from balanz.sim.eventlog import Told
from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.spec import SimChargerSpec

from .test_smart_day import CAR, TAGS, SafetyWatch, SmartSite, smart_config, start_site

LATE_S = 31.0


def late(charger: SimCharger, delay_s: float) -> None:
    charger.spec = dataclasses.replace(charger.spec, quirks=QuirkFlags(answer_delay_s=delay_s))


def profile_calls(log: object, charger_id: str) -> list[Told]:
    return [
        r
        for r in log.records  # type: ignore[attr-defined]
        if isinstance(r, Told) and r.charger == charger_id and r.action == "SetChargingProfile"
    ]


async def late_site(nursery: trio.Nursery, tmp_path: Path) -> tuple[SmartSite, SafetyWatch, int]:
    """Two onboarded chargers under watch; CP1 answers late from now on and a car plugs in there. Also
    returns how many SetChargingProfile CALLs CP1 had answered before."""
    site = await start_site(nursery, smart_config(tmp_path, 2), [SimChargerSpec(id=f"CP{i}") for i in (1, 2)])
    await trio.sleep(30)
    watch = SafetyWatch(site.running.daemon, site.chargers, log=site.log)
    nursery.start_soon(watch.run)
    before = len(profile_calls(site.log, "CP1"))
    late(site.chargers[0], LATE_S)
    site.chargers[0].plug(1, CAR, tag=TAGS[0])
    return site, watch, before


async def test_a_late_answer_is_re_sent_after_the_back_off_and_settled_by_the_next_accepted(
    nursery, tmp_path, autojump_clock
):
    site, watch, before = await late_site(nursery, tmp_path)
    cp1, cp2 = site.chargers
    allocator = site.running.daemon.allocator
    await trio.sleep(5)
    late(cp1, 0.0)  # only the CALL already waiting is late
    await trio.sleep(LATE_S)
    assert allocator.state.connector(("CP1", 1)).unresolved, "no answer in time: pinned at the offer"
    cp2.plug(1, CAR, tag=TAGS[1])
    await trio.sleep(600)
    first, again = profile_calls(site.log, "CP1")[before : before + 2]
    offered = first.request["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    resent = again.request["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    assert resent == offered, "the same target again"
    # the first CALL was answered LATE_S after it arrived; the re-send went 30 s + 10 s after it arrived
    gap = again.at - (first.at - timedelta(seconds=LATE_S))
    assert timedelta(seconds=40) <= gap <= timedelta(seconds=41), gap
    cs = allocator.state.connector(("CP1", 1))
    assert not cs.unresolved
    assert cp1.limit(1).amps >= 6, "CP1 served"
    assert cp2.limit(1).amps >= 6, "CP2 served"
    assert watch.problems == []


async def test_offers_answered_late_every_time_are_settled_by_current_offered(
    nursery, tmp_path, autojump_clock
):
    site, watch, before = await late_site(nursery, tmp_path)
    cp2 = site.chargers[1]
    allocator = site.running.daemon.allocator
    cp2.plug(1, CAR, tag=TAGS[1])
    await trio.sleep(LATE_S + 1)
    assert allocator.state.connector(("CP1", 1)).unresolved
    resolved_at = None
    for _ in range(600):
        await trio.sleep(1)
        if not allocator.state.connector(("CP1", 1)).unresolved:
            resolved_at = trio.current_time()
            break
    assert resolved_at is not None, "Current.Offered showed the offer applied"
    calls = len(profile_calls(site.log, "CP1"))
    assert calls - before <= 3, "settled while re-sending with back-off, not by an answer"
    await trio.sleep(300)
    assert cp2.limit(1).amps >= 6
    assert watch.problems == []
