"""The live summary `balanz simulate` prints: one compact table of every connector, every few seconds.

An installer watching a rehearsal wants to see, per connector, what the charger reports, the limit the
central system's profiles allow, what the car actually draws and how much it has charged. `snapshot`
reads that from the running chargers; `render` is pure so its layout is tested without a simulation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

import trio

from balanz.sim.charger import SimCharger

if TYPE_CHECKING:
    from balanz.sim.runner import Companion, SiteRun

TextIO = IO[str]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectorRow:
    charger: str
    connector: int
    online: bool
    status: str
    limit_a: float
    limit_phases: int
    limited_by: str | None
    """What sets the limit: a profile purpose, or None when the charger's own rating does."""
    draw_a: tuple[float, float, float]
    session_kwh: float
    """Energy of the car now plugged in (0 without a car)."""


def snapshot(chargers: Iterable[SimCharger]) -> list[ConnectorRow]:
    rows = []
    for cp in chargers:
        for n in sorted(cp.connectors):
            limit = cp.limit(n)
            plugged = cp.evs.get(n)
            session_wh = plugged.draw.energy_wh if plugged else 0.0
            rows.append(ConnectorRow(cp.id, n, cp.connected, cp.status(n).value, limit.amps, limit.phases,
                                     limit.limited_by.value if limit.limited_by else None,
                                     cp.draw(n), session_wh / 1000))  # fmt: skip
    return rows


HEADER = ("charger", "conn", "link", "status", "limit", "by", "draw L1/L2/L3 A", "kWh")


def render(rows: Iterable[ConnectorRow], now: datetime, speed: float) -> str:
    """A fixed-width table headed by the site's time; `now` in the site's zone."""
    cells = [HEADER]
    total = [0.0, 0.0, 0.0]
    for r in rows:
        draw = "/".join(f"{a:.1f}" for a in r.draw_a)
        total = [t + a for t, a in zip(total, r.draw_a, strict=True)]
        limit = f"{r.limit_a:.1f} A×{r.limit_phases}"
        cells.append((r.charger, str(r.connector), "up" if r.online else "DOWN", r.status, limit,
                      r.limited_by or "rating", draw, f"{r.session_kwh:.2f}"))  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    lines = [f"== {now.strftime('%Y-%m-%d %H:%M:%S %Z')}  speed {speed:g}×  site draw "
             + "/".join(f"{t:.1f}" for t in total) + " A"]  # fmt: skip
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def printer(every_s: float, out: TextIO) -> Companion:
    """Every `every_s` seconds of trio time (wall time in a real run, whatever the speed), one table."""

    async def show(run: SiteRun) -> None:
        while True:
            await trio.sleep(every_s)
            print_table(run, out)

    return show


def print_table(run: SiteRun, out: TextIO) -> None:
    now = run.now().astimezone(run.scenario.simulation.zone)
    out.write(render(snapshot(run.chargers.values()), now, run.speed) + "\n\n")
    out.flush()
