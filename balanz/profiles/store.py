"""The profiles one charger holds, and the 1.6 rules for installing and clearing them.

Every operation is a pure function returning a new store plus the status the charger answers with.
Readings of the spec (edition 2 + errata v4.0):
- Replacement: a new profile replaces an installed one with the same chargingProfileId anywhere on the
  charger, and one with the same purpose + stackLevel on the same connector (ocpp-1.6-edition2.txt:3135-3139,
  :3145-3149). "On the same connector" because :1194-1195 says a connector-N TxDefaultProfile replaces the
  connector-0 one *only for that connector*, so a connector-0 profile must survive a connector-N one of the
  same level. `Capabilities.replace_across_connectors` models firmware that applies the rule charger-wide.
- TxProfile: only on connector > 0 (:1207) with a transaction running there (:1201-1202, :3152-3153); a
  transactionId that names another transaction is Rejected (:3101-3102). It is bound to that transaction and
  removed with it (:1200, :4649-4651). A profile from RemoteStartTransaction is installed with `install` once
  the transaction exists; it then shares its stackLevel with a later SetChargingProfile for that transaction,
  which therefore replaces it (errata 3.42).
- ChargePointMaxProfile only on connector 0 (:1181-1182); transactionId only on TxProfile (:4575-4577);
  recurrencyKind only and always with Recurring (errata 3.56); first startPeriod 0 (errata 3.45), later ones
  strictly increasing (each start ends the previous period, :4746-4748).
- Capabilities from the configuration keys (:6340-6400, errata 3.86): stackLevel above
  ChargeProfileMaxStackLevel, a unit not in ChargingScheduleAllowedChargingRateUnit, more periods than
  ChargingScheduleMaxPeriods, or more profiles than MaxChargingProfilesInstalled → Rejected.
- An unknown connectorId is not a status but a CALLERROR PropertyConstraintViolation (errata 3.39): raised
  as ProfileError.
- ClearChargingProfile (errata 3.25/3.26): id given → that profile only, other fields ignored; no field →
  everything; otherwise connectorId, purpose and stackLevel AND-ed. connectorId matches the connector a
  profile was set on, so connectorId 1 does not clear a connector-0 TxDefaultProfile. Accepted if anything
  was removed, else Unknown (:4845-4858).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import NamedTuple

from balanz.profiles.model import ChargingProfile, Kind, ProfileError, Purpose, RateUnit
from balanz.profiles.schedule import InstalledProfile

logger = logging.getLogger(__name__)


class ProfileStatus(StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


class ClearStatus(StrEnum):
    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Capabilities:
    """A charger's smart-charging configuration keys, plus behaviour the spec leaves open."""

    max_stack_level: int = 8
    allowed_units: frozenset[RateUnit] = frozenset({RateUnit.A, RateUnit.W})
    max_periods: int = 24
    max_profiles: int = 32
    accept_without_start_schedule: bool = True
    replace_across_connectors: bool = False


@dataclass(frozen=True)
class ProfileStore:
    """All profiles of one charger with `connectors` connectors (1..connectors; 0 is the charger)."""

    connectors: int
    installed: tuple[InstalledProfile, ...] = field(default=())

    def on_connector(self, connector_id: int, purpose: Purpose) -> tuple[InstalledProfile, ...]:
        return tuple(
            e for e in self.installed if e.connector_id == connector_id and e.profile.purpose is purpose
        )


class StoreChange(NamedTuple):
    store: ProfileStore
    status: ProfileStatus | ClearStatus
    reason: str


def check_connector(store: ProfileStore, connector_id: int) -> None:
    if not 0 <= connector_id <= store.connectors:
        raise ProfileError(
            "PropertyConstraintViolation",
            f"connectorId {connector_id} does not exist on this charger (connectors 0..{store.connectors})",
        )


def install(
    store: ProfileStore,
    connector_id: int,
    profile: ChargingProfile,
    now: datetime,
    transactions: Mapping[int, int],
    capabilities: Capabilities,
) -> StoreChange:
    """SetChargingProfile: `transactions` maps connector → id of the transaction running there."""
    check_connector(store, connector_id)
    reason = _rejection(connector_id, profile, transactions, capabilities)
    if reason:
        logger.debug("profile %s on connector %s rejected: %s", profile.id, connector_id, reason)
        return StoreChange(store, ProfileStatus.REJECTED, reason)
    kept = tuple(e for e in store.installed if not _replaced_by(e, connector_id, profile, capabilities))
    if len(kept) + 1 > capabilities.max_profiles:
        reason = f"MaxChargingProfilesInstalled ({capabilities.max_profiles}) reached"
        return StoreChange(store, ProfileStatus.REJECTED, reason)
    bound = transactions.get(connector_id) if profile.purpose is Purpose.TX else None
    entry = InstalledProfile(connector_id, profile, now, bound)
    return StoreChange(replace(store, installed=(*kept, entry)), ProfileStatus.ACCEPTED, "")


