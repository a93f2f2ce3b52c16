"""MeterValues (and StopTransaction ``transactionData``) as typed readings, and what the allocator needs.

Chargers disagree about almost every optional field of a SampledValue (tests/csms/csms_payloads.py holds
the shapes seen in public logs), so parsing is lenient per sampled value and strict per number: one value
that cannot be read is dropped with a warning, the rest of the message is kept. Two steps:

``parse_meter_values`` / ``parse_transaction_data``
    camelCase dicts → ``MeterReading`` (one per timestamp) of ``Sample`` with units scaled to the base
    unit (kWh → Wh, kW → W, kvarh → varh …), defaults filled in (measurand
    ``Energy.Active.Import.Register``, context ``Sample.Periodic``, location ``Outlet``, unit = the
    measurand's natural unit) and ``SignedData`` kept as text, never read as a number.
``summarize``
    one reading → ``MeterSample``: the usage sample of allocation.md R9 (highest per-phase
    ``Current.Import``), offered current, power, energy register, voltages, SoC (flows.md §2.8 rules 4–8).
``read_meter_values``
    both steps for one message, put on balanz's timeline (``balanz.csms.charger_time``).
``apply_samples``
    folds samples into ``ConnectorMeter``, the latest value of each quantity with its own time, and the
    time-ordered usage history the allocator's R9 window is cut from.

Decisions on ambiguities (each pinned by a test):
- Decimal commas (``"1,5"``) are rejected, not guessed: no charger in the payload table sends them, and
  ``"1,234"`` could be 1.234 or 1234 — a factor-1000 error in a register is worse than a dropped value.
  Surrounding blanks (``" 1.7"``, seen in the wild) and JSON numbers instead of strings are accepted.
- A ``Current.Import`` without phase is taken as the per-phase current (the spec's "overall value" gives no
  rule to split it). For a 1-phase charger that is exact; if a 3-phase charger meant the sum, usage is
  overstated, which errs on the safe side for the supply.
- Phase ``N`` and line-to-line values never become usage; a reading whose only current is on ``N`` falls
  back to power / voltage (Injet). Phase ``L1`` on a voltage counts as ``L1-N`` (Zaptec, Growatt, EN+).
- Power → current uses the mean measured L-N voltage when it is 100–500 V, else ``profiles.voltage_v``;
  negative idle power counts as 0 A. A register tagged ``N`` is used when nothing else is sent (zappi).
- Location ``Body`` counts as the connector when the reading holds no ``Outlet`` value of that measurand
  (a charger in evcc-io/evcc#16966 labels everything ``Body``); ``EV``/``Cable`` are ignored except
  for ``SoC``; ``Inlet`` is the charger's supply, kept in the readings for display, never connector usage.
- ``meterValue`` elements with the same timestamp are one reading (Zaptec sends one element per
  measurand group).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from balanz.csms.charger_time import Retiming

logger = logging.getLogger(__name__)

ENERGY_IMPORT_REGISTER = "Energy.Active.Import.Register"
CURRENT_IMPORT = "Current.Import"
CURRENT_OFFERED = "Current.Offered"
POWER_IMPORT = "Power.Active.Import"
POWER_OFFERED = "Power.Offered"
VOLTAGE = "Voltage"
SOC = "SoC"

_FAMILY_UNITS: dict[str, dict[str, tuple[str, float]]] = {
    "energy": {"Wh": ("Wh", 1.0), "kWh": ("Wh", 1000.0)},
    "reactive_energy": {"varh": ("varh", 1.0), "kvarh": ("varh", 1000.0)},
    "power": {"W": ("W", 1.0), "kW": ("W", 1000.0)},
    "reactive_power": {"var": ("var", 1.0), "kvar": ("var", 1000.0)},
    "current": {"A": ("A", 1.0)},
    "voltage": {"V": ("V", 1.0)},
    "percent": {"Percent": ("Percent", 1.0)},
    # The 1.6 JSON schema spells it "Celcius" (OCPP-J errata 2.1): accept both, store the right one.
    "temperature": {
        "Celsius": ("Celsius", 1.0),
        "Celcius": ("Celsius", 1.0),
        "Fahrenheit": ("Fahrenheit", 1.0),
        "K": ("K", 1.0),
    },
    "frequency": {"Hertz": ("Hertz", 1.0)},
    "none": {},
}
# measurand → (unit family, natural unit used when "unit" is absent; "" = dimensionless)
_MEASURANDS: dict[str, tuple[str, str]] = {
    "Energy.Active.Export.Register": ("energy", "Wh"),
    ENERGY_IMPORT_REGISTER: ("energy", "Wh"),
    "Energy.Reactive.Export.Register": ("reactive_energy", "varh"),
    "Energy.Reactive.Import.Register": ("reactive_energy", "varh"),
    "Energy.Active.Export.Interval": ("energy", "Wh"),
    "Energy.Active.Import.Interval": ("energy", "Wh"),
    "Energy.Reactive.Export.Interval": ("reactive_energy", "varh"),
    "Energy.Reactive.Import.Interval": ("reactive_energy", "varh"),
    "Power.Active.Export": ("power", "W"),
    POWER_IMPORT: ("power", "W"),
    POWER_OFFERED: ("power", "W"),
    "Power.Reactive.Export": ("reactive_power", "var"),
    "Power.Reactive.Import": ("reactive_power", "var"),
    "Power.Factor": ("none", ""),
    CURRENT_IMPORT: ("current", "A"),
    "Current.Export": ("current", "A"),
    CURRENT_OFFERED: ("current", "A"),
    VOLTAGE: ("voltage", "V"),
    "Frequency": ("frequency", "Hertz"),
    "Temperature": ("temperature", "Celsius"),
    SOC: ("percent", "Percent"),
    "RPM": ("none", ""),
}
# Quantities that cannot be negative; a negative one is a meter or firmware fault, not a reading.
_NON_NEGATIVE = frozenset(
    {ENERGY_IMPORT_REGISTER, "Energy.Active.Export.Register", CURRENT_IMPORT, CURRENT_OFFERED}
    | {POWER_OFFERED, VOLTAGE, SOC}
)
PHASES = frozenset({"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1"})
_PHASE_INDEX = {"L1": 1, "L2": 2, "L3": 3, "L1-N": 1, "L2-N": 2, "L3-N": 3}
LOCATIONS = frozenset({"Body", "Cable", "EV", "Inlet", "Outlet"})
CONTEXTS = frozenset(
    {"Interruption.Begin", "Interruption.End", "Other", "Sample.Clock", "Sample.Periodic"}
    | {"Transaction.Begin", "Transaction.End", "Trigger"}
)
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, in the base unit of its measurand. ``value`` is None for signed data."""

    measurand: str
    value: float | None
    unit: str
    phase: str | None = None
    location: str = "Outlet"
    context: str = "Sample.Periodic"
    signed_data: str | None = None

    @property
    def phase_index(self) -> int | None:
        """1–3 for a value on a charger phase (``L2`` and ``L2-N`` alike), None otherwise."""
        return _PHASE_INDEX.get(self.phase) if self.phase else None


