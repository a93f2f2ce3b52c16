"""The one source of "now" for the daemon: UTC instants that follow trio's clock.

Handlers, watchdogs and the allocator all ask ``SiteClock.now()``. It is anchored (at the first call
inside ``trio.run``) to a UTC instant and from then on advances with ``trio.current_time()``, so under a
virtual clock (tests, autojump) every part of the daemon sees the same, consistent instants, and trio's
timers and our instants never disagree. In production (``balanz run``) ``follow_wall`` re-anchors it when
the host's clock is stepped, and the allocator moves its remembered instants by the same step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import trio

log = logging.getLogger(__name__)


class SiteClock:
    """UTC now = start instant + (trio.current_time() − trio time at anchoring).

    ``start`` None means the wall clock's instant when the clock is first used (production); tests pass a
    fixed instant so that timestamps in assertions are exact.
    """

    def __init__(self, start: datetime | None = None, wall: Callable[[], datetime] | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(f"SiteClock start {start!r} needs a time zone (use UTC)")
        self._start = start.astimezone(UTC) if start is not None else None
        self._anchor: float | None = None
        # Production follows the host's wall clock; a test clock with a fixed start follows nothing unless
        # it is given a wall to follow (to rehearse a host clock step).
        self._wall = wall if wall is not None or start is not None else _utc_now

    @property
    def follows_wall(self) -> bool:
        return self._wall is not None

    def anchor(self) -> tuple[datetime, float]:
        """Fix (once) which UTC instant corresponds to which trio time; must run inside trio."""
        if self._anchor is None or self._start is None:
            self._anchor = trio.current_time()
            self._start = self._start or (self._wall or _utc_now)()
        return self._start, self._anchor

    def now(self) -> datetime:
        start, anchor = self.anchor()
        return start + timedelta(seconds=trio.current_time() - anchor)

    def trio_time_at(self, moment: datetime) -> float:
        """The trio time at which ``now()`` reaches ``moment`` (for ``trio.sleep_until``)."""
        start, anchor = self.anchor()
        return anchor + (moment.astimezone(UTC) - start).total_seconds()

    def step_to_wall(self, threshold_s: float) -> timedelta | None:
        """Re-anchor on the wall clock when it moved away from ours by more than ``threshold_s``.

        The host clock can be stepped (NTP correcting a board without RTC at boot, an operator setting the
        time). Profiles carry absolute start times and schedules are local wall time, so balanz must follow
        the step rather than keep a clock the chargers disagree with. Returns the step (wall − ours).
        """
        if self._wall is None:
            return None
        ours = self.now()
        wall = self._wall().astimezone(UTC)
        step = wall - ours
        if abs(step.total_seconds()) <= threshold_s:
            return None
        self._start = wall
        self._anchor = trio.current_time()
        return step


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def follow_wall(
    clock: SiteClock,
    on_step: Callable[[timedelta], None],
    *,
    interval_s: float = 10.0,
    threshold_s: float = 2.0,
) -> None:
    """Compare the site clock with the wall clock every ``interval_s`` and report steps to ``on_step``.

    Between checks balanz runs on trio's monotonic clock, so a step is noticed within ``interval_s``;
    slow drift between the two clocks (tens of ppm) becomes a small step every few hours.
    """
    if not clock.follows_wall:
        return
    while True:
        await trio.sleep(interval_s)
        step = clock.step_to_wall(threshold_s)
        if step is None:
            continue
        seconds = step.total_seconds()
        level = logging.WARNING if abs(seconds) >= 60 else logging.INFO
        log.log(level, "host clock stepped by %+.1f s; balanz follows it (now %s)", seconds, clock.now())
        on_step(step)
