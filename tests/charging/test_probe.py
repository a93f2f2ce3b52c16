"""Capability probing, profiles.md §4: the keys asked, the answer read, the ChangeConfiguration dialogue."""

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from balanz.charging import (
    NOT_ANSWERED,
    PROBE_KEYS,
    Ladder,
    ProbeResult,
    choose,
    measurand_setup,
    parse_configuration,
)
from balanz.charging.probe import engine_capabilities, probe_requests, probe_warnings
from balanz.config.schema import ProfilesConfig
from balanz.profiles import RateUnit
from balanz.store import Store
from balanz.wire.validation import validate

T = datetime(2025, 3, 4, 10, tzinfo=UTC)
SPEC_EXAMPLE = {
    "configurationKey": [
        {
            "key": "SupportedFeatureProfiles",
            "readonly": True,
            "value": "Core,FirmwareManagement,RemoteTrigger,SmartCharging",
        },
        {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "8"},
        {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current,Power"},
        {
            "key": "MeterValuesSampledData",
            "readonly": False,
            "value": "Energy.Active.Import.Register,Current.Import,Current.Offered",
        },
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
    ],
    "unknownKey": ["ConnectorSwitch3to1PhaseSupported"],
}


def entry(key: str, value: object, readonly: bool = True) -> dict[str, object]:
    return {"key": key, "readonly": readonly, "value": value}


def test_profiles_4_request_asks_every_key_of_the_table_and_is_schema_valid() -> None:
    (request,) = probe_requests()
    assert request["key"] == list(PROBE_KEYS)
    for key in (
        "SupportedFeatureProfiles",
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled",
        "MeterValueSampleInterval",
        "MeterValuesSampledData",
    ):
        assert key in request["key"]
    validate(2, "GetConfiguration", request)


def test_profiles_4_fewer_keys_per_call_up_to_get_configuration_max_keys() -> None:
    requests = probe_requests(max_keys=4)
    assert [len(r["key"]) for r in requests] == [4, 4, 3]
    assert [k for r in requests for k in r["key"]] == list(PROBE_KEYS)


def test_profiles_4_spec_example_answer() -> None:
    probe = parse_configuration([SPEC_EXAMPLE])
    assert probe.answered
    assert probe.smart_charging is True
    assert probe.max_stack_level == 8
    assert probe.rate_units == {RateUnit.A, RateUnit.W}
    assert probe.sampled_data == ("Energy.Active.Import.Register", "Current.Import", "Current.Offered")
    assert probe.sampled_data_readonly is False
    assert probe.sample_interval_s == 60
    assert probe.unknown_keys == ("ConnectorSwitch3to1PhaseSupported",)
    assert probe.switch_3to1 is None
    assert probe.problems == ()


def test_profiles_4_unknown_keys_take_the_table_defaults() -> None:
    """Unknown: SmartCharging "try anyway", stack level 0, unit A."""
    probe = parse_configuration([{"unknownKey": list(PROBE_KEYS)}])
    assert probe.smart_charging is None
    assert probe.stack_level_bound == 0
    assert probe.units == {RateUnit.A}
    assert NOT_ANSWERED.stack_level_bound == 0
    assert NOT_ANSWERED.units == {RateUnit.A}
    assert not NOT_ANSWERED.answered


def test_profiles_4_feature_list_separators_and_case_p17() -> None:
    for value in ("core; smartcharging", "Core SmartCharging", "CORE,SMARTCHARGING"):
        assert parse_configuration(
            [{"configurationKey": [entry("SupportedFeatureProfiles", value)]}]
        ).smart_charging
    lacking = parse_configuration(
        [{"configurationKey": [entry("SupportedFeatureProfiles", "Core,Reservation")]}]
    )
    assert lacking.smart_charging is False


def test_profiles_4_rate_unit_tokens_current_power_a_w_p15() -> None:
    def units(value: str) -> frozenset[RateUnit] | None:
        return parse_configuration(
            [{"configurationKey": [entry("ChargingScheduleAllowedChargingRateUnit", value)]}]
        ).rate_units

    assert units("Power") == {RateUnit.W}
    assert units("W") == {RateUnit.W}
    assert units("current") == {RateUnit.A}
    assert units("A, W") == {RateUnit.A, RateUnit.W}
    assert units("Watts?") is None


def test_junk_values_are_unknown_and_named_not_guessed() -> None:
    probe = parse_configuration(
        [
            {
                "configurationKey": [
                    entry("ChargeProfileMaxStackLevel", "unlimited"),
                    entry("MaxChargingProfilesInstalled", "-1"),
                    entry("ChargingScheduleMaxPeriods", 24),
                    entry("NumberOfConnectors", "2.0"),
                    entry("ConnectorSwitch3to1PhaseSupported", True),
                    entry("MeterValueSampleInterval", ""),
                    {"value": "no key"},
                ]
            }
        ]
    )
    assert probe.max_stack_level is None
    assert probe.max_profiles is None
    assert probe.max_periods == 24
    assert probe.connectors == 2
    assert probe.switch_3to1 is True
    assert probe.sample_interval_s is None
    text = " ".join(probe.problems)
    for key in ("ChargeProfileMaxStackLevel", "MaxChargingProfilesInstalled", "MeterValueSampleInterval"):
        assert key in text


def test_several_answers_fold_later_wins() -> None:
    first = {"configurationKey": [entry("ChargeProfileMaxStackLevel", "3")]}
    second = {"configurationKey": [entry("ChargeProfileMaxStackLevel", "5")], "unknownKey": ["X"]}
    probe = parse_configuration([first, second])
    assert probe.max_stack_level == 5
    assert probe.unknown_keys == ("X",)


def test_record_round_trip_for_the_store() -> None:
    probe = parse_configuration([SPEC_EXAMPLE])
    assert ProbeResult.from_mapping(probe.to_mapping()) == probe
    assert ProbeResult.from_mapping({}) == NOT_ANSWERED


def test_engine_capabilities_follow_the_keys() -> None:
    caps = engine_capabilities(parse_configuration([SPEC_EXAMPLE]))
    assert caps.max_stack_level == 8
    assert caps.allowed_units == {RateUnit.A, RateUnit.W}
    assert engine_capabilities(NOT_ANSWERED).max_stack_level == 0


def test_profiles_4_warnings_name_the_charger_and_the_fix() -> None:
    probe = parse_configuration(
        [
            {
                "configurationKey": [
                    entry("SupportedFeatureProfiles", "Core"),
                    entry("MaxChargingProfilesInstalled", "2"),
                    entry("NumberOfConnectors", "1"),
                    entry("MeterValuesSampledData", "Energy.Active.Import.Register", False),
                    entry("MeterValueSampleInterval", "900", False),
                ]
            }
        ]
    )
    warnings = probe_warnings(probe, connectors=2, usage_monitoring_interval_s=300, charger_id="CP7")
    assert len(warnings) == 5
    assert all("CP7" in w for w in warnings)
    assert any("enable smart charging" in w for w in warnings)
    assert any("TxDefault-only" in w for w in warnings)
    assert any("lack usage data" in w and "Current.Import" in w for w in warnings)
    assert any("900 s" in w for w in warnings)
    assert probe_warnings(NOT_ANSWERED, 1, 300, "CP7") == [
        "charger CP7: capabilities unknown (GetConfiguration failed); defaults apply"
    ]


def _probe_with(sampled: str, interval: str, readonly: bool = False) -> ProbeResult:
    return parse_configuration(
        [
            {
                "configurationKey": [
                    entry("MeterValuesSampledData", sampled, readonly),
                    entry("MeterValueSampleInterval", interval, readonly),
                ]
            }
        ]
    )


def test_profiles_4_configure_measurands_off_by_default_sends_nothing() -> None:
    assert (
        measurand_setup(_probe_with("Energy.Active.Import.Register", "900"), ProfilesConfig()).request()
        is None
    )


def test_profiles_4_measurands_added_one_at_a_time_keeping_what_sticks() -> None:
    """ocpp-1.6-edition2.txt:1848-1862: one unsupported measurand rejects the whole list."""
    on = ProfilesConfig(configure_measurands=True, meter_interval_s=60)
    setup = measurand_setup(_probe_with("Energy.Active.Import.Register", "900"), on)
    first = setup.request()
    assert first == {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,Current.Import"}
    validate(2, "ChangeConfiguration", first)
    setup = setup.answered("Rejected")
    assert setup.request() == {
        "key": "MeterValuesSampledData",
        "value": "Energy.Active.Import.Register,Current.Offered",
    }
    setup = setup.answered("RebootRequired")
    assert setup.request() == {"key": "MeterValueSampleInterval", "value": "60"}
    setup = setup.answered("Accepted")
    assert setup.request() is None
    assert setup.added == ("Current.Offered",)
    assert setup.refused == ("Current.Import",)


def test_profiles_4_readonly_or_already_fine_keys_are_left_alone() -> None:
    on = ProfilesConfig(configure_measurands=True, meter_interval_s=60)
    assert (
        measurand_setup(_probe_with("Energy.Active.Import.Register", "900", readonly=True), on).request()
        is None
    )
    assert measurand_setup(_probe_with("Current.Import,current.offered", "30"), on).request() is None
    assert measurand_setup(NOT_ANSWERED, on).request() is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KEYED = st.fixed_dictionaries({"key": st.sampled_from(PROBE_KEYS), "value": JSONISH, "readonly": JSONISH})


@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "configurationKey": st.lists(KEYED | JSONISH, max_size=6) | JSONISH,
                "unknownKey": st.lists(st.text(max_size=12)) | JSONISH,
            },
        ),
        max_size=3,
    )
)
def test_any_answer_shape_parses_without_raising_and_round_trips(answers: list[dict[str, object]]) -> None:
    """Chargers answer GetConfiguration in every shape; the probe never fails, it reports problems."""
    probe = parse_configuration(answers)
    assert probe.answered
    assert ProbeResult.from_mapping(probe.to_mapping()) == probe
    assert probe.stack_level_bound >= 0
    assert probe.units


def test_probe_and_strategy_survive_the_real_store(tmp_path: Path) -> None:
    """What the shell stores after a probe (Store.save_capabilities) and after a working rung
    (Store.save_strategy) comes back as the same ProbeResult, and as the first guess for the same model."""
    probe = parse_configuration([SPEC_EXAMPLE])
    with Store(tmp_path / "state.sqlite") as store:
        store.save_capabilities("CP1", probe.to_mapping(), T, vendor="V", model="M", firmware_version="1.0")
        store.save_strategy("CP1", "default/L0/Relative/W/floor6", T)
        record = store.capabilities("CP1")
        assert record is not None
        assert ProbeResult.from_mapping(record.capabilities) == probe
        learned = store.learned_strategy("V", "M", "1.0")
    ladder = choose(probe, ProfilesConfig(), 2, learned=learned)
    assert isinstance(ladder, Ladder)
    assert ladder.current.text() == "default/L0/Relative/W/floor6"
