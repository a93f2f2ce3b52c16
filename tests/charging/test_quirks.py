"""Per-charger quirk overrides (pitfalls.md): each is a `profile` table the real config loader accepts, and
each changes what the ladder or the builders do in the way the pitfall needs."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w

from balanz.charging import NOT_ANSWERED, ChargerSetup, Ladder, LiveVia, ProbeResult, ProfilesSetup, choose
from balanz.charging.quirks import QUIRKS, Quirk, quirk
from balanz.charging.sequences import ConnectorPlan, offer
from balanz.config.loader import load_config
from balanz.config.schema import ProfilesConfig
from balanz.profiles import Kind, RateUnit

NOW = datetime(2025, 3, 4, 10, tzinfo=UTC)


@pytest.mark.parametrize("q", QUIRKS, ids=[q.pitfall for q in QUIRKS])
def test_every_quirk_override_loads_as_a_charger_profile_table(
    q: Quirk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = {
        "group": [{"id": "G", "max_allocation": "64"}],
        "charger": [{"id": "CP1", "group": "G", "connectors": 1, "profile": dict(q.overrides)}],
    }
    path = tmp_path / "balanz.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    loaded = load_config(path)
    (charger,) = loaded.config.charger
    assert charger.profile == dict(q.overrides)
    setup = ProfilesSetup.from_config(charger, loaded.config.profiles)
    for key, value in q.overrides.items():
        assert getattr(setup.profiles, key) == value


def ladder(profiles: ProfilesConfig, probe: ProbeResult = NOT_ANSWERED, connectors: int = 1) -> Ladder:
    result = choose(probe, profiles, connectors)
    assert isinstance(result, Ladder)
    return result


def test_p5_wallbox_relative_first() -> None:
    assert ladder(ProfilesConfig(**quirk("P5").overrides)).current.kind is Kind.RELATIVE


def test_p7_default_only() -> None:
    assert ladder(ProfilesConfig(**quirk("P7").overrides)).current.live is LiveVia.TX_DEFAULT


def test_p15_watts() -> None:
    probe = ProbeResult(answered=True, rate_units=frozenset({RateUnit.A, RateUnit.W}))
    assert ladder(ProfilesConfig(**quirk("P15").overrides), probe).current.unit is RateUnit.W


def test_p1_stack_level_zero_even_when_more_is_advertised() -> None:
    probe = ProbeResult(answered=True, max_stack_level=8)
    profiles = ProfilesConfig(
        stack_level=3, **{k: v for k, v in quirk("P1").overrides.items() if k != "stack_level"}
    )
    assert ladder(profiles, probe).current.stack_level == 3
    assert ladder(ProfilesConfig(**quirk("P1").overrides), probe).current.stack_level == 0


def test_p14_clear_before_set_on_increases() -> None:
    setup = ProfilesSetup(ChargerSetup(1), ProfilesConfig(**quirk("P14").overrides))
    steps = offer(ladder(setup.profiles).current, setup, ConnectorPlan(1, 16, 5), 6, NOW)
    assert [s.action.value for s in steps] == ["ClearChargingProfile", "SetChargingProfile"]


def test_connector_zero_quirk_first_rung() -> None:
    assert ladder(ProfilesConfig(**quirk("§5.1").overrides)).current.default_on_zero


def test_unknown_pitfall_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="P5"):
        quirk("P99")
