"""Charger misbehaviour seen in the field (shared/reference/pitfalls.md), switchable per simulated charger.

Each field is one quirk; its name is the name used in scenario files and docs/simulator.md. Defaults are a
charger that follows OCPP 1.6 to the letter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quirks:
    only_stack_level_0: bool = False
    """Rejects every profile above stackLevel 0 although ChargeProfileMaxStackLevel says more (P1)."""
    only_watts: bool = False
    """Rejects profiles in A: only W is accepted as chargingRateUnit (P5-like unit restrictions)."""
    reject_absolute_without_start: bool = False
    """Rejects Absolute/Recurring profiles without startSchedule (P3)."""
    forget_profiles: bool = False
    """Loses every installed profile on reboot and on every reconnect (P11)."""
    clear_answers_unknown: bool = False
    """Removes what ClearChargingProfile names but always answers Unknown (P12-like confusion)."""
    apply_delay_s: float = 0.0
    """A new or cleared profile takes effect only this many seconds after the answer (P4/P8)."""
    never_answers: bool = False
    """Receives CALLs but never answers any of them (the CSMS sees timeouts)."""
    answer_delay_s: float = 0.0
    """Waits this long before answering each CALL."""
    malformed_frames: bool = False
    """Sends a frame that is not valid OCPP-J JSON before every Heartbeat."""
    duplicate_frames: bool = False
    """Sends each StatusNotification and MeterValues twice (the copy under its own message id)."""

    def active(self) -> tuple[str, ...]:
        """Names of the quirks switched on, for logs and the event log."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name))


QUIRK_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Quirks))
