"""The one mapping between trio's clock and the simulated UTC wall clock.

Every simulated instant is `start + (trio.current_time() - origin) * speed`. Under pytest's MockClock
(autojump) trio time jumps whenever all tasks sleep, so hours of simulated charging pass in milliseconds;
at speed 1 the simulation runs in real time; `balanz simulate --speed` only changes `speed`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import trio

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimClock:
    start: datetime
    origin: float
    speed: float = 1.0

    @classmethod
    def starting(cls, start: datetime | None = None, speed: float = 1.0) -> SimClock:
        """A clock reading `start` (default: the real UTC now) at the current trio instant."""
        if speed <= 0:
            raise ValueError(f"simulation speed must be positive, got {speed}")
        return cls(start or datetime.now(UTC), trio.current_time(), speed)

    def now(self) -> datetime:
        return self.at(trio.current_time())

    def at(self, trio_time: float) -> datetime:
        return self.start + timedelta(seconds=(trio_time - self.origin) * self.speed)

    def trio_time(self, moment: datetime) -> float:
        """The trio instant at which the simulated clock reads `moment` (for `trio.move_on_at`)."""
        return self.origin + (moment - self.start).total_seconds() / self.speed

    def trio_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    async def sleep(self, sim_seconds: float) -> None:
        await trio.sleep(max(0.0, sim_seconds) / self.speed)

    async def sleep_until(self, moment: datetime) -> None:
        await trio.sleep_until(self.trio_time(moment))
