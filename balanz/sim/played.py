"""The runner's own event-log records: what was played to the chargers, and the run's start and end.

They sit in the same JSON-lines log as the chargers' records (eventlog.py) so a reader sees cause and
effect in one stream: a `Played` arrive at 07:10 followed by the charger's StatusChanged Preparing.
Records about the whole run have an empty `charger`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from balanz.sim.eventlog import Record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Played(Record):
    """A scenario event or console command applied to a charger; `detail` is the line the console prints."""

    kind: str
    connector: int | None
    detail: str
    source: str
    """"scenario" or "console"."""


@dataclass(frozen=True)
class SimulationStarted(Record):
    scenario: str
    url: str
    speed: float
    chargers: int
    end: str
    """Simulated instant (ISO 8601) at which the run stops by itself."""


@dataclass(frozen=True)
class SimulationEnded(Record):
    reason: str
