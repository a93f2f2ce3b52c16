"""The ``[[charger]]`` tables of a scenario: simulated chargers, their OCPP configuration keys and quirks.

A site of forty identical boxes is written once with ``count`` and ``id_pattern``; each entry expands to
one ``ChargerSpec`` per charger. The configuration keys a charger answers in GetConfiguration start from a
well-behaved charger, are bent by its quirks (a watts-only charger advertises only ``Power``) and finally
by what the scenario writes; a written value that contradicts a quirk is an error, because such a charger
would test nothing coherent.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ocpp.v16.enums import ConfigurationKey, Measurand

from balanz.config.convert import INVALID, Reporter, build, table_list, unknown_key
from balanz.config.rules import between
from balanz.sim.quirks import Quirk, Quirks, parse_quirks

logger = logging.getLogger(__name__)

FEATURE_PROFILES = ("Core", "FirmwareManagement", "SmartCharging", "RemoteTrigger")
"""The feature profiles the simulated charger implements (actions.py); it advertises no others."""
RATE_UNITS = ("Current", "Power", "Current,Power", "Power,Current")
MEASURAND_KEYS = (
    "MeterValuesSampledData",
    "MeterValuesAlignedData",
    "StopTxnSampledData",
    "StopTxnAlignedData",
)
NOT_WRITABLE = {
    "NumberOfConnectors": "follows the charger's connectors key",
    "AuthorizationKey": "is write-only in OCPP; set the charger's password instead",
}
MAX_EXPANDED = 1000


@dataclass(frozen=True, slots=True)
class ChargerSpec:
    """One simulated charger. ``configuration`` holds GetConfiguration's answers as OCPP strings."""

    id: str
    connectors: int = 1
    phases: int = 3
    max_current_a: int = 32
    vendor: str = "balanz-sim"
    model: str = "SimCharger"
    firmware: str = "1.0"
    serial: str = ""
    password: str = ""
    quirks: Quirks = field(default_factory=dict)
    configuration: Mapping[str, str] = field(default_factory=dict)

    def has(self, quirk: Quirk) -> bool:
        return quirk in self.quirks


NAMING_KEYS = ("id", "count", "id_pattern", "first")


@dataclass(frozen=True, slots=True)
class _ChargerTable:
    """``[[charger]]`` as written; None: not written (``ChargerSpec`` holds the defaults).

    ``id``, or ``count`` + ``id_pattern`` (+ ``first``, default 1), names the chargers.
    """

    id: str | None = None
    count: int | None = None
    id_pattern: str | None = None
    first: int | None = None
    connectors: int | None = None
    phases: int | None = None
    max_current_a: int | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    password: str | None = None
    quirks: Any = None
    configuration: Any = None


def default_configuration(
    connectors: int, quirks: Quirks, heartbeat_s: int, meter_interval_s: int
) -> dict[str, str]:
    """What a well-behaved charger answers, bent by its quirks."""
    features = [
        f for f in FEATURE_PROFILES if not (f == "SmartCharging" and Quirk.NO_SMART_CHARGING in quirks)
    ]
    measurands = ["Energy.Active.Import.Register", "Current.Import", "Current.Offered"]
    if Quirk.NO_CURRENT_OFFERED in quirks:
        measurands.remove("Current.Offered")
    return {
        "HeartbeatInterval": str(heartbeat_s),
        "MeterValueSampleInterval": str(meter_interval_s),
        "MeterValuesSampledData": ",".join(measurands),
        "NumberOfConnectors": str(connectors),
        "SupportedFeatureProfiles": ",".join(features),
        "ChargeProfileMaxStackLevel": "10",
        "ChargingScheduleAllowedChargingRateUnit": "Power" if Quirk.WATTS_ONLY in quirks else "Current,Power",
        "ChargingScheduleMaxPeriods": "24",
        "MaxChargingProfilesInstalled": "10",
    }


