"""SetChargingProfile / ClearChargingProfile payloads of our scheme (profiles.md §5.1, §5.5), as OCPP 1.6
camelCase dicts valid against the 1.6 JSON schema.

Readings and decisions (pinned by tests/charging/test_build.py):
- Stable ids: TxDefault of connector N = id_base + N, TxProfile = id_base + 100 + N, station cap = id_base.
  A TxDefault placed on connector 0 (quirk `use_connector_zero`, single-connector chargers only) keeps the id
  of connector 1, so it never collides with the station cap.
- Absolute profiles always carry startSchedule = send time − start_backdate_s, whole seconds, UTC, `Z`; a
  Relative profile never carries one (pitfalls P3, P4). One period at startPeriod 0, no duration, no
  validFrom/validTo, no recurrency, no minChargingRate.
- Limits are rounded *down* to 0.1 (schema `multipleOf 0.1`, P16) with Decimal, so 8.1 stays 8.1 and 6.25
  becomes 6.2, never 6.3. In W: amperes × voltage_v × phases rounded down to a whole watt, with numberPhases
  (P15). In A, numberPhases is written only when the connector's phases are not 3: absent means 3
  (ocpp-1.6-edition2.txt:4756-4757), so omitting it for 3 says exactly the same to the charger.
- The strategy's floor (chargers that refuse 0 A, §5.4) raises a 0 A limit to the floor; callers read the
  amperes actually installed from `Step.limit_a`, never from their own target.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from balanz.charging.strategy import Strategy
from balanz.config.schema import ChargerConfig, ProfilesConfig
from balanz.profiles import ChargingProfile, ChargingSchedule, Kind, Purpose, RateUnit, SchedulePeriod

logger = logging.getLogger(__name__)

TX_ID_OFFSET = 100


class Action(StrEnum):
    SET = "SetChargingProfile"
    CLEAR = "ClearChargingProfile"
    TRIGGER = "TriggerMessage"
    GET_COMPOSITE = "GetCompositeSchedule"


@dataclass(frozen=True)
class Step:
    """One CALL the shell sends, in list order, one outstanding per charger.

    `limit_a`: amperes per phase the charger may offer under this profile once Accepted (exposure);
    `only_if_accepted`: skip unless the previous step was Accepted (the swap of R20);
    `expect_match`: a clear of something we believe installed — `Unknown` then means our model of the
    charger is wrong and the shell re-asserts (P13).
    """

    action: Action
    payload: Mapping[str, Any] = field(hash=False)
    connector_id: int = 0
    purpose: Purpose | None = None
    limit_a: float | None = None
    wire_limit: float | None = None
    only_if_accepted: bool = False
    expect_match: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))

    def as_dict(self) -> dict[str, Any]:
        """A plain JSON-ready copy of the payload for the wire layer."""
        return _plain(self.payload)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class ChargerSetup:
    """The per-charger facts payloads depend on besides the strategy."""

    connectors: int
    phases: int = 3
    connector_phases: Mapping[int, int] = field(default_factory=dict, hash=False)
    charger_max_a: int | None = None

    def phases_for(self, connector_id: int) -> int:
        return self.connector_phases.get(connector_id, self.phases)

    @classmethod
    def from_config(cls, charger: ChargerConfig) -> ChargerSetup:
        return cls(
            connectors=charger.connectors,
            phases=charger.phases,
            connector_phases={c.id: c.phases for c in charger.connector if c.phases is not None},
            charger_max_a=charger.charger_max_a,
        )


def default_id(profiles: ProfilesConfig, connector_id: int) -> int:
    return profiles.id_base + max(connector_id, 1)


def tx_id(profiles: ProfilesConfig, connector_id: int) -> int:
    return profiles.id_base + TX_ID_OFFSET + connector_id


def cap_id(profiles: ProfilesConfig) -> int:
    return profiles.id_base


def round_down_tenth(value: float) -> float:
    """Largest multiple of 0.1 not above `value` (exact for the one-decimal values we produce)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_FLOOR))


def wire_limit(amps: float, unit: RateUnit, phases: int, voltage_v: float) -> float:
    """The schedule `limit` for `amps` per phase: A rounded down to 0.1, or whole W."""
    if unit is RateUnit.A:
        return round_down_tenth(amps)
    return float(math.floor(amps * voltage_v * phases + 1e-9))


def installed_amps(limit: float, unit: RateUnit, phases: int, voltage_v: float) -> float:
    """Amperes per phase a charger derives from `limit` (the inverse the charger applies, digest §8)."""
    return limit if unit is RateUnit.A else limit / (voltage_v * phases)


def start_schedule(now: datetime, profiles: ProfilesConfig) -> datetime:
    """Send time − start_backdate_s, truncated to whole seconds (P4)."""
    start = now.astimezone(UTC) - timedelta(seconds=profiles.start_backdate_s)
    return start.replace(microsecond=0)


