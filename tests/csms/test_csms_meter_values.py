"""MeterValues parsing and reduction: the real-world payload table, then one test per rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from csms_payloads import CASES, Case
from hypothesis import given
from hypothesis import strategies as st

from balanz.csms.charger_time import Retiming
from balanz.csms.meter_values import (
    ConnectorMeter,
    MeterSample,
    MeterSettings,
    apply_samples,
    parse_meter_values,
    parse_number,
    parse_sampled_value,
    parse_transaction_data,
    read_meter_values,
    status_usage_sample,
    summarize,
    to_supply_phases,
)

T0 = datetime(2025, 3, 4, 10, 5, tzinfo=UTC)


def _one(*sampled: dict, ts: str = "2025-03-04T10:05:00Z", settings: MeterSettings | None = None):
    parsed = parse_meter_values(
        {"connectorId": 1, "meterValue": [{"timestamp": ts, "sampledValue": list(sampled)}]}
    )
    assert len(parsed.readings) == 1
    return summarize(parsed.readings[0], settings or MeterSettings()), parsed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_world_payloads(case: Case):
    parsed = parse_meter_values(case.payload)
    assert len(parsed.warnings) == case.warnings, parsed.warnings
    assert parsed.connector_id == case.payload["connectorId"]
    assert parsed.transaction_id == case.payload.get("transactionId")
    expect = dict(case.expect)
    assert len(parsed.readings) == expect.pop("readings", 1)
    sample = summarize(parsed.readings[-1], MeterSettings(phases=case.phases))
    for key, want in {**expect, **{k: v for k, v in case.extra.items() if k != "utc"}}.items():
        got = getattr(sample, key)
        if isinstance(want, float) and got is not None:
            assert got == pytest.approx(want), key
        else:
            assert got == want, key
    if "utc" in case.extra:
        assert parsed.readings[0].timestamp == datetime.fromisoformat(case.extra["utc"])


def test_flows_example_2_8():
    sample, parsed = _one(
        {"value": "1238021", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "15.8", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
        {"value": "15.7", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
        {"value": "15.9", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
        {"value": "16.0", "measurand": "Current.Offered", "unit": "A"},
        {"value": "10950", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "231.2", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
    )
    assert parsed.warnings == ()
    assert sample.usage_a == 15.9
    assert sample.usage_phases_a == (15.8, 15.7, 15.9)
    assert sample.offered_a == 16.0
    assert sample.register_wh == 1238021
    assert sample.power_w == 10950


def test_signed_data_kept_as_text_not_number():
    parsed = parse_meter_values(CASES[-1].payload)
    (signed,) = parsed.readings[0].samples
    assert signed.value is None
    assert signed.signed_data.startswith("AP;0;3;")
    assert signed.measurand == "Energy.Active.Import.Register"


# --- defaults and units ---------------------------------------------------------------------------------


def test_missing_measurand_is_energy_register_in_wh():
    sample, parsed = _one({"value": "1234"})
    (s,) = parsed.readings[0].samples
    assert (s.measurand, s.unit, s.context, s.location) == (
        "Energy.Active.Import.Register",
        "Wh",
        "Sample.Periodic",
        "Outlet",
    )
    assert sample.register_wh == 1234


@pytest.mark.parametrize(
    ("measurand", "unit"),
    [("Current.Import", "A"), ("Power.Active.Import", "W"), ("Voltage", "V"), ("SoC", "Percent")],
)
def test_missing_unit_is_the_measurands_natural_unit(measurand, unit):
    s, problem = parse_sampled_value({"value": "5", "measurand": measurand})
    assert s is not None
    assert s.unit == unit
    assert problem == ""


@pytest.mark.parametrize(
    ("measurand", "unit", "value", "base", "scaled"),
    [
        ("Energy.Active.Import.Register", "kWh", "12.345", "Wh", 12345.0),
        ("Power.Active.Import", "kW", "3.5", "W", 3500.0),
        ("Energy.Reactive.Import.Register", "kvarh", "2", "varh", 2000.0),
        ("Power.Reactive.Import", "kvar", "0.5", "var", 500.0),
        ("Temperature", "Celcius", "35", "Celsius", 35.0),
        ("Temperature", "K", "300", "K", 300.0),
        ("Frequency", "Hertz", "50.0", "Hertz", 50.0),
    ],
)
def test_units_scaled_to_base(measurand, unit, value, base, scaled):
    s, _ = parse_sampled_value({"value": value, "measurand": measurand, "unit": unit})
    assert s is not None
    assert s.unit == base
    assert s.value == pytest.approx(scaled)


# --- what is dropped, what is kept ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"value": "1,5", "measurand": "Current.Import"}, "not a decimal"),
        ({"value": "1.234,5"}, "not a decimal"),
        ({"value": "1_000"}, "not a decimal"),
        ({"value": "nan"}, "not a decimal"),
        ({"value": "inf"}, "not a decimal"),
        ({"value": "1e999"}, "not a decimal"),
        ({"value": ""}, "not a decimal"),
        ({"value": True}, "not a decimal"),
        ({"value": None}, "not a decimal"),
        ({"value": "12 A"}, "not a decimal"),
        ({"value": "-3.0", "measurand": "Current.Import"}, "negative"),
        ({"value": "-1", "measurand": "Energy.Active.Import.Register"}, "negative"),
        ({"value": "5", "measurand": "Current.Import", "unit": "V"}, "does not fit"),
        ({"value": "5", "measurand": "Current.Import", "unit": "mA"}, "does not fit"),
        ({"value": "5", "measurand": "Energy.Active.Import.Register", "unit": "W"}, "does not fit"),
        ({"value": "5", "measurand": "Current.Imported"}, "unknown measurand"),
        ({"value": "5", "measurand": "Current.Import", "phase": "L4"}, "unknown phase"),
        ({"value": "5", "measurand": "Current.Import", "location": "Garage"}, "unknown location"),
        ({"value": "5", "format": "Hex"}, "unknown format"),
    ],
)
def test_garbage_sampled_value_is_dropped_with_reason(raw, why):
    s, problem = parse_sampled_value(raw)
    assert s is None
    assert why in problem


@pytest.mark.parametrize(
    ("raw", "value"), [(" 1.7", 1.7), ("1.7 ", 1.7), ("+2", 2.0), (".5", 0.5), ("1e3", 1000.0)]
)
def test_numbers_chargers_send(raw, value):
    assert parse_number(raw) == value


def test_negative_power_export_is_a_reading():
    s, _ = parse_sampled_value({"value": "-200", "measurand": "Power.Active.Export", "unit": "W"})
    assert s is not None
    assert s.value == -200


def test_unknown_context_kept_as_other_with_note():
    s, problem = parse_sampled_value({"value": "5", "context": "Sample.Random"})
    assert s is not None
    assert s.context == "Other"
    assert "unknown context" in problem


def test_one_bad_value_does_not_lose_the_message():
    sample, parsed = _one(
        {"value": "1,5", "measurand": "Current.Import", "phase": "L1"},
        {"value": "7.0", "measurand": "Current.Import", "phase": "L2"},
        {"value": "100", "measurand": "Energy.Active.Import.Register"},
    )
    assert len(parsed.warnings) == 1
    assert "meterValue[0].sampledValue[0]" in parsed.warnings[0]
    assert sample.usage_a == 7.0
    assert sample.register_wh == 100


def test_unreadable_timestamp_drops_only_that_element():
    readings, warnings = parse_transaction_data(
        [
            {"timestamp": "yesterday", "sampledValue": [{"value": "1"}]},
            {"timestamp": "2025-03-04T10:00:00Z", "sampledValue": [{"value": "2"}]},
        ]
    )
    assert len(readings) == 1
    assert readings[0].samples[0].value == 2
    assert "unreadable timestamp" in warnings[0]


def test_timestamp_without_offset_is_utc_and_offsets_are_converted():
    readings, _ = parse_transaction_data(
        [
            {"timestamp": "2025-03-04T10:00:00", "sampledValue": [{"value": "1"}]},
            {"timestamp": "2025-03-04T12:00:01+02:00", "sampledValue": [{"value": "2"}]},
        ]
    )
    assert [r.timestamp for r in readings] == [
        datetime(2025, 3, 4, 10, 0, tzinfo=UTC),
        datetime(2025, 3, 4, 10, 0, 1, tzinfo=UTC),
    ]


def test_offline_batch_sorted_by_timestamp():
    readings, _ = parse_transaction_data(
        [
            {"timestamp": "2025-03-04T10:02:00Z", "sampledValue": [{"value": "3"}]},
            {"timestamp": "2025-03-04T10:00:00Z", "sampledValue": [{"value": "1"}]},
            {"timestamp": "2025-03-04T10:01:00Z", "sampledValue": [{"value": "2"}]},
        ]
    )
    assert [r.samples[0].value for r in readings] == [1, 2, 3]


def test_transaction_id_must_be_an_integer():
    assert (
        parse_meter_values({"connectorId": 1, "transactionId": "12", "meterValue": []}).transaction_id is None
    )
    assert (
        parse_meter_values({"connectorId": 1, "transactionId": True, "meterValue": []}).transaction_id is None
    )


# --- reduction rules ----------------------------------------------------------------------------------------


def test_usage_ignores_neutral_and_line_to_line():
    sample, _ = _one(
        {"value": "30", "measurand": "Current.Import", "phase": "N"},
        {"value": "10", "measurand": "Current.Import", "phase": "L1"},
        {"value": "400", "measurand": "Voltage", "phase": "L1-L2"},
        {"value": "230", "measurand": "Voltage", "phase": "L2-N"},
    )
    assert sample.usage_a == 10
    assert sample.voltage_v == (None, 230.0, None)


def test_unphased_current_used_only_when_no_phase_values():
    sample, _ = _one(
        {"value": "20", "measurand": "Current.Import"},
        {"value": "8", "measurand": "Current.Import", "phase": "L2"},
    )
    assert (sample.usage_a, sample.usage_source) == (8, "phases")


def test_power_fallback_uses_mean_measured_voltage():
    sample, _ = _one(
        {"value": "6900", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "220", "measurand": "Voltage", "phase": "L1-N"},
        {"value": "240", "measurand": "Voltage", "phase": "L2-N"},
    )
    assert sample.usage_a == pytest.approx(6900 / (230 * 3))
    assert sample.usage_source == "power"


def test_power_fallback_uses_configured_voltage_and_phases():
    sample, _ = _one({"value": "3.68", "measurand": "Power.Active.Import", "unit": "kW"},
                     settings=MeterSettings(phases=1, voltage_v=230))  # fmt: skip
    assert sample.usage_a == pytest.approx(16.0)


def test_outlet_preferred_body_fallback_inlet_ev_cable_ignored():
    sample, _ = _one(
        {"value": "25", "measurand": "Current.Import", "phase": "L1", "location": "Inlet"},
        {"value": "24", "measurand": "Current.Import", "phase": "L1", "location": "EV"},
        {"value": "23", "measurand": "Current.Import", "phase": "L1", "location": "Cable"},
        {"value": "12", "measurand": "Current.Import", "phase": "L1", "location": "Body"},
        {"value": "11", "measurand": "Current.Import", "phase": "L1", "location": "Outlet"},
        {"value": "16", "measurand": "Current.Offered", "location": "Body"},
    )
    assert sample.usage_a == 11
    assert sample.offered_a == 16


def test_only_inlet_values_give_no_usage():
    sample, _ = _one({"value": "25", "measurand": "Current.Import", "phase": "L1", "location": "Inlet"})
    assert sample.usage_a is None


def test_offered_max_over_phases_and_power_offered_fallback():
    sample, _ = _one(
        {"value": "10", "measurand": "Current.Offered", "phase": "L1"},
        {"value": "13", "measurand": "Current.Offered", "phase": "L2"},
    )
    assert sample.offered_a == 13
    sample, _ = _one({"value": "11040", "measurand": "Power.Offered", "unit": "W"})
    assert sample.offered_a == pytest.approx(16.0)


def test_register_sum_of_phases_and_transaction_contexts():
    sample, _ = _one(
        {"value": "100", "phase": "L1"},
        {"value": "200", "phase": "L2"},
        {"value": "300", "phase": "L3"},
    )
    assert sample.register_wh == 600
    sample, _ = _one({"value": "5000", "context": "Transaction.End"})
    assert (sample.register_wh, sample.end_register_wh, sample.begin_register_wh) == (5000, 5000, None)
    sample, _ = _one({"value": "4000", "context": "Transaction.Begin"})
    assert (sample.register_wh, sample.begin_register_wh) == (None, 4000)


def test_no_meter_data_is_unknown_not_zero():
    sample, _ = _one({"value": "21", "measurand": "Temperature", "unit": "Celsius"})
    assert sample.usage_a is None
    assert sample.usage_source == ""


# --- clock, phases, connector state ------------------------------------------------------------------


def _batch(*times: datetime) -> dict:
    sampled = [{"value": "6", "measurand": "Current.Import", "phase": "L1"}]
    return {
        "connectorId": 1,
        "meterValue": [{"timestamp": t.isoformat(), "sampledValue": sampled} for t in times],
    }


def test_skewed_clock_shifts_batch_keeping_spacing():
    skewed = T0 - timedelta(hours=2)
    update = read_meter_values(
        _batch(skewed - timedelta(minutes=1), skewed),
        MeterSettings(),
        received_at=T0,
        retiming=Retiming(300),
    )
    assert update.shift == timedelta(hours=2)
    assert [s.at for s in update.samples] == [T0 - timedelta(minutes=1), T0]


def test_phase_map_rotation():
    assert to_supply_phases((1.0, 2.0, 3.0), "L2,L3,L1") == (3.0, 1.0, 2.0)
    assert to_supply_phases((16.0, None, None), "L2") == (None, 16.0, None)
    assert to_supply_phases((1.0, 2.0, 3.0), None) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="phase_map 'L1,X'"):
        to_supply_phases((1.0, 2.0, 3.0), "L1,X")


def test_connector_meter_keeps_latest_and_ignores_older():
    newer = MeterSample(at=T0, usage_a=10.0, offered_a=16.0, register_wh=2000.0)
    older = MeterSample(at=T0 - timedelta(minutes=5), usage_a=3.0, offered_a=6.0, register_wh=1000.0)
    meter = apply_samples(ConnectorMeter(), [newer, older])
    assert meter.usage_a.value == 10.0
    assert meter.offered_a.value == 16.0
    assert meter.register_wh.value == 2000.0
    assert [h.value for h in meter.usage_history] == [3.0, 10.0]


def test_connector_meter_keeps_quantities_a_reading_lacks():
    meter = apply_samples(ConnectorMeter(), [MeterSample(at=T0, offered_a=16.0)])
    meter = apply_samples(meter, [MeterSample(at=T0 + timedelta(minutes=1), usage_a=5.0)])
    assert meter.offered_a.value == 16.0
    assert meter.offered_a.at == T0


def test_usage_history_bounded():
    samples = [MeterSample(at=T0 + timedelta(seconds=i), usage_a=float(i)) for i in range(10)]
    meter = apply_samples(ConnectorMeter(), samples, history_limit=4)
    assert [h.value for h in meter.usage_history] == [6.0, 7.0, 8.0, 9.0]


def test_suspended_ev_adds_zero_sample():
    meter = status_usage_sample(ConnectorMeter(), T0)
    assert meter.usage_a.value == 0.0
    assert len(meter.usage_history) == 1


# --- properties -------------------------------------------------------------------------------------------


_texts = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["Current.Import", "A", "L1", "kWh", "Body"])
)


@given(
    st.dictionaries(
        st.sampled_from(["value", "measurand", "unit", "phase", "location", "context", "format"]),
        st.one_of(_texts, st.floats(), st.integers(), st.booleans()),
    )
)
def test_any_sampled_value_parses_or_is_explained(raw):
    sample, problem = parse_sampled_value(raw)
    assert sample is not None or problem
    if sample is not None and sample.value is not None:
        assert math.isfinite(sample.value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimal_text_round_trips(x):
    assert parse_number(repr(x)) == x
    assert parse_number(x) == x


def test_older_voltage_does_not_overwrite_newer():
    new = MeterSample(at=T0, voltage_v=(231.0, None, None))
    old = MeterSample(at=T0 - timedelta(minutes=1), voltage_v=(220.0, None, None))
    meter = apply_samples(ConnectorMeter(), [new, old])
    assert meter.voltage_v == (231.0, None, None)
    assert meter.voltage_at == T0


_sampled = st.fixed_dictionaries(
    {"value": st.one_of(st.text(max_size=8), st.floats(), st.integers(-(10**6), 10**6))},
    optional={
        "measurand": st.sampled_from(["Current.Import", "Current.Offered", "Power.Active.Import", "Voltage",
                                      "Energy.Active.Import.Register", "Power.Offered", "SoC", "Bogus"]),
        "unit": st.sampled_from(["A", "W", "kW", "Wh", "kWh", "V", "Percent", "mA"]),
        "phase": st.sampled_from(["L1", "L2", "L3", "N", "L1-N", "L1-L2", "L9"]),
        "location": st.sampled_from(["Outlet", "Body", "Inlet", "EV", "Cable"]),
        "context": st.sampled_from(["Sample.Periodic", "Transaction.Begin", "Transaction.End", "Trigger"]),
    },
)  # fmt: skip


@given(st.lists(st.lists(_sampled, min_size=1, max_size=8), min_size=1, max_size=4))
def test_any_message_summarizes_without_error(elements):
    payload = {
        "connectorId": 1,
        "meterValue": [
            {"timestamp": f"2025-03-04T10:0{i}:00Z", "sampledValue": sampled}
            for i, sampled in enumerate(elements)
        ],
    }
    samples = read_meter_values(payload, MeterSettings(), received_at=T0, retiming=Retiming(300)).samples
    meter = apply_samples(ConnectorMeter(), samples)
    for s in samples:
        assert s.usage_a is None or s.usage_a >= 0
        assert s.offered_a is None or s.offered_a >= 0
    assert len(meter.usage_history) == sum(s.usage_a is not None for s in samples)


def test_implausible_measured_voltage_not_used_for_power_fallback():
    sample, _ = _one(
        {"value": "6900", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "0.1", "measurand": "Voltage", "phase": "L1"},
    )
    assert sample.usage_a == pytest.approx(10.0)