def parse_chargers(value: Any, rep: Reporter, heartbeat_s: int, meter_interval_s: int) -> list[ChargerSpec]:
    """Every charger of the file, expanded, ids unique; problems go to ``rep``."""
    tables = table_list(value, "charger", rep)
    if tables is None:
        return []
    chargers: list[ChargerSpec] = []
    seen: dict[str, str] = {}
    for index, table in enumerate(tables, start=1):
        label = (
            f'charger[{index}] "{table["id"]}"' if isinstance(table.get("id"), str) else f"charger[{index}]"
        )
        special = {"quirks": parse_quirks, "configuration": _configuration}
        args = build(_ChargerTable, table, label, "sim.charger", rep, special)
        if args is None:
            continue
        entry = _ChargerTable(**args)
        ids = _ids(entry, label, rep)
        template = ChargerSpec(id="", **{k: v for k, v in args.items() if k not in NAMING_KEYS})
        if not _check(template, label, rep) or ids is None:
            continue
        _quirk_conflicts(template.quirks, template.configuration, label, rep)
        configuration = default_configuration(
            template.connectors, template.quirks, heartbeat_s, meter_interval_s
        )
        configuration.update(template.configuration)
        for charger_id in ids:
            if charger_id in seen:
                rep.error(f"{label}.id", f'"{charger_id}" is already the id of {seen[charger_id]}')
                continue
            seen[charger_id] = label
            chargers.append(replace(template, id=charger_id, configuration=configuration))
    return chargers


def identity_problem(charger_id: str) -> str | None:
    """Why ``charger_id`` cannot be an OCPP identity in balanz (same rule as the site config), or None."""
    if (
        1 <= len(charger_id) <= 48
        and all(" " <= ch <= "~" for ch in charger_id)
        and not set("/:") & set(charger_id)
    ):
        return None
    return "must be 1–48 printable ASCII characters without / or :"


def _ids(entry: _ChargerTable, label: str, rep: Reporter) -> list[str] | None:
    if entry.id is not None and entry.count is not None:
        rep.error(label, "give either id (one charger) or count + id_pattern (several), not both")
        return None
    if entry.id is not None:
        for name in ("id_pattern", "first"):
            if getattr(entry, name) is not None:
                rep.error(f"{label}.{name}", "applies only with count; remove it or replace id by count")
                return None
        problem = identity_problem(entry.id)
        if problem:
            rep.error(f"{label}.id", problem, entry.id)
            return None
        return [entry.id]
    if entry.count is None:
        rep.error(label, 'needs id = "…" or count = N with id_pattern = "CP{n:03}"')
        return None
    if entry.id_pattern is None:
        rep.error(f"{label}.id_pattern", 'required with count, e.g. "CP{n:03}" for CP001, CP002, …')
        return None
    if not 1 <= entry.count <= MAX_EXPANDED:
        rep.error(f"{label}.count", f"must be between 1 and {MAX_EXPANDED}", entry.count)
        return None
    first = 1 if entry.first is None else entry.first
    if first < 0:
        rep.error(f"{label}.first", "must be ≥ 0", first)
        return None
    return _expand(entry.id_pattern, range(first, first + entry.count), f"{label}.id_pattern", rep)


PATTERN_HELP = "must contain {n} (or {n:03} for zero-padding) and no other {…} field"


def expand_pattern(pattern: str, numbers: Iterable[int]) -> list[str] | str:
    """``pattern`` formatted with n = each number, or why it cannot be (only ``{n}``/``{n:spec}`` fields)."""
    try:
        fields = [(name, conv) for _, name, _, conv in string.Formatter().parse(pattern) if name is not None]
        if not fields or any(name != "n" or conv is not None for name, conv in fields):
            return PATTERN_HELP
        return [pattern.format(n=n) for n in numbers]
    except ValueError as exc:
        return f"{PATTERN_HELP} ({exc})"


def _expand(pattern: str, numbers: range, key: str, rep: Reporter) -> list[str] | None:
    ids = expand_pattern(pattern, numbers)
    if isinstance(ids, str):
        rep.error(key, ids, pattern)
        return None
    for charger_id in ids:
        problem = identity_problem(charger_id)
        if problem:
            rep.error(key, f'gives "{charger_id}", which {problem}', pattern)
            return None
    return ids