@dataclass(frozen=True, slots=True)
class MeterReading:
    """All samples a charger took at one instant (its own clock, UTC)."""

    timestamp: datetime
    samples: tuple[Sample, ...]


@dataclass(frozen=True, slots=True)
class ParsedMeterValues:
    connector_id: int
    transaction_id: int | None
    readings: tuple[MeterReading, ...]
    warnings: tuple[str, ...] = ()


def parse_meter_values(payload: Mapping[str, Any]) -> ParsedMeterValues:
    """A MeterValues request payload → readings in timestamp order, plus warnings for what was dropped."""
    readings, warnings = parse_transaction_data(payload.get("meterValue") or ())
    tx = payload.get("transactionId")
    return ParsedMeterValues(
        connector_id=int(payload.get("connectorId", 0)),
        transaction_id=tx if isinstance(tx, int) and not isinstance(tx, bool) else None,
        readings=readings,
        warnings=warnings,
    )


def parse_transaction_data(
    elements: Iterable[Mapping[str, Any]],
) -> tuple[tuple[MeterReading, ...], tuple[str, ...]]:
    """A list of MeterValue objects (``meterValue`` or StopTransaction ``transactionData``) → readings."""
    warnings: list[str] = []
    by_time: dict[datetime, list[Sample]] = {}
    for i, element in enumerate(elements):
        stamp = parse_timestamp(element.get("timestamp"))
        if stamp is None:
            warnings.append(f"meterValue[{i}]: unreadable timestamp {element.get('timestamp')!r}, dropped")
            continue
        bucket = by_time.setdefault(stamp, [])
        for j, raw in enumerate(element.get("sampledValue") or ()):
            sample, problem = parse_sampled_value(raw)
            if sample is None:
                warnings.append(f"meterValue[{i}].sampledValue[{j}]: {problem}, ignored")
            else:
                bucket.append(sample)
                if problem:
                    warnings.append(f"meterValue[{i}].sampledValue[{j}]: {problem}")
    readings = tuple(MeterReading(t, tuple(s)) for t, s in sorted(by_time.items()) if s)
    return readings, tuple(warnings)


