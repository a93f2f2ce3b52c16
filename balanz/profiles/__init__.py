"""OCPP 1.6 charging profiles, computed exactly as a charger must apply them. Pure: no I/O, no clock.

Shared by the simulated charger (which *is* the charger) and by balanz's own verification (which predicts
what a charger should offer). All times are aware UTC datetimes passed in by the caller.

Data (`model`)
    ChargingProfile, ChargingSchedule, SchedulePeriod — frozen; `X.from_ocpp(dict)` / `x.to_ocpp()` use the
    camelCase payload shapes of the 1.6 JSON schema. Enums Purpose, Kind, Recurrency, RateUnit.
    ProfileError(code, message): a payload the schema refuses; `code` is the OCPP-J CALLERROR code.

Store (`store`) — one charger's installed profiles and the SetChargingProfile/ClearChargingProfile rules
    ProfileStore(connectors, installed=()), Capabilities(max_stack_level, allowed_units, max_periods,
    max_profiles, accept_without_start_schedule, replace_across_connectors).
    install(store, connector_id, profile, now, transactions, capabilities)
        -> StoreChange(store, status, reason)
        `transactions`: connector -> id of the transaction running there. status: ProfileStatus.
    clear(store, profile_id=None, connector_id=None, purpose=None, stack_level=None) -> StoreChange
        status: ClearStatus Accepted (something removed) / Unknown.
    end_transaction(store, connector_id, transaction_id) -> ProfileStore
        (drops that transaction's TxProfiles)

Composite (`composite`, `timeline`)
    ChargerView(store, electrics=Electrics(voltage_v, phases, connector_max_a), connectors={n: ConnectorState(
        transaction_id, transaction_start)}).
    limit_at(view, connector_id, at) -> Limit(amps per phase, phases, limited_by: Purpose | None)
        (connector 0 = grid_limit; an unknown connector raises ValueError)
    charger_limits(view, at) -> {connector: Limit}   (all connectors at once; ChargePointMax shared)
    grid_limit(view, at) -> Limit                      (connector 0: the whole charger)
    composite_schedule(view, connector_id, start, duration_s, unit) -> CompositeSchedule | None
        `.to_ocpp()` is the GetCompositeSchedule.conf payload; None means answer Rejected.
    next_change_after(view, after, horizon=8 days) -> datetime | None   (when to wake up next)

Wire helpers (`messages`): set_charging_profile / clear_charging_profile(store, payload, ...) -> StoreChange,
    get_composite_schedule(view, payload, now) -> conf payload.

Each module's docstring states how it reads the spec, with the lines of /work/shared/reference it rests on.
"""

from balanz.profiles.composite import (
    ChargerView,
    ConnectorState,
    Electrics,
    Limit,
    charger_limits,
    grid_limit,
    limit_at,
)
from balanz.profiles.model import (
    ChargingProfile,
    ChargingSchedule,
    Kind,
    ProfileError,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)
from balanz.profiles.schedule import InstalledProfile
from balanz.profiles.store import (
    Capabilities,
    ClearStatus,
    ProfileStatus,
    ProfileStore,
    StoreChange,
    clear,
    end_transaction,
    install,
)
from balanz.profiles.timeline import CompositeSchedule, composite_schedule, next_change_after

__all__ = [
    "Capabilities",
    "ChargerView",
    "ChargingProfile",
    "ChargingSchedule",
    "ClearStatus",
    "CompositeSchedule",
    "ConnectorState",
    "Electrics",
    "InstalledProfile",
    "Kind",
    "Limit",
    "ProfileError",
    "ProfileStatus",
    "ProfileStore",
    "Purpose",
    "RateUnit",
    "Recurrency",
    "SchedulePeriod",
    "StoreChange",
    "charger_limits",
    "clear",
    "composite_schedule",
    "end_transaction",
    "grid_limit",
    "install",
    "limit_at",
    "next_change_after",
]
