"""What the simulated chargers did, as JSON lines that tests and benchmarks read back.

One record type per kind of fact; every record has `type`, `at` (simulated UTC, ISO 8601) and `charger`.
Records are written on change only (a limit or a draw that stays the same is not repeated), so a log of
hundreds of simulated hours stays small; a reader reconstructs "the value at t" from the last record ≤ t.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import IO, Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    at: datetime
    charger: str

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        """Shallow: `dataclasses.asdict` deep-copies every payload, most of a busy log's cost."""
        data: dict[str, Any] = {"type": self.type}
        data.update((f.name, getattr(self, f.name)) for f in fields(self))
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True)
class Connected(Record):
    attempt: int


@dataclass(frozen=True)
class Disconnected(Record):
    reason: str


@dataclass(frozen=True)
class Booted(Record):
    status: str
    interval_s: int


@dataclass(frozen=True)
class Told(Record):
    """A CALL the CSMS sent the charger and the charger's answer (None: it never answered)."""

    action: str
    request: dict[str, Any]
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class Sent(Record):
    """A CALL the charger sent and the CSMS's answer (None: lost, timed out or refused)."""

    action: str
    request: dict[str, Any]
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class LimitChanged(Record):
    """The limit the charger now applies on a connector (its own composite), in A per phase."""

    connector: int
    amps: float
    phases: int
    limited_by: str | None


@dataclass(frozen=True)
class EvDraw(Record):
    connector: int
    amps: tuple[float, float, float]
    energy_wh: float
    ev_status: str


@dataclass(frozen=True)
class StatusChanged(Record):
    connector: int
    status: str
    error_code: str


@dataclass(frozen=True)
class TransactionStarted(Record):
    connector: int
    transaction_id: int
    id_tag: str
    meter_start_wh: int


@dataclass(frozen=True)
class TransactionStopped(Record):
    connector: int
    transaction_id: int | None
    reason: str
    meter_stop_wh: int


@dataclass(frozen=True)
class Rebooted(Record):
    reason: str


@dataclass
class EventLog:
    """Keeps records in memory (`keep=True`, for tests) and/or writes them to `stream` as JSON lines."""

    stream: IO[str] | None = None
    keep: bool = True
    records: list[Record] = field(default_factory=list)
    emitted: int = 0

    def emit(self, record: Record) -> None:
        self.emitted += 1
        if self.keep:
            self.records.append(record)
        if self.stream is not None:
            self.stream.write(json.dumps(record.to_json(), separators=(",", ":")) + "\n")

    def of(self, kind: type[Record], charger: str | None = None) -> list[Any]:
        """The kept records of one type (optionally of one charger), oldest first."""
        return [r for r in self.records if isinstance(r, kind) and (charger is None or r.charger == charger)]


def read_jsonl(lines: IO[str]) -> list[dict[str, Any]]:
    """A written log read back as plain dicts (the form a benchmark or another process sees)."""
    return [json.loads(line) for line in lines if line.strip()]
