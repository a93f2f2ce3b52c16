"""balanz is down while cars charge: what the chargers fall back to, and that it stays within the supply.

The chargers keep the profiles balanz installed. Running sessions keep their TxProfile (a share of the
supply that held when balanz stopped); an idle connector keeps balanz's blocking TxDefault (0 A), so a car
plugged in while balanz is down — its transaction started offline or not at all — draws nothing. The
group can therefore only draw less while balanz is away, never more. (A schedule slot that lowers the
limit while balanz is down is not followed: our profiles carry one period, profiles.md §3; see
docs/operations.md.)
"""

from __future__ import annotations

import trio

from balanz.sim.spec import SimChargerSpec

from .csms_charger import start_daemon
from .test_smart_day import CAR, SUPPLY_A, smart_config, start_site


def _allowed_to_cars(chargers) -> float:
    """What the chargers would let the plugged cars draw, from the profiles they hold."""
    return sum(c.limit(n).amps for c in chargers for n in c.evs)


async def test_while_balanz_is_down_the_chargers_keep_the_group_within_its_limit(
    nursery, tmp_path, autojump_clock
):
    config = smart_config(tmp_path, 3)
    site = await start_site(nursery, config, [SimChargerSpec(id=f"CP{i}") for i in (1, 2, 3)])
    cp1, cp2, cp3 = site.chargers
    await trio.sleep(30)
    cp1.plug(1, CAR, tag="ALICE")
    cp2.plug(1, CAR, tag="BOB")
    await trio.sleep(30 * 60)
    shares = [cp1.limit(1).amps, cp2.limit(1).amps]
    assert min(shares) >= 6
    assert sum(shares) <= SUPPLY_A

    clock = site.running.daemon.allocator.clock
    await site.running.stop()
    down: list[float] = []
    cp3.plug(1, CAR, tag="CAROL")  # arrives while balanz is away
    for _ in range(20 * 60):
        down.append(_allowed_to_cars(site.chargers))
        await trio.sleep(1)
    assert cp3.limit(1).amps == 0, "the newcomer is held by balanz's blocking default"
    assert [cp1.limit(1).amps, cp2.limit(1).amps] == shares, "running sessions keep their last offer"
    assert max(down) <= SUPPLY_A

    second = await start_daemon(nursery, config, clock)
    for charger in site.chargers:
        charger.base_url = second.url
    after: list[float] = []
    while not cp3.connected:
        after.append(_allowed_to_cars(site.chargers))
        await trio.sleep(1)
    cp3.swipe("CAROL", 1)  # the simulator does not authorize offline: the driver presents the tag again
    for _ in range(30 * 60):
        after.append(_allowed_to_cars(site.chargers))
        await trio.sleep(1)
    assert max(after) <= SUPPLY_A
    assert cp3.limit(1).amps >= 6, "once balanz is back the newcomer gets its share"
    assert all(c.transactions() for c in site.chargers)
