"""The one source of "now" for the daemon: UTC instants that follow trio's clock.

Handlers, watchdogs and the allocator all ask ``SiteClock.now()``. It is anchored once (at the first call
inside ``trio.run``) to a UTC instant and from then on advances with ``trio.current_time()``, so under a
virtual clock (tests, autojump) every part of the daemon sees the same, consistent instants, and in
production the instants are the wall clock's, without a second clock that could drift from trio's timers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import trio

log = logging.getLogger(__name__)


class SiteClock:
    """UTC now = start instant + (trio.current_time() − trio time at anchoring).

    ``start`` None means the wall clock's instant when the clock is first used (production); tests pass a
    fixed instant so that timestamps in assertions are exact.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(f"SiteClock start {start!r} needs a time zone (use UTC)")
        self._start = start.astimezone(UTC) if start is not None else None
        self._anchor: float | None = None

    def anchor(self) -> tuple[datetime, float]:
        """Fix (once) which UTC instant corresponds to which trio time; must run inside trio."""
        if self._anchor is None or self._start is None:
            self._anchor = trio.current_time()
            self._start = self._start or datetime.now(UTC)
        return self._start, self._anchor

    def now(self) -> datetime:
        start, anchor = self.anchor()
        return start + timedelta(seconds=trio.current_time() - anchor)

    def trio_time_at(self, moment: datetime) -> float:
        """The trio time at which ``now()`` reaches ``moment`` (for ``trio.sleep_until``)."""
        start, anchor = self.anchor()
        return anchor + (moment.astimezone(UTC) - start).total_seconds()
