"""Capability probing (profiles.md §4): which GetConfiguration keys to ask, how to read the answer, and which
ChangeConfiguration calls follow.

Readings and decisions (each pinned by a test in tests/charging/test_probe.py):
- Values arrive as strings (ocpp-1.6-edition2.txt:5994-6030 lists them as CSL/integer/boolean *strings*);
  a few chargers send JSON numbers or booleans instead — accepted. Anything unreadable ("unlimited", "-1",
  "8 levels") is treated as *unknown* and named in ``ProbeResult.problems``: a guessed value is worse than
  the documented default of the table in §4.
- ``SupportedFeatureProfiles`` / ``ChargingScheduleAllowedChargingRateUnit`` are comma lists; chargers also
  separate with blanks or semicolons and vary the case, so tokens are split on all three and compared
  case-insensitively. ``Current``/``A`` mean amperes, ``Power``/``W`` watts (errata 3.86 spells the values).
- A key that is in ``unknownKey`` or simply missing counts as unknown; a key answered twice (several
  GetConfiguration calls) keeps its last value.
- ``readonly`` is kept for the two keys balanz may change; a readonly key is never sent a ChangeConfiguration
  (the charger would answer Rejected, ocpp-1.6-edition2.txt:2371-2373).
- Measurands are added one per ChangeConfiguration, because one unsupported measurand makes the charger
  reject the whole list (ocpp-1.6-edition2.txt:1848-1862). ``RebootRequired`` counts as set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from balanz.config.schema import ProfilesConfig
from balanz.profiles import Capabilities, RateUnit

logger = logging.getLogger(__name__)

SUPPORTED_FEATURE_PROFILES = "SupportedFeatureProfiles"
MAX_STACK_LEVEL = "ChargeProfileMaxStackLevel"
ALLOWED_RATE_UNIT = "ChargingScheduleAllowedChargingRateUnit"
MAX_PERIODS = "ChargingScheduleMaxPeriods"
MAX_PROFILES = "MaxChargingProfilesInstalled"
NUMBER_OF_CONNECTORS = "NumberOfConnectors"
SAMPLED_DATA = "MeterValuesSampledData"
SAMPLE_INTERVAL = "MeterValueSampleInterval"
PHASE_ROTATION = "ConnectorPhaseRotation"
SWITCH_3TO1 = "ConnectorSwitch3to1PhaseSupported"
MAX_KEYS = "GetConfigurationMaxKeys"

PROBE_KEYS: tuple[str, ...] = (
    SUPPORTED_FEATURE_PROFILES,
    MAX_STACK_LEVEL,
    ALLOWED_RATE_UNIT,
    MAX_PERIODS,
    MAX_PROFILES,
    NUMBER_OF_CONNECTORS,
    SAMPLED_DATA,
    SAMPLE_INTERVAL,
    PHASE_ROTATION,
    SWITCH_3TO1,
    MAX_KEYS,
)
"""profiles.md §4, in the order of its table (GetConfigurationMaxKeys last: it only sizes later calls)."""

PROBE_AFTER_CONNECT_S = 10
"""§4: a charger's first connection since balanz started is probed after this long without a
BootNotification."""

WANTED_MEASURANDS: tuple[str, ...] = ("Current.Import", "Current.Offered")

_TOKEN_SPLIT = re.compile(r"[,;\s]+")
_UNIT_TOKENS = {"current": RateUnit.A, "a": RateUnit.A, "power": RateUnit.W, "w": RateUnit.W}


@dataclass(frozen=True)
class ProbeResult:
    """What a charger said about itself. None = unknown (not answered, unknown key, or junk)."""

    answered: bool = False
    feature_profiles: frozenset[str] | None = None
    max_stack_level: int | None = None
    rate_units: frozenset[RateUnit] | None = None
    max_periods: int | None = None
    max_profiles: int | None = None
    connectors: int | None = None
    sampled_data: tuple[str, ...] | None = None
    sampled_data_readonly: bool | None = None
    sample_interval_s: int | None = None
    sample_interval_readonly: bool | None = None
    phase_rotation: str | None = None
    switch_3to1: bool | None = None
    max_keys: int | None = None
    unknown_keys: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def smart_charging(self) -> bool | None:
        """False only when the charger lists its feature profiles and SmartCharging is not among them."""
        if self.feature_profiles is None:
            return None
        return "smartcharging" in self.feature_profiles

    @property
    def units(self) -> frozenset[RateUnit]:
        """Units we may send; unknown means A only (§4 "Assume A")."""
        return self.rate_units or frozenset({RateUnit.A})

    @property
    def stack_level_bound(self) -> int:
        """The highest level we may use: M, or 0 when M is unknown (§4 "Assume 0")."""
        return self.max_stack_level if self.max_stack_level is not None else 0

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready form for the store's `ChargerCapabilities.capabilities`."""
        return {
            "answered": self.answered,
            "feature_profiles": None if self.feature_profiles is None else sorted(self.feature_profiles),
            "max_stack_level": self.max_stack_level,
            "rate_units": None if self.rate_units is None else sorted(u.value for u in self.rate_units),
            "max_periods": self.max_periods,
            "max_profiles": self.max_profiles,
            "connectors": self.connectors,
            "sampled_data": None if self.sampled_data is None else list(self.sampled_data),
            "sampled_data_readonly": self.sampled_data_readonly,
            "sample_interval_s": self.sample_interval_s,
            "sample_interval_readonly": self.sample_interval_readonly,
            "phase_rotation": self.phase_rotation,
            "switch_3to1": self.switch_3to1,
            "max_keys": self.max_keys,
            "unknown_keys": list(self.unknown_keys),
            "problems": list(self.problems),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ProbeResult:
        """Inverse of `to_mapping`; keys missing from an older record keep their defaults."""

        def get(key: str) -> Any:
            return data.get(key)

        features, units, sampled = get("feature_profiles"), get("rate_units"), get("sampled_data")
        return cls(
            answered=bool(get("answered")),
            feature_profiles=None if features is None else frozenset(features),
            max_stack_level=get("max_stack_level"),
            rate_units=None if units is None else frozenset(RateUnit(u) for u in units),
            max_periods=get("max_periods"),
            max_profiles=get("max_profiles"),
            connectors=get("connectors"),
            sampled_data=None if sampled is None else tuple(sampled),
            sampled_data_readonly=get("sampled_data_readonly"),
            sample_interval_s=get("sample_interval_s"),
            sample_interval_readonly=get("sample_interval_readonly"),
            phase_rotation=get("phase_rotation"),
            switch_3to1=get("switch_3to1"),
            max_keys=get("max_keys"),
            unknown_keys=tuple(get("unknown_keys") or ()),
            problems=tuple(get("problems") or ()),
        )


NOT_ANSWERED = ProbeResult()
"""GetConfiguration drew a CALLERROR or timed out: defaults apply; the monitor shows "capabilities
unknown"."""


def probe_requests(max_keys: int | None = None) -> list[dict[str, Any]]:
    """GetConfiguration payloads for `PROBE_KEYS`, at most `max_keys` keys each (None = all in one call).

    A charger that answers the full request with a CALLERROR is asked `{"key": ["GetConfigurationMaxKeys"]}`
    alone and then `probe_requests(that value)`; the answers are folded by `parse_configuration`.
    """
    size = len(PROBE_KEYS) if not max_keys or max_keys <= 0 else max_keys
    return [{"key": list(PROBE_KEYS[i : i + size])} for i in range(0, len(PROBE_KEYS), size)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(text) if t]


def _int(key: str, text: str, problems: list[str]) -> int | None:
    try:
        value = int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            as_float = float("nan")
        if as_float.is_integer():
            return _int(key, str(int(as_float)), problems)
        problems.append(f"{key}: value {text!r} is not a whole number; treated as unknown")
        return None
    if value < 0:
        problems.append(f"{key}: negative value {text!r}; treated as unknown")
        return None
    return value


def _units(text: str, problems: list[str]) -> frozenset[RateUnit] | None:
    tokens = [t.lower() for t in _tokens(text)]
    units = frozenset(_UNIT_TOKENS[t] for t in tokens if t in _UNIT_TOKENS)
    if not units:
        problems.append(f"{ALLOWED_RATE_UNIT}: value {text!r} names neither Current nor Power; assuming A")
        return None
    return units


def _bool(key: str, text: str, problems: list[str]) -> bool | None:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    problems.append(f"{key}: value {text!r} is not a boolean; treated as unknown")
    return None


def _entries(answer: Mapping[str, Any], problems: list[str]) -> list[tuple[str, str | None, bool | None]]:
    raw = answer.get("configurationKey") or []
    out: list[tuple[str, str | None, bool | None]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            problems.append(f"configurationKey entry {item!r} has no key; ignored")
            continue
        readonly = item.get("readonly")
        out.append((item["key"], _text(item.get("value")), readonly if isinstance(readonly, bool) else None))
    return out


def parse_configuration(answers: Iterable[Mapping[str, Any]]) -> ProbeResult:
    """Fold one or more GetConfiguration.conf payloads into a `ProbeResult` (later answers win per key)."""
    problems: list[str] = []
    values: dict[str, tuple[str | None, bool | None]] = {}
    unknown: list[str] = []
    for answer in answers:
        for key, value, readonly in _entries(answer, problems):
            values[key] = (value, readonly)
        listed = answer.get("unknownKey")
        if isinstance(listed, list):
            unknown.extend(k for k in listed if isinstance(k, str))
    result = ProbeResult(answered=True, unknown_keys=tuple(dict.fromkeys(unknown)))

    def text(key: str) -> str | None:
        value = values.get(key, (None, None))[0]
        if key in values and value in (None, ""):
            problems.append(f"{key}: answered without a value; treated as unknown")
            return None
        return value

    if (v := text(SUPPORTED_FEATURE_PROFILES)) is not None:
        result = replace(result, feature_profiles=frozenset(t.lower() for t in _tokens(v)))
    if (v := text(ALLOWED_RATE_UNIT)) is not None:
        result = replace(result, rate_units=_units(v, problems))
    if (v := text(SAMPLED_DATA)) is not None:
        result = replace(result, sampled_data=tuple(_tokens(v.replace(";", ","))))
    if (v := text(PHASE_ROTATION)) is not None:
        result = replace(result, phase_rotation=v)
    if (v := text(SWITCH_3TO1)) is not None:
        result = replace(result, switch_3to1=_bool(SWITCH_3TO1, v, problems))
    numbers = {
        MAX_STACK_LEVEL: "max_stack_level",
        MAX_PERIODS: "max_periods",
        MAX_PROFILES: "max_profiles",
        NUMBER_OF_CONNECTORS: "connectors",
        SAMPLE_INTERVAL: "sample_interval_s",
        MAX_KEYS: "max_keys",
    }
    for key, attr in numbers.items():
        if (v := text(key)) is not None:
            result = replace(result, **{attr: _int(key, v, problems)})
    return replace(
        result,
        sampled_data_readonly=values.get(SAMPLED_DATA, (None, None))[1],
        sample_interval_readonly=values.get(SAMPLE_INTERVAL, (None, None))[1],
        problems=tuple(problems),
    )


def engine_capabilities(probe: ProbeResult) -> Capabilities:
    """The `balanz.profiles` view of a charger that behaves exactly as its keys say — the charger side of
    the cross-checks; unknown keys get the §4 defaults (level 0, unit A)."""
    default = Capabilities()
    return Capabilities(
        max_stack_level=probe.stack_level_bound,
        allowed_units=probe.units,
        max_periods=probe.max_periods if probe.max_periods is not None else default.max_periods,
        max_profiles=probe.max_profiles if probe.max_profiles is not None else default.max_profiles,
    )


def probe_warnings(
    probe: ProbeResult, connectors: int, usage_monitoring_interval_s: float, charger_id: str
) -> list[str]:
    """The operator-facing findings of §4 (the monitor shows them; the shell logs them at WARNING)."""
    out = [f"charger {charger_id}: {p}" for p in probe.problems]
    if not probe.answered:
        return [f"charger {charger_id}: capabilities unknown (GetConfiguration failed); defaults apply"]
    if probe.smart_charging is False:
        out.append(
            f"charger {charger_id}: SupportedFeatureProfiles lacks SmartCharging — enable smart charging / "
            "load management on the charger; balanz treats it as uncontrollable"
        )
    if probe.max_profiles is not None and probe.max_profiles < 2 * connectors:
        out.append(
            f"charger {charger_id}: MaxChargingProfilesInstalled is {probe.max_profiles}, balanz needs "
            f"{2 * connectors} (2 per connector); the TxDefault-only strategy is preferred"
        )
    if probe.connectors is not None and probe.connectors != connectors:
        out.append(
            f"charger {charger_id}: NumberOfConnectors is {probe.connectors} but the configuration says "
            f"{connectors}; fix `connectors` in the charger's table"
        )
    if probe.sampled_data is not None and "current.import" not in {m.lower() for m in probe.sampled_data}:
        out.append(
            f"charger {charger_id}: MeterValuesSampledData lacks Current.Import — allocator will lack usage "
            "data (profiles.configure_measurands = true adds it)"
        )
    if probe.sample_interval_s is not None and probe.sample_interval_s > usage_monitoring_interval_s:
        out.append(
            f"charger {charger_id}: MeterValueSampleInterval {probe.sample_interval_s} s is above "
            f"allocator.usage_monitoring_interval_s ({usage_monitoring_interval_s:g} s) — allocator will "
            "lack usage data"
        )
    return out


@dataclass(frozen=True)
class MeasurandSetup:
    """The ChangeConfiguration dialogue of §4 as a pure state machine: `request()` gives the next payload
    (None when done), `answered(status)` folds the charger's answer in."""

    sampled_data: tuple[str, ...]
    to_add: tuple[str, ...]
    interval_target_s: int | None
    pending: str | None = None
    added: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    def request(self) -> dict[str, Any] | None:
        if self.to_add:
            value = ",".join((*self.sampled_data, self.to_add[0]))
            return {"key": SAMPLED_DATA, "value": value}
        if self.interval_target_s is not None:
            return {"key": SAMPLE_INTERVAL, "value": str(self.interval_target_s)}
        return None

    def answered(self, status: str) -> MeasurandSetup:
        """`status`: Accepted / RebootRequired / Rejected / NotSupported, or a CALLERROR code (refused)."""
        ok = status in ("Accepted", "RebootRequired")
        if self.to_add:
            measurand, rest = self.to_add[0], self.to_add[1:]
            if ok:
                return replace(
                    self,
                    sampled_data=(*self.sampled_data, measurand),
                    to_add=rest,
                    added=(*self.added, measurand),
                )
            return replace(self, to_add=rest, refused=(*self.refused, measurand))
        return replace(self, interval_target_s=None)


def measurand_setup(probe: ProbeResult, profiles: ProfilesConfig) -> MeasurandSetup:
    """What `profiles.configure_measurands` asks for, given what the charger already has and allows."""
    empty = MeasurandSetup(sampled_data=probe.sampled_data or (), to_add=(), interval_target_s=None)
    if not profiles.configure_measurands or not probe.answered:
        return empty
    to_add: tuple[str, ...] = ()
    if probe.sampled_data is not None and probe.sampled_data_readonly is not True:
        have = {m.lower() for m in probe.sampled_data}
        to_add = tuple(m for m in WANTED_MEASURANDS if m.lower() not in have)
    interval: int | None = None
    target = int(profiles.meter_interval_s)
    if (
        probe.sample_interval_s is not None
        and probe.sample_interval_readonly is not True
        and (probe.sample_interval_s == 0 or probe.sample_interval_s > target)
    ):
        interval = target
    return replace(empty, to_add=to_add, interval_target_s=interval)