def _check(entry: ChargerSpec, label: str, rep: Reporter) -> bool:
    before = len(rep.sink)
    between(rep.error, f"{label}.connectors", entry.connectors, 1, 16)
    if entry.phases not in (1, 3):
        rep.error(f"{label}.phases", "must be 1 or 3", entry.phases)
    between(rep.error, f"{label}.max_current_a", entry.max_current_a, 6, 80, " A")
    # BootNotification field lengths (ocpp-1.6-edition2.txt §6.4): longer strings fail the schema.
    for name, limit, minimum in (("vendor", 20, 1), ("model", 20, 1), ("firmware", 50, 0), ("serial", 25, 0)):
        text = getattr(entry, name)
        if not minimum <= len(text) <= limit:
            rep.error(f"{label}.{name}", f"must be {minimum}–{limit} characters (BootNotification)", text)
    return len(rep.sink) == before


def _configuration(value: Any, key: str, rep: Reporter) -> Any:
    """``{ ChargeProfileMaxStackLevel = 3, … }`` → OCPP strings, each key and value checked."""
    if not isinstance(value, dict):
        rep.error(key, "must be a table of OCPP configuration key = value", value)
        return INVALID
    known = tuple(k.value for k in ConfigurationKey)
    out: dict[str, str] = {}
    ok = True
    for name, raw in value.items():
        where = f"{key}.{name}"
        if name not in known:
            unknown_key(rep, where, name, known, "OCPP 1.6 configuration key")
            ok = False
            continue
        if name in NOT_WRITABLE:
            rep.error(where, NOT_WRITABLE[name])
            ok = False
            continue
        text = _ocpp_value(raw)
        problem = _value_problem(name, raw, text)
        if problem:
            rep.error(where, problem, raw)
            ok = False
        else:
            out[name] = text
    return out if ok else INVALID


def _ocpp_value(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list):
        return ",".join(str(item) for item in raw)
    return str(raw)


def _value_problem(name: str, raw: Any, text: str) -> str | None:
    if isinstance(raw, dict | float) or (isinstance(raw, list) and not all(isinstance(i, str) for i in raw)):
        return "must be a string, a whole number, true/false or a list of strings"
    items = [item.strip() for item in text.split(",")] if text else []
    if name in ("ChargeProfileMaxStackLevel", "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"):
        return (
            None
            if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0
            else "must be a whole number ≥ 0"
        )
    if name in ("HeartbeatInterval", "MeterValueSampleInterval", "ClockAlignedDataInterval"):
        return (
            None if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else "must be seconds ≥ 0"
        )
    if name == "ChargingScheduleAllowedChargingRateUnit" and text not in RATE_UNITS:
        return "must be one of " + ", ".join(f'"{u}"' for u in RATE_UNITS)
    if name == "SupportedFeatureProfiles":
        unknown = [i for i in items if i not in FEATURE_PROFILES]
        if unknown or "Core" not in items:
            return "must list Core and only OCPP feature profiles: " + ", ".join(FEATURE_PROFILES)
    if name in MEASURAND_KEYS:
        measurands = {m.value for m in Measurand}
        unknown = [i for i in items if i not in measurands]
        if unknown:
            return f'"{unknown[0]}" is not an OCPP 1.6 measurand (e.g. "Current.Offered")'
    return None


def _quirk_conflicts(quirks: Quirks, written: Mapping[str, str], label: str, rep: Reporter) -> None:
    """A written key that contradicts a quirk makes an incoherent charger: refuse it."""
    key = f"{label}.configuration"
    unit = written.get("ChargingScheduleAllowedChargingRateUnit")
    if Quirk.WATTS_ONLY in quirks and unit is not None and "Current" in unit:
        rep.error(
            f"{key}.ChargingScheduleAllowedChargingRateUnit", 'must be "Power" with quirk watts_only', unit
        )
    features = written.get("SupportedFeatureProfiles", "")
    if Quirk.NO_SMART_CHARGING in quirks and "SmartCharging" in features:
        rep.error(
            f"{key}.SupportedFeatureProfiles", "must not list SmartCharging with quirk no_smart_charging"
        )
    sampled = written.get("MeterValuesSampledData", "")
    if Quirk.NO_CURRENT_OFFERED in quirks and "Current.Offered" in sampled:
        rep.error(
            f"{key}.MeterValuesSampledData", "must not list Current.Offered with quirk no_current_offered"
        )