def clear(
    store: ProfileStore,
    profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: Purpose | None = None,
    stack_level: int | None = None,
) -> StoreChange:
    """ClearChargingProfile with the request's optional fields."""
    matches: Callable[[InstalledProfile], bool]
    if profile_id is not None:

        def matches(e: InstalledProfile) -> bool:
            return e.profile.id == profile_id

    else:

        def matches(e: InstalledProfile) -> bool:
            return (
                (connector_id is None or e.connector_id == connector_id)
                and (purpose is None or e.profile.purpose is purpose)
                and (stack_level is None or e.profile.stack_level == stack_level)
            )

    kept = tuple(e for e in store.installed if not matches(e))
    if len(kept) == len(store.installed):
        return StoreChange(store, ClearStatus.UNKNOWN, "no installed profile matches")
    return StoreChange(replace(store, installed=kept), ClearStatus.ACCEPTED, "")


def end_transaction(store: ProfileStore, connector_id: int, transaction_id: int) -> ProfileStore:
    """A TxProfile ceases to be valid when its transaction terminates (ocpp-1.6-edition2.txt:4649-4651)."""
    return replace(
        store,
        installed=tuple(
            e
            for e in store.installed
            if not (
                e.profile.purpose is Purpose.TX
                and e.connector_id == connector_id
                and e.transaction_id == transaction_id
            )
        ),
    )


def _replaced_by(
    entry: InstalledProfile, connector_id: int, profile: ChargingProfile, capabilities: Capabilities
) -> bool:
    if entry.profile.id == profile.id:
        return True
    same_slot = entry.profile.purpose is profile.purpose and entry.profile.stack_level == profile.stack_level
    return same_slot and (capabilities.replace_across_connectors or entry.connector_id == connector_id)


def _rejection(
    connector_id: int, profile: ChargingProfile, transactions: Mapping[int, int], caps: Capabilities
) -> str:
    """Why a charger answers Rejected, or "" when the profile is acceptable."""
    schedule = profile.schedule
    purpose = profile.purpose
    running = transactions.get(connector_id)
    checks: list[tuple[bool, str]] = [
        (
            purpose is Purpose.CHARGE_POINT_MAX and connector_id != 0,
            "ChargePointMaxProfile only on connector 0",
        ),
        (purpose is Purpose.TX and connector_id == 0, "TxProfile only on a connector > 0"),
        (
            purpose is Purpose.TX and connector_id != 0 and running is None,
            f"no transaction on connector {connector_id} for a TxProfile",
        ),
        (
            purpose is Purpose.TX and profile.transaction_id not in (None, running),
            f"transactionId {profile.transaction_id} is not the transaction on connector {connector_id}",
        ),
        (
            purpose is not Purpose.TX and profile.transaction_id is not None,
            "transactionId only on a TxProfile",
        ),
        (profile.stack_level < 0, "stackLevel below 0"),
        (
            profile.stack_level > caps.max_stack_level,
            f"stackLevel {profile.stack_level} above ChargeProfileMaxStackLevel {caps.max_stack_level}",
        ),
        (
            schedule.rate_unit not in caps.allowed_units,
            f"chargingRateUnit {schedule.rate_unit.value} not allowed by this charger",
        ),
        (
            len(schedule.periods) > caps.max_periods,
            f"{len(schedule.periods)} periods, ChargingScheduleMaxPeriods is {caps.max_periods}",
        ),
        (schedule.periods[0].start_period != 0, "first startPeriod must be 0"),
        (
            any(a.start_period >= b.start_period for a, b in pairwise(schedule.periods)),
            "startPeriod values must increase",
        ),
        (any(p.limit < 0 for p in schedule.periods), "negative limit"),
        (
            any(p.number_phases not in (None, 1, 2, 3) for p in schedule.periods),
            "numberPhases must be 1, 2 or 3",
        ),
        (schedule.duration is not None and schedule.duration < 0, "negative duration"),
        (
            schedule.min_charging_rate is not None and schedule.min_charging_rate < 0,
            "negative minChargingRate",
        ),
        (
            (profile.kind is Kind.RECURRING) != (profile.recurrency is not None),
            "recurrencyKind goes with chargingProfileKind Recurring, and only with it",
        ),
        (
            profile.kind is not Kind.RELATIVE
            and schedule.start_schedule is None
            and not caps.accept_without_start_schedule,
            f"{profile.kind.value} profile without startSchedule",
        ),
    ]
    return next((reason for failed, reason in checks if failed), "")
