"""What one simulated charger is: `SimChargerSpec`, and its OCPP configuration keys (pure).

The spec is plain data so a scenario file, a test or a benchmark can build one without the simulator's
machinery. Configuration keys follow ocpp-1.6-edition2.txt §9 (core and smart-charging profiles): a
read-only key answers ChangeConfiguration with Rejected, an unknown one with NotSupported, a value that is
not of the key's type with Rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from balanz.profiles import Capabilities, Electrics, RateUnit
from balanz.sim.quirk_flags import QuirkFlags

logger = logging.getLogger(__name__)

MEASURANDS = (
    "Current.Import",
    "Current.Offered",
    "Power.Active.Import",
    "Energy.Active.Import.Register",
)


@dataclass(frozen=True)
class SimChargerSpec:
    id: str
    connectors: int = 1
    phases: int = 3
    max_current_a: float = 32.0
    """Rating of each connector: the limit when no profile applies."""
    voltage_v: float = 230.0
    vendor: str = "balanz"
    model: str = "SimCharger"
    serial: str | None = None
    firmware: str = "sim-1.0"
    password: str | None = None
    """Basic-auth password; None sends no Authorization header (security profile 0)."""
    configuration: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Overrides of the default configuration key values (`default_configuration`)."""
    quirks: QuirkFlags = field(default_factory=QuirkFlags)
    boot_delay_s: float = 5.0
    """Time a reboot takes before the charger connects again."""
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 120.0
    call_timeout_s: float = 30.0

    @property
    def electrics(self) -> Electrics:
        return Electrics(self.voltage_v, self.phases, self.max_current_a)


@dataclass(frozen=True)
class KeyDef:
    default: str
    readonly: bool = False
    kind: type = str


def key_definitions(spec: SimChargerSpec) -> dict[str, KeyDef]:
    rotation = ",".join(f"{n}.RST" for n in range(spec.connectors + 1))
    quirks = spec.quirks
    features = "Core,FirmwareManagement,RemoteTrigger" + (
        "" if quirks.no_smart_charging else ",SmartCharging"
    )
    measurands = [m for m in MEASURANDS if not (quirks.no_current_offered and m == "Current.Offered")]
    return {
        "AuthorizeRemoteTxRequests": KeyDef("false", kind=bool),
        "AuthorizationKey": KeyDef("", kind=str),
        "ChargeProfileMaxStackLevel": KeyDef("8", readonly=True, kind=int),
        "ChargingScheduleAllowedChargingRateUnit": KeyDef("Current,Power", readonly=True),
        "ChargingScheduleMaxPeriods": KeyDef("24", readonly=True, kind=int),
        "ConnectionTimeOut": KeyDef("60", kind=int),
        "ConnectorPhaseRotation": KeyDef(rotation),
        "HeartbeatInterval": KeyDef("300", kind=int),
        "LocalAuthorizeOffline": KeyDef("true", kind=bool),
        "LocalPreAuthorize": KeyDef("false", kind=bool),
        "MaxChargingProfilesInstalled": KeyDef("16", readonly=True, kind=int),
        "MeterValueSampleInterval": KeyDef("60", kind=int),
        "MeterValuesSampledData": KeyDef(",".join(measurands)),
        "NumberOfConnectors": KeyDef(str(spec.connectors), readonly=True, kind=int),
        "StopTransactionOnEVSideDisconnect": KeyDef("true", readonly=True, kind=bool),
        "SupportedFeatureProfiles": KeyDef(features, readonly=True),
    }


def default_configuration(spec: SimChargerSpec) -> dict[str, str]:
    values = {name: d.default for name, d in key_definitions(spec).items()}
    unknown = set(spec.configuration) - set(values)
    if unknown:
        raise ValueError(f"charger {spec.id}: unknown configuration keys {sorted(unknown)}")
    values.update(spec.configuration)
    return values


def get_configuration(
    spec: SimChargerSpec, values: Mapping[str, str], keys: Sequence[str] | None
) -> dict[str, Any]:
    """The GetConfiguration.conf payload; no key list means every key (ocpp-1.6-edition2.txt §5.8)."""
    defs = key_definitions(spec)
    wanted = list(values) if not keys else list(keys)
    known = [k for k in wanted if k in values]
    answer: dict[str, Any] = {
        "configurationKey": [{"key": k, "readonly": defs[k].readonly, "value": values[k]} for k in known]
    }
    unknown = [k for k in wanted if k not in values]
    if unknown:
        answer["unknownKey"] = unknown
    return answer


def change_configuration(
    spec: SimChargerSpec, values: Mapping[str, str], key: str, value: str
) -> tuple[dict[str, str], str]:
    """(new values, ChangeConfiguration status)."""
    defs = key_definitions(spec)
    if key not in defs:
        return dict(values), "NotSupported"
    definition = defs[key]
    refused_offered = (
        spec.quirks.no_current_offered and key == "MeterValuesSampledData" and "Current.Offered" in value
    )
    if definition.readonly or refused_offered or not _fits(definition.kind, value):
        return dict(values), "Rejected"
    return {**values, key: value}, "Accepted"


def _fits(kind: type, value: str) -> bool:
    if kind is int:
        return value.strip().lstrip("-").isdigit() and int(value) >= 0
    if kind is bool:
        return value.lower() in ("true", "false")
    return True


def int_key(values: Mapping[str, str], key: str) -> int:
    return int(values[key])


def capabilities(values: Mapping[str, str], quirks: QuirkFlags) -> Capabilities:
    """What SetChargingProfile accepts: the advertised keys, narrowed by the charger's quirks."""
    units = {RateUnit.A if u.strip() == "Current" else RateUnit.W for u in
             values["ChargingScheduleAllowedChargingRateUnit"].split(",") if u.strip()}  # fmt: skip
    if quirks.watts_only:
        units = {RateUnit.W}
    return Capabilities(
        max_stack_level=0 if quirks.stack_level_0_only else int_key(values, "ChargeProfileMaxStackLevel"),
        allowed_units=frozenset(units),
        max_periods=int_key(values, "ChargingScheduleMaxPeriods"),
        max_profiles=int_key(values, "MaxChargingProfilesInstalled"),
        accept_without_start_schedule=not quirks.absolute_needs_start,
    )