def parse_timestamp(text: object) -> datetime | None:
    """RFC 3339 text → aware UTC datetime; a timestamp without offset is taken as UTC."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def parse_number(raw: object) -> float | None:
    """A ``value`` as chargers send it → float; None when it is not a plain finite decimal."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str) and _DECIMAL.fullmatch(raw.strip()):
        number = float(raw.strip())
    else:
        return None
    return number if math.isfinite(number) else None


def parse_sampled_value(raw: Mapping[str, Any]) -> tuple[Sample | None, str]:
    """One sampledValue → (sample, note) or (None, why it was dropped)."""
    measurand = raw.get("measurand") or ENERGY_IMPORT_REGISTER
    if measurand not in _MEASURANDS:
        return None, f"unknown measurand {measurand!r}"
    family, natural = _MEASURANDS[measurand]
    unit_given = raw.get("unit")
    if unit_given is None or unit_given == "":
        unit, scale = natural, 1.0
    elif unit_given in _FAMILY_UNITS[family]:
        unit, scale = _FAMILY_UNITS[family][unit_given]
    else:
        return None, f"unit {unit_given!r} does not fit measurand {measurand}"
    phase = raw.get("phase") or None
    if phase is not None and phase not in PHASES:
        return None, f"unknown phase {phase!r} for {measurand}"
    location = raw.get("location") or "Outlet"
    if location not in LOCATIONS:
        return None, f"unknown location {location!r} for {measurand}"
    note = ""
    context = raw.get("context") or "Sample.Periodic"
    if context not in CONTEXTS:
        note, context = f"unknown context {context!r} read as 'Other'", "Other"
    fmt = raw.get("format") or "Raw"
    base = Sample(measurand, None, unit, phase, location, context)
    if fmt == "SignedData":
        return replace(base, signed_data=str(raw.get("value", ""))), note
    if fmt != "Raw":
        return None, f"unknown format {fmt!r} for {measurand}"
    number = parse_number(raw.get("value"))
    if number is None:
        return None, f"value {raw.get('value')!r} of {measurand} is not a decimal number"
    if number < 0 and measurand in _NON_NEGATIVE:
        return None, f"negative {measurand} {raw.get('value')!r}"
    return replace(base, value=number * scale), note


# ---------------------------------------------------------------------------------------------------------
# Reduction: one reading → the facts the allocator and the session bookkeeping use.

Phases3 = tuple[float | None, float | None, float | None]
_NO_PHASES: Phases3 = (None, None, None)


@dataclass(frozen=True, slots=True)
class MeterSample:
    """The connector-level facts of one reading (flows.md §2.8 rules 4–8). None = not reported."""

    at: datetime
    usage_a: float | None = None
    usage_phases_a: Phases3 = _NO_PHASES
    usage_source: str = ""  # "phases" | "total" | "power" | "status" (R9 zero sample) | ""
    offered_a: float | None = None
    power_w: float | None = None
    register_wh: float | None = None
    begin_register_wh: float | None = None
    end_register_wh: float | None = None
    voltage_v: Phases3 = _NO_PHASES
    soc_percent: float | None = None


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """What the reduction needs to know about the charger: phases and nominal voltage for W → A."""

    phases: int = 3
    voltage_v: float = 230.0


DEFAULT_METER_SETTINGS = MeterSettings()


def _connector_values(reading: MeterReading, measurand: str) -> list[Sample]:
    numeric = [s for s in reading.samples if s.measurand == measurand and s.value is not None]
    outlet = [s for s in numeric if s.location == "Outlet"]
    return outlet or [s for s in numeric if s.location == "Body"]


