"""Known firmware quirks (reference/pitfalls.md) as the `charger.profile` overrides that handle them.

Data, not code paths: an installer copies the table for a pitfall into the charger's `profile` table, e.g.
`profile = { kind = "relative" }` for a Wallbox. The ladder (strategy.py) finds most of these by itself at
the cost of a few rejected profiles per model; the overrides skip that and cover what a rejection cannot
reveal (Accepted-but-wrong behaviour, P8/P10/P14). Every key here exists in `[profiles]`
(balanz/config/schema.py `ProfilesConfig`); tests/charging/test_quirks.py checks each against the loader's
range rules and its effect on the ladder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quirk:
    pitfall: str
    chargers: str
    overrides: Mapping[str, Any] = field(hash=False)
    why: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))


QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        "P1",
        "ABB Terra AC 1.8.x, Delta Gen 4, firmware stating 'StackLevel 0 only'",
        {"stack_level": 0, "stack_level_per_connector": False},
        "levels above 0 refused although ChargeProfileMaxStackLevel advertises more",
    ),
    Quirk(
        "P2",
        "EVBox Elvi, Grizzl-E, Autel (Relative Max)",
        {"station_cap": "off"},
        "ChargePointMaxProfile refused or ignored; our cap is always Absolute with a past start anyway",
    ),
    Quirk(
        "P4",
        "chargers whose clock lags the server",
        {"start_backdate_s": 3600},
        "startSchedule must lie safely in the past on the charger's clock",
    ),
    Quirk(
        "P5",
        "Wallbox Pulsar Plus / Max / Pro, Copper",
        {"kind": "relative", "stack_level": 0},
        "Absolute profiles rejected",
    ),
    Quirk(
        "P7",
        "chargers rejecting or mishandling TxProfiles",
        {"strategy": "default_only"},
        "the per-connector TxDefault carries the live allocation (errata 3.8 makes it apply to the session)",
    ),
    Quirk(
        "P10",
        "go-e, Delta Gen 4, Easee",
        {"resume_resend": True},
        "the first limit after a 0 A pause is dropped; re-send on SuspendedEVSE → Charging",
    ),
    Quirk(
        "P14",
        "Delta AC Gen 4 (BMW wallbox)",
        {"clear_before_set": True, "stack_level": 0},
        "re-sending an existing id is rejected and burns the transaction",
    ),
    Quirk(
        "P15",
        "Huawei SCharger (power only)",
        {"rate_unit": "W"},
        "only W limits; phases come from the charger's `phases`",
    ),
    Quirk(
        "P18",
        "chargers not sending Current.Offered / Current.Import by default",
        {"configure_measurands": True},
        "verification and usage need them; off by default because some ABB firmware loops on the change",
    ),
    Quirk(
        "P21",
        "chargers moved from another CSMS",
        {"clear_foreign": True},
        "someone else's profile at a higher level shadows ours",
    ),
    Quirk(
        "W3",
        "firmware applying the same-purpose-and-level replacement across connectors",
        {"stack_level_per_connector": True},
        "two connectors at one level would replace each other's TxDefault",
    ),
    Quirk(
        "§5.1",
        "single-connector chargers accepting TxDefault on connector 0 only",
        {"use_connector_zero": True},
        "per-connector TxDefault refused",
    ),
)


def quirk(pitfall: str) -> Quirk:
    """The override table for `pitfall` ("P5", "W3", …); KeyError names the known ones."""
    for q in QUIRKS:
        if q.pitfall == pitfall:
            return q
    known = ", ".join(q.pitfall for q in QUIRKS)
    raise KeyError(f"no quirk override for {pitfall!r}; known: {known}")
