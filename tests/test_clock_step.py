"""The site clock follows steps of the host clock (balanz run) and only then."""

from datetime import UTC, datetime, timedelta

import trio

from balanz.clock import SiteClock, follow_wall

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


class Wall:
    """A host clock that advances with trio's and can be stepped."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.origin = trio.current_time()

    def __call__(self) -> datetime:
        return T0 + timedelta(seconds=trio.current_time() - self.origin) + self.offset


async def test_small_differences_are_ignored_and_a_step_re_anchors(autojump_clock):
    wall = Wall()
    clock = SiteClock(T0, wall=wall)
    assert clock.now() == T0
    wall.offset = timedelta(seconds=1.5)
    assert clock.step_to_wall(2.0) is None
    wall.offset = timedelta(hours=1)
    assert clock.step_to_wall(2.0) == timedelta(hours=1)
    assert clock.now() == wall()
    await trio.sleep(30)
    assert clock.now() == T0 + timedelta(hours=1, seconds=30)
    assert clock.trio_time_at(T0 + timedelta(hours=1, seconds=40)) == trio.current_time() + 10


async def test_a_test_clock_without_a_wall_never_steps(autojump_clock):
    clock = SiteClock(T0)
    assert not clock.follows_wall
    assert clock.step_to_wall(0.0) is None
    await follow_wall(clock, lambda step: None)  # returns at once: nothing to follow


async def test_follow_wall_reports_each_step_within_one_interval(autojump_clock):
    wall = Wall()
    clock = SiteClock(T0, wall=wall)
    assert clock.now() == wall()
    start = trio.current_time()
    steps: list[tuple[float, timedelta]] = []
    with trio.move_on_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                lambda: follow_wall(clock, lambda s: steps.append((trio.current_time(), s)), interval_s=10)
            )
            await trio.sleep(25)
            wall.offset = timedelta(minutes=-20)
            await trio.sleep(40)
            wall.offset = timedelta(minutes=-20, seconds=1)  # drift below the threshold
    assert [s for _, s in steps] == [timedelta(minutes=-20)]
    assert steps[0][0] - start <= 25 + 10  # noticed by the next check
