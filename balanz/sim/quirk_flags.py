"""The quirks of one simulated charger as plain fields the charger reads (names as in quirks.py).

`balanz.sim.quirks` owns the closed list of quirk names, their pitfalls and parameters (what a scenario
file may say); this frozen dataclass is what the running charger consults, one field per quirk, a
parameterised quirk being "off" at 0. `QuirkFlags.from_quirks` is the glue from a parsed scenario.
Defaults are a charger that follows OCPP 1.6 to the letter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields

from balanz.sim.quirks import Quirk

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuirkFlags:
    stack_level_0_only: bool = False
    """Rejects every profile above stackLevel 0 although ChargeProfileMaxStackLevel says more (P1)."""
    watts_only: bool = False
    """Rejects profiles in A; only W is accepted as chargingRateUnit."""
    absolute_needs_start: bool = False
    """Rejects Absolute/Recurring profiles without startSchedule (P3)."""
    forgets_profiles: bool = False
    """Loses every installed profile on reboot and on every reconnect (P11)."""
    clear_answers_unknown: bool = False
    """Removes what ClearChargingProfile names but always answers Unknown."""
    apply_delay_s: float = 0.0
    """A new or cleared profile takes effect only this many seconds after the answer (0: at once)."""
    never_answers: bool = False
    """Receives CALLs but never answers any of them (the CSMS sees timeouts)."""
    answer_delay_s: float = 0.0
    """Waits this long before answering each CALL (0: at once)."""
    malformed_every: int = 0
    """Every n-th answer-less message it sends (Heartbeat, StatusNotification, MeterValues) goes out
    broken instead: alternately truncated JSON and a payload missing a required field (0: never)."""
    duplicate_every: int = 0
    """Every n-th answer-less message it sends goes out twice under the same message id (0: never)."""
    ignores_limit: bool = False
    """Accepts profiles but keeps offering its rating (P8)."""
    rejects_zero: bool = False
    """Rejects a profile with any period at 0 A / 0 W (P9)."""
    no_current_offered: bool = False
    """Never reports Current.Offered; refuses it in MeterValuesSampledData."""
    rejects_max_profile: bool = False
    """Rejects ChargePointMaxProfile (P2)."""
    relative_only: bool = False
    """Rejects Absolute and Recurring profiles (P5)."""
    no_smart_charging: bool = False
    """Lists no SmartCharging feature profile; SetChargingProfile and GetCompositeSchedule are Rejected."""
    no_subprotocol: bool = False
    """Opens its websocket without offering the ocpp1.6 subprotocol."""

    @classmethod
    def from_quirks(cls, quirks: Mapping[Quirk, Mapping[str, float]]) -> QuirkFlags:
        """From a scenario's `{Quirk: {parameter: value}}` (balanz.sim.quirks.parse_quirks)."""
        values: dict[str, object] = {}
        for quirk, params in quirks.items():
            if quirk is Quirk.APPLY_DELAY:
                values["apply_delay_s"] = float(params["apply_delay_s"])
            elif quirk is Quirk.SLOW_ANSWERS:
                values["answer_delay_s"] = float(params["answer_delay_s"])
            elif quirk is Quirk.MALFORMED_FRAMES:
                values["malformed_every"] = int(params["every"])
            elif quirk is Quirk.DUPLICATE_FRAMES:
                values["duplicate_every"] = int(params["every"])
            else:
                values[quirk.value] = True
        return cls(**values)  # type: ignore[arg-type]

    def active(self) -> tuple[str, ...]:
        """Names of the quirks switched on, for logs."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name))


FIELD_OF: dict[Quirk, str] = {
    **{q: q.value for q in Quirk},
    Quirk.APPLY_DELAY: "apply_delay_s",
    Quirk.SLOW_ANSWERS: "answer_delay_s",
    Quirk.MALFORMED_FRAMES: "malformed_every",
    Quirk.DUPLICATE_FRAMES: "duplicate_every",
}
"""The QuirkFlags field each scenario quirk sets."""
