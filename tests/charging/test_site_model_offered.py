"""Current.Offered from MeterValues reaches the core with its own sampling time (R17 item 5)."""

from datetime import UTC, datetime, timedelta

from balanz.allocation import events as tr
from balanz.allocation.exposure import all_exposures
from balanz.allocation.state import State
from balanz.charging.site_model import accepted, apply_event, build_params, build_site
from balanz.config.schema import ChargerConfig, Config, GroupConfig
from balanz.csms.meter_values import ConnectorMeter, MeterSample, Stamped
from balanz.events import MeterUpdated

T = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
KEY = ("CP1", 1)
CONFIG = Config(
    group=(GroupConfig(id="site", max_allocation="32"),), charger=(ChargerConfig(id="CP1", group="site"),)
)


def _reduced_to_10():
    site, params = build_site(CONFIG), build_params(CONFIG)
    state = tr.charger_connected(State(started_at=T - timedelta(hours=1)), site, "CP1", T, booted=False)
    state = tr.status_changed(state, KEY, "Charging", T)
    state = accepted(tr.offer_sent(state, KEY, 16, T), KEY, 16, T, params)
    at = T + timedelta(minutes=5)
    state = accepted(tr.offer_sent(state, KEY, 10, at), KEY, 10, at, params)
    return site, params, state, at


def _meter(sampled: datetime, received: datetime, offered: float) -> MeterUpdated:
    sample = MeterSample(at=sampled, usage_a=9.0, usage_phases_a=(9.0, 9.0, 9.0), offered_a=offered)
    meter = ConnectorMeter(usage_phases_a=(9.0, 9.0, 9.0), offered_a=Stamped(offered, sampled))
    return MeterUpdated("CP1", 1, received, None, (sample,), meter)


def test_an_offer_sampled_after_the_acceptance_counts_though_received_later():
    site, params, state, at = _reduced_to_10()
    sampled = at + timedelta(seconds=20)
    state = apply_event(state, site, params, _meter(sampled, sampled + timedelta(milliseconds=300), 16.0))
    settled = at + timedelta(minutes=1)
    assert all_exposures(site, state, params, settled)[KEY] == 16, "the charger says it still offers 16 A"


def test_an_offer_sampled_before_the_acceptance_is_stale():
    site, params, state, at = _reduced_to_10()
    state = apply_event(
        state, site, params, _meter(at - timedelta(seconds=1), at + timedelta(seconds=2), 16.0)
    )
    assert all_exposures(site, state, params, at + timedelta(minutes=1))[KEY] == 10
