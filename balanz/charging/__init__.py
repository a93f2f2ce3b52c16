"""The pure profile side of smart charging (profiles.md §4-§7, issue 6): no I/O, no trio, `now` an argument.

The trio shell sends what these functions return and feeds the answers back.

Probe (`probe`)
    PROBE_KEYS, probe_requests(max_keys=None) -> [GetConfiguration payload]
    parse_configuration([GetConfiguration.conf payload]) -> ProbeResult   (NOT_ANSWERED on CALLERROR/timeout)
    ProbeResult.to_mapping() / ProbeResult.from_mapping()   (the store's ChargerCapabilities.capabilities)
    probe_warnings(probe, connectors, usage_monitoring_interval_s, charger_id) -> [str]
    measurand_setup(probe, profiles) -> MeasurandSetup; .request() -> ChangeConfiguration payload | None,
        .answered(status) -> MeasurandSetup   (one measurand per call, then the sample interval)
    engine_capabilities(probe) -> balanz.profiles.Capabilities   (the charger as its keys describe it)

Strategy (`strategy`) — the ladder of §6
    choose(probe, profiles, connectors, smart_charging=, learned=, min_allocation_a=, charger_id=)
        -> Ladder | Uncontrollable;  Ladder.current -> Strategy;  Strategy.text() / Strategy.parse(text)
    on_answer(ladder, purpose, wire_limit, Answer(status= | error_code= | timed_out=), profiles) -> Decision
        Decision.outcome: accepted / next / retry / unresolved / uncontrollable / no_cap / tx_gone;
        Decision.state: Ladder | Uncontrollable
    retry_delay(attempt, profiles) -> seconds

Payloads (`build`) and sequences (`sequences`) — lists of Step(action, payload, connector_id, purpose,
limit_a, wire_limit, only_if_accepted, expect_match)
    ProfilesSetup.from_config(charger, profiles)
    set_default / set_tx / set_station_cap / clear_by_id;
    clear_succeeded(status); needs_reassert(step, status)
    reassert(strategy, setup, plans, now, adoption=, may_clear_foreign=, max_stack_level=)
    idle_offer, start_transaction, offer, stop_transaction, release, foreign_clears, triggers,
    should_resend_on_resume, foreign_clean_allowed, verify_trigger, composite_requests;
    ConnectorPlan(connector_id, target_a, transaction_id, exposure_a)

Verification (`verify`)
    expect(previous, target_a, acknowledged_at, new_session=) -> Check
    retarget(previous, target_a, at, new_session=) -> Check   (a raise keeps the served grace)
    observe(check, MeterSample, profiles) -> Finding(verdict, check, observed_a, resend, reason)
    status_at(check, now, profiles); reduction_took_effect(target_a, previous_a, sent_at, samples, profiles)
"""

from balanz.charging.build import (
    Action,
    ChargerSetup,
    ProfilesSetup,
    Step,
    cap_id,
    clear_by_id,
    clear_succeeded,
    default_id,
    effective_amps,
    needs_reassert,
    round_down_tenth,
    set_default,
    set_station_cap,
    set_tx,
    tx_id,
    wire_limit,
)
from balanz.charging.probe import (
    NOT_ANSWERED,
    PROBE_KEYS,
    MeasurandSetup,
    ProbeResult,
    engine_capabilities,
    measurand_setup,
    parse_configuration,
    probe_requests,
    probe_warnings,
)
from balanz.charging.sequences import (
    ConnectorPlan,
    composite_requests,
    foreign_clean_allowed,
    foreign_clears,
    idle_offer,
    offer,
    reassert,
    release,
    should_resend_on_resume,
    start_transaction,
    stop_transaction,
    triggers,
    verify_trigger,
)
from balanz.charging.strategy import (
    Answer,
    Decision,
    Ladder,
    LiveVia,
    Outcome,
    Strategy,
    Uncontrollable,
    choose,
    on_answer,
    retry_delay,
)
from balanz.charging.verify import (
    Check,
    Finding,
    Verdict,
    expect,
    observe,
    reduction_took_effect,
    retarget,
    status_at,
)

__all__ = [
    "NOT_ANSWERED",
    "PROBE_KEYS",
    "Action",
    "Answer",
    "ChargerSetup",
    "Check",
    "ConnectorPlan",
    "Decision",
    "Finding",
    "Ladder",
    "LiveVia",
    "MeasurandSetup",
    "Outcome",
    "ProbeResult",
    "ProfilesSetup",
    "Step",
    "Strategy",
    "Uncontrollable",
    "Verdict",
    "cap_id",
    "choose",
    "clear_by_id",
    "clear_succeeded",
    "composite_requests",
    "default_id",
    "effective_amps",
    "engine_capabilities",
    "expect",
    "foreign_clean_allowed",
    "foreign_clears",
    "idle_offer",
    "measurand_setup",
    "needs_reassert",
    "observe",
    "offer",
    "on_answer",
    "parse_configuration",
    "probe_requests",
    "probe_warnings",
    "reassert",
    "reduction_took_effect",
    "release",
    "retarget",
    "retry_delay",
    "round_down_tenth",
    "set_default",
    "set_station_cap",
    "set_tx",
    "should_resend_on_resume",
    "start_transaction",
    "status_at",
    "stop_transaction",
    "triggers",
    "tx_id",
    "verify_trigger",
    "wire_limit",
]
