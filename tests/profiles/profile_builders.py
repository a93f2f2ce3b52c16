"""Short constructors for profiles and charger views used across the profile tests."""

from collections.abc import Sequence
from datetime import UTC, datetime

from balanz.profiles import (
    Capabilities,
    ChargerView,
    ChargingProfile,
    ChargingSchedule,
    ConnectorState,
    Electrics,
    Kind,
    ProfileStatus,
    ProfileStore,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
    install,
)

MAX = Purpose.CHARGE_POINT_MAX
DEFAULT = Purpose.TX_DEFAULT
TX = Purpose.TX


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def profile(
    profile_id: int,
    purpose: Purpose = DEFAULT,
    level: int = 0,
    periods: Sequence[tuple[int, float] | tuple[int, float, int]] = ((0, 16.0),),
    *,
    kind: Kind = Kind.ABSOLUTE,
    unit: RateUnit = RateUnit.A,
    start: datetime | None = None,
    duration: int | None = None,
    recurrency: Recurrency | None = None,
    transaction_id: int | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    min_rate: float | None = None,
) -> ChargingProfile:
    if kind is Kind.RECURRING and recurrency is None:
        recurrency = Recurrency.DAILY
    return ChargingProfile(
        id=profile_id,
        stack_level=level,
        purpose=purpose,
        kind=kind,
        recurrency=recurrency,
        transaction_id=transaction_id,
        valid_from=valid_from,
        valid_to=valid_to,
        schedule=ChargingSchedule(
            rate_unit=unit,
            periods=tuple(SchedulePeriod(*p) for p in periods),
            duration=duration,
            start_schedule=start,
            min_charging_rate=min_rate,
        ),
    )


def installed(
    connectors: int,
    placed: Sequence[tuple[int, ChargingProfile]],
    at: datetime,
    transactions: dict[int, int] | None = None,
    capabilities: Capabilities | None = None,
) -> ProfileStore:
    """A store with every (connector, profile) installed at `at`; fails the test if one is not Accepted."""
    store = ProfileStore(connectors)
    for connector_id, p in placed:
        change = install(store, connector_id, p, at, transactions or {}, capabilities or Capabilities())
        assert change.status is ProfileStatus.ACCEPTED, change.reason
        store = change.store
    return store


def view(
    store: ProfileStore,
    sessions: dict[int, tuple[int, datetime]] | None = None,
    electrics: Electrics | None = None,
) -> ChargerView:
    """`sessions`: connector -> (transaction id, transaction start)."""
    return ChargerView(
        store,
        electrics or Electrics(),
        {n: ConnectorState(tx, start) for n, (tx, start) in (sessions or {}).items()},
    )


def spec_3_13_7_profile():
    """ocpp-1.6-edition2.txt §3.13.7 (:1633-1700): daily TxDefault, 6 kW 08:00-20:00, 11 kW otherwise."""
    return profile(
        100,
        DEFAULT,
        0,
        ((0, 11000.0, 3), (28800, 6000.0, 3), (72000, 11000.0, 3)),
        kind=Kind.RECURRING,
        recurrency=Recurrency.DAILY,
        unit=RateUnit.W,
        start=utc(2013, 1, 1),
        duration=86400,
    )