def _per_phase(values: Sequence[Sample]) -> Phases3:
    out: list[float | None] = [None, None, None]
    for s in values:
        index = s.phase_index
        if index is not None and s.value is not None:
            current = out[index - 1]
            out[index - 1] = s.value if current is None else max(current, s.value)
    return (out[0], out[1], out[2])


def _unphased(values: Sequence[Sample]) -> float | None:
    found = [s.value for s in values if s.phase is None and s.value is not None]
    return max(found) if found else None


def _total_power(values: Sequence[Sample]) -> float | None:
    """The unphased value, else the sum over L1–L3 (power and registers add up over phases)."""
    total = _unphased(values)
    if total is not None:
        return total
    phased = [v for v in _per_phase(values) if v is not None]
    return sum(phased) if phased else None


def _amps_from_watts(watts: float, voltages: Phases3, settings: MeterSettings) -> float:
    """Per-phase amperes from total watts. Idle meters report a few negative watts; that is 0 A. Measured
    voltages outside 100–500 V (Zaptec reports 0.1 V when idle) fall back to the configured voltage."""
    measured = [v for v in voltages if v is not None and 100 <= v <= 500]
    volts = sum(measured) / len(measured) if measured else settings.voltage_v
    return max(watts, 0.0) / (volts * settings.phases)


def _register(values: Sequence[Sample]) -> float | None:
    """Unphased register, else the sum of L1–L3, else a register tagged ``N`` (myenergi zappi sends its
    only register so; on a 1-phase charger that is the whole energy)."""
    total = _total_power(values)
    if total is not None:
        return total
    neutral = [s.value for s in values if s.phase == "N" and s.value is not None]
    return max(neutral) if neutral else None


def summarize(reading: MeterReading, settings: MeterSettings | None = None) -> MeterSample:
    """Reduce one reading to usage, offer, power, register, voltage and SoC."""
    settings = settings or DEFAULT_METER_SETTINGS
    voltages = _connector_values(reading, VOLTAGE)
    voltage_v = _per_phase(voltages)
    unphased_v = _unphased(voltages)
    volt_basis = voltage_v if any(v is not None for v in voltage_v) else (unphased_v, None, None)
    power = _connector_values(reading, POWER_IMPORT)
    power_w = _total_power(power)

    currents = _connector_values(reading, CURRENT_IMPORT)
    phases_a = _per_phase(currents)
    usage: float | None
    if any(v is not None for v in phases_a):
        usage, source = max(v for v in phases_a if v is not None), "phases"
    elif (total := _unphased(currents)) is not None:
        usage, source = total, "total"
    elif power_w is not None:
        usage, source = _amps_from_watts(power_w, volt_basis, settings), "power"
    else:
        usage, source = None, ""

    offered_values = _connector_values(reading, CURRENT_OFFERED)
    offered_a = _unphased(offered_values)
    phased_offer = [v for v in _per_phase(offered_values) if v is not None]
    if phased_offer:
        offered_a = max([*phased_offer, *([offered_a] if offered_a is not None else [])])
    if (
        offered_a is None
        and (offered_w := _total_power(_connector_values(reading, POWER_OFFERED))) is not None
    ):
        offered_a = _amps_from_watts(offered_w, volt_basis, settings)

    registers = _connector_values(reading, ENERGY_IMPORT_REGISTER)
    begin = [s for s in registers if s.context == "Transaction.Begin"]
    end = [s for s in registers if s.context == "Transaction.End"]
    running = [s for s in registers if s.context != "Transaction.Begin"]
    soc = [s.value for s in reading.samples if s.measurand == SOC and s.value is not None]
    return MeterSample(
        at=reading.timestamp,
        usage_a=usage,
        usage_phases_a=phases_a,
        usage_source=source,
        offered_a=offered_a,
        power_w=power_w,
        register_wh=_register(running),
        begin_register_wh=_register(begin),
        end_register_wh=_register(end),
        voltage_v=voltage_v if any(v is not None for v in voltage_v) else (unphased_v, None, None),
        soc_percent=soc[-1] if soc else None,
    )


@dataclass(frozen=True, slots=True)
class MeterUpdate:
    """One MeterValues message, parsed and reduced: what the shell feeds to the connector and session.
    ``shift`` is what was added to the charger's timestamps to put them on balanz's timeline."""

    parsed: ParsedMeterValues
    samples: tuple[MeterSample, ...]
    shift: timedelta