def effective_amps(strategy: Strategy, amps: float) -> float:
    """What is installed for a wanted `amps`: never below the strategy's floor (0 A refused, §5.4)."""
    return max(float(amps), float(strategy.floor_a))


def _set(
    strategy: Strategy,
    setup: ProfilesSetup,
    *,
    connector_id: int,
    purpose: Purpose,
    amps: float,
    now: datetime,
    transaction_id: int | None = None,
    note: str = "",
) -> Step:
    profiles = setup.profiles
    phases = setup.charger.phases_for(max(connector_id, 1))
    installed = effective_amps(strategy, amps)
    limit = wire_limit(installed, strategy.unit, phases, profiles.voltage_v)
    number_phases = phases if strategy.unit is RateUnit.W or phases != 3 else None
    if purpose is Purpose.TX:
        pid, level, at = tx_id(profiles, connector_id), strategy.level_for(connector_id), connector_id
    elif purpose is Purpose.TX_DEFAULT:
        pid, level = default_id(profiles, connector_id), strategy.level_for(connector_id)
        at = 0 if strategy.default_on_zero else connector_id
    else:
        pid, level, at = cap_id(profiles), strategy.stack_level, 0
    absolute = strategy.kind is Kind.ABSOLUTE or purpose is Purpose.CHARGE_POINT_MAX
    profile = ChargingProfile(
        id=pid,
        stack_level=level,
        purpose=purpose,
        kind=Kind.ABSOLUTE if absolute else Kind.RELATIVE,
        transaction_id=transaction_id,
        schedule=ChargingSchedule(
            rate_unit=strategy.unit,
            periods=(SchedulePeriod(0, limit, number_phases),),
            start_schedule=start_schedule(now, profiles) if absolute else None,
        ),
    )
    return Step(
        Action.SET,
        {"connectorId": at, "csChargingProfiles": profile.to_ocpp()},
        connector_id=connector_id,
        purpose=purpose,
        limit_a=installed_amps(limit, strategy.unit, number_phases or 3, profiles.voltage_v),
        wire_limit=limit,
        note=note,
    )


@dataclass(frozen=True)
class ProfilesSetup:
    """Configuration of one charger: `profiles` is `[profiles]` merged with its `profile` table."""

    charger: ChargerSetup
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)

    @classmethod
    def from_config(cls, charger: ChargerConfig, profiles: ProfilesConfig) -> ProfilesSetup:
        return cls(ChargerSetup.from_config(charger), replace(profiles, **charger.profile))


def set_default(
    strategy: Strategy, setup: ProfilesSetup, connector_id: int, amps: float, now: datetime, note: str = ""
) -> Step:
    """Our TxDefault for connector N (on connector 0 with `default_on_zero`)."""
    return _set(
        strategy, setup, connector_id=connector_id, purpose=Purpose.TX_DEFAULT, amps=amps, now=now, note=note
    )


def set_tx(
    strategy: Strategy,
    setup: ProfilesSetup,
    connector_id: int,
    transaction_id: int,
    amps: float,
    now: datetime,
    note: str = "",
) -> Step:
    """Our TxProfile for the running transaction on connector N (never before StartTransaction, P6)."""
    return _set(
        strategy,
        setup,
        connector_id=connector_id,
        purpose=Purpose.TX,
        amps=amps,
        now=now,
        transaction_id=transaction_id,
        note=note,
    )


def set_station_cap(strategy: Strategy, setup: ProfilesSetup, now: datetime) -> Step | None:
    """ChargePointMaxProfile at charger_max_a when `station_cap = "charger_max"` (§5.5); always Absolute
    with a past start (P2), never floored (it only ever lowers)."""
    if setup.profiles.station_cap != "charger_max" or setup.charger.charger_max_a is None or strategy.no_cap:
        return None
    capped = Strategy(strategy.live, strategy.stack_level, Kind.ABSOLUTE, strategy.unit)
    return _set(
        capped,
        setup,
        connector_id=0,
        purpose=Purpose.CHARGE_POINT_MAX,
        amps=setup.charger.charger_max_a,
        now=now,
        note="station cap",
    )


def clear_by_id(
    profile_id: int, *, connector_id: int = 0, expect_match: bool = False, note: str = ""
) -> Step:
    """ClearChargingProfile {id}: the other fields would be ignored anyway (errata 3.26)."""
    return Step(
        Action.CLEAR, {"id": profile_id}, connector_id=connector_id, expect_match=expect_match, note=note
    )


def clear_succeeded(status: str) -> bool:
    """Accepted and Unknown are both success: Unknown only says nothing matched (P13)."""
    return status in ("Accepted", "Unknown")


def needs_reassert(step: Step, status: str) -> bool:
    """A clear we expected to match came back Unknown: the charger lost what we thought it held."""
    return step.action is Action.CLEAR and step.expect_match and status == "Unknown"
