"""The sampled values a charger reports for a connector (ocpp-1.6-edition2.txt §7.31, :4890-4920).

Pure: readings in, MeterValues sampledValue objects out, limited to the measurands configured in
MeterValuesSampledData. Current.Import is reported per phase (L1, L2, L3) as the issue asks; Current.Offered
is the connector's applied limit per phase (0 when the charger offers nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    amps: tuple[float, float, float]
    offered_a: float
    voltage_v: float
    register_wh: float


def _value(number: float, measurand: str, unit: str, phase: str | None = None) -> dict[str, Any]:
    value = {"value": f"{number:.1f}" if unit != "Wh" else f"{round(number)}", "context": "Sample.Periodic",
             "measurand": measurand, "location": "Outlet", "unit": unit}  # fmt: skip
    if phase is not None:
        value["phase"] = phase
    return value


def sampled_values(reading: Reading, measurands: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for measurand in measurands:
        if measurand == "Current.Import":
            out += [
                _value(a, measurand, "A", p) for a, p in zip(reading.amps, ("L1", "L2", "L3"), strict=True)
            ]
        elif measurand == "Current.Offered":
            out.append(_value(reading.offered_a, measurand, "A"))
        elif measurand == "Power.Active.Import":
            out.append(_value(sum(reading.amps) * reading.voltage_v, measurand, "W"))
        elif measurand == "Energy.Active.Import.Register":
            out.append(_value(reading.register_wh, measurand, "Wh"))
    return out


def measurands_of(key_value: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in key_value.split(",") if m.strip())