def read_meter_values(
    payload: Mapping[str, Any], settings: MeterSettings, *, received_at: datetime, retiming: Retiming
) -> MeterUpdate:
    """Parse and summarize a MeterValues payload; samples are re-timed as ``charger_time`` decides."""
    parsed = parse_meter_values(payload)
    return MeterUpdate(parsed, *summarize_retimed(parsed.readings, settings, received_at, retiming))


def summarize_retimed(
    readings: Sequence[MeterReading], settings: MeterSettings, received_at: datetime, retiming: Retiming
) -> tuple[tuple[MeterSample, ...], timedelta]:
    """``summarize`` each reading, all moved by the shift of the newest one (flows.md §2.8 rule 9)."""
    shift = retiming.shift(readings[-1].timestamp if readings else None, received_at)
    return tuple(replace(summarize(r, settings), at=r.timestamp + shift) for r in readings), shift


def to_supply_phases(per_phase: Phases3, phase_map: str | None) -> Phases3:
    """Charger-phase values → supply-phase values through ``phase_map`` (``"L2,L3,L1"``: charger L1 on L2)."""
    if not phase_map:
        return per_phase
    out: list[float | None] = [None, None, None]
    for charger_phase, supply in enumerate(p.strip() for p in phase_map.split(",")):
        index = _PHASE_INDEX.get(supply)
        if index is None or charger_phase > 2:
            raise ValueError(f"phase_map {phase_map!r}: {supply!r} is not L1, L2 or L3")
        out[index - 1] = per_phase[charger_phase]
    return (out[0], out[1], out[2])


@dataclass(frozen=True, slots=True)
class Stamped:
    value: float
    at: datetime


@dataclass(frozen=True, slots=True)
class ConnectorMeter:
    """The latest value of each quantity for one connector, each with the time it was measured."""

    usage_a: Stamped | None = None
    usage_phases_a: Phases3 = _NO_PHASES
    offered_a: Stamped | None = None
    power_w: Stamped | None = None
    register_wh: Stamped | None = None
    voltage_v: Phases3 = _NO_PHASES
    voltage_at: datetime | None = None
    soc_percent: Stamped | None = None
    usage_history: tuple[Stamped, ...] = field(default=())


def _newer(old: Stamped | None, value: float | None, at: datetime) -> Stamped | None:
    if value is None or (old is not None and old.at > at):
        return old
    return Stamped(value, at)


def apply_samples(
    meter: ConnectorMeter, samples: Iterable[MeterSample], *, history_limit: int = 64
) -> ConnectorMeter:
    """Fold samples into the connector's latest values; usage samples also go to the bounded history.

    ``usage_history`` is what feeds the R9 window: every usage sample with its time, in time order. A
    sample older than the latest known value of a quantity does not overwrite it (an offline batch
    replayed after live data must not roll the display back).
    """
    history = list(meter.usage_history)
    for s in samples:
        if s.usage_a is not None:
            history.append(Stamped(s.usage_a, s.at))
            newest = meter.usage_a is None or meter.usage_a.at <= s.at
            meter = replace(
                meter,
                usage_a=_newer(meter.usage_a, s.usage_a, s.at),
                usage_phases_a=s.usage_phases_a if newest else meter.usage_phases_a,
            )
        if any(v is not None for v in s.voltage_v) and (meter.voltage_at is None or meter.voltage_at <= s.at):
            meter = replace(meter, voltage_v=s.voltage_v, voltage_at=s.at)
        meter = replace(
            meter,
            offered_a=_newer(meter.offered_a, s.offered_a, s.at),
            power_w=_newer(meter.power_w, s.power_w, s.at),
            register_wh=_newer(meter.register_wh, s.register_wh, s.at),
            soc_percent=_newer(meter.soc_percent, s.soc_percent, s.at),
        )
    history.sort(key=lambda h: h.at)
    return replace(meter, usage_history=tuple(history[-history_limit:]))


def status_usage_sample(meter: ConnectorMeter, at: datetime) -> ConnectorMeter:
    """R9: a change to ``SuspendedEV`` adds a 0 A usage sample (the EV draws nothing, by definition)."""
    return apply_samples(meter, [MeterSample(at=at, usage_a=0.0, usage_source="status")])
