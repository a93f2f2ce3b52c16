"""Clock faults end to end: the host's clock is stepped while cars charge (a board without RTC that booted
with a stale clock, then NTP corrected it). balanz follows the step, so the schedule's slots apply at the
chargers' — the real — time, and the group stays within its limit on the chargers' own reckoning.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import trio

from balanz.clock import SiteClock
from balanz.sim.charger import SimCharger
from balanz.sim.clock import SimClock
from balanz.sim.eventlog import EventLog
from balanz.sim.spec import SimChargerSpec

from .csms_charger import start_daemon
from .test_smart_day import CAR, T0, smart_config

SLOTS = "00:00-08:59>0=32;*>0=16"


class HostClock:
    """What the host believes the time is: the true time plus ``error``, which NTP may step to zero."""

    def __init__(self, error: timedelta) -> None:
        self.error = error
        self.origin = trio.current_time()

    def true(self) -> datetime:
        return T0 + timedelta(seconds=trio.current_time() - self.origin)

    def __call__(self) -> datetime:
        return self.true() + self.error


async def _site(nursery: trio.Nursery, tmp_path, host: HostClock) -> tuple[object, list[SimCharger]]:
    config = smart_config(tmp_path, 2, supply=SLOTS)
    running = await start_daemon(nursery, config, SiteClock(host(), wall=host), follow_wall_clock=True)
    clock = SimClock.starting(T0)  # the chargers keep the true time
    chargers = [
        SimCharger(SimChargerSpec(id=f"CP{i}"), running.url, clock=clock, events=EventLog()) for i in (1, 2)
    ]
    for charger in chargers:
        await nursery.start(charger.run)
    for charger in chargers:
        await charger.wait_booted()
    return running, chargers


async def test_a_host_clock_stepped_forward_puts_the_slots_back_on_real_time(
    nursery, tmp_path, autojump_clock
):
    """The host starts one hour behind; NTP steps it at 08:30. Without following the step balanz would
    keep 32 A until 10:00 real time, an hour into the 16 A slot."""
    host = HostClock(timedelta(hours=-1))
    running, chargers = await _site(nursery, tmp_path, host)
    for charger, tag in zip(chargers, ("ALICE", "BOB"), strict=True):
        charger.plug(1, CAR, tag=tag)
    problems: list[str] = []
    worst_after_nine = 0.0

    async def watch() -> None:
        nonlocal worst_after_nine
        while True:
            now = host.true()
            allowed = sum(c.limit(n).amps for c in chargers for n in c.transactions())
            limit = 32 if now.hour < 9 else 16
            if allowed > limit:
                problems.append(f"{now:%H:%M:%S} real time: chargers allow {allowed} A > {limit} A")
            if now.hour >= 9:
                worst_after_nine = max(worst_after_nine, allowed)
            await trio.sleep(1)

    nursery.start_soon(watch)
    await trio.sleep(25 * 60)
    assert sum(c.limit(1).amps for c in chargers) > 16, "both cars share the 32 A slot"
    await trio.sleep_until(host.origin + 30 * 60)
    host.error = timedelta(0)
    await trio.sleep(60 * 60)
    daemon = running.daemon
    assert abs((daemon.allocator.clock.now() - host.true()).total_seconds()) < 1
    assert problems == []
    assert 12 <= worst_after_nine <= 16, "the 16 A slot applied at 09:00 real time and was used"
    assert all(c.transactions() for c in chargers)


async def test_a_host_clock_ahead_of_the_chargers_dates_profiles_in_their_time(
    nursery, tmp_path, autojump_clock
):
    """The host runs 20 minutes ahead of the chargers, then is stepped back while cars charge. Profiles
    dated by the host's clock would start 15 minutes in the chargers' future (P4: none in force, both cars
    at 32 A on a 32 A supply); dated in the chargers' time they hold at every instant, before and after."""
    host = HostClock(timedelta(minutes=20))
    running, chargers = await _site(nursery, tmp_path, host)
    chargers[0].plug(1, CAR, tag="ALICE")
    await trio.sleep(10 * 60)
    chargers[1].plug(1, CAR, tag="BOB")
    await trio.sleep(20)
    host.error = timedelta(0)
    allowed: list[float] = []
    for _ in range(30 * 60):
        allowed.append(sum(c.limit(n).amps for c in chargers for n in c.transactions()))
        await trio.sleep(1)
    assert max(allowed) <= 32
    assert allowed[-1] > 12, "both sessions are served after the step"
    assert abs((running.daemon.allocator.clock.now() - host.true()).total_seconds()) < 1
