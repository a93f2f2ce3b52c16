"""Hypothesis strategies for snapshots: small id alphabets so two draws share chargers and connectors, which
is what exercises the "change" path of ``diff`` rather than only add/remove."""

from hypothesis import strategies as st

from balanz.control.snapshot import (
    Charger,
    Connector,
    Frame,
    Group,
    LimitOverride,
    Meter,
    Quota,
    Session,
    Site,
    Slot,
    SlotChange,
    Snapshot,
    Upstream,
)

amps = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)
phases = st.lists(amps, max_size=3).map(tuple)
texts = st.sampled_from(["", "a", "Charging", "R15 fair share", "ü ✓", "x" * 30])
times = st.sampled_from(["", "2026-11-24T16:40:12+01:00", "2026-11-24T17:00:00Z"])
maybe_amps = st.none() | amps
maybe_int = st.none() | st.integers(min_value=0, max_value=10)

slots = st.builds(
    Slot,
    label=texts,
    limit_a=amps,
    quotas=st.lists(st.builds(Quota, threshold=st.integers(0, 9), amps=amps, used_a=amps), max_size=3).map(
        tuple
    ),
)
groups = st.builds(
    Group,
    id=st.sampled_from(["HQ", "RR1", "RR2", "P01"]),
    description=texts,
    parent=st.none() | st.sampled_from(["HQ", "RR1"]),
    allocation=st.booleans(),
    limit_a=maybe_amps,
    offered_a=phases,
    exposure_a=phases,
    used_a=phases,
    slot=st.none() | slots,
    next_change=st.none() | st.builds(SlotChange, at=times, slot=slots),
    override=st.none() | st.builds(LimitOverride, limit_a=amps, until=times, set_by=texts),
    suspended=st.booleans(),
    recovery_excess_a=maybe_amps,
    lookahead=st.booleans(),
    warnings=st.lists(texts, max_size=2).map(tuple),
)
connectors = st.builds(
    Connector,
    id=st.integers(1, 3),
    status=st.sampled_from(["Available", "Charging", "SuspendedEV", "Faulted"]),
    error_code=texts,
    priority=maybe_int,
    priority_source=st.sampled_from(["", "session", "tag"]),
    target_a=maybe_amps,
    offer_a=maybe_amps,
    exposure_a=maybe_amps,
    in_flight_a=maybe_amps,
    usage_a=phases,
    ev_cap_a=maybe_amps,
    suspended=st.booleans(),
    suspended_until=st.none() | times,
    suspend_reason=texts,
    last_change=texts,
    session=st.none()
    | st.builds(
        Session, transaction_id=maybe_int, id_tag=texts, user=texts, started_at=times, energy_wh=amps
    ),
    meter=st.none()
    | st.builds(Meter, at=times, energy_wh=maybe_amps, current_a=phases, soc_percent=maybe_amps),
    offer_history=st.lists(amps, max_size=4).map(tuple),
    flags=st.lists(texts, max_size=2).map(tuple),
)
chargers = st.builds(
    Charger,
    id=st.sampled_from(["CP1", "CP2", "CP3", "TACW222421G063"]),
    alias=texts,
    group=st.sampled_from(["", "HQ", "RR1"]),
    connected=st.booleans(),
    firmware=texts,
    last_seen=st.none() | times,
    priority=maybe_int,
    clock_offset_s=maybe_amps,
    outbox=st.integers(0, 5),
    connectors=st.lists(connectors, max_size=3, unique_by=lambda c: c.id).map(tuple),
    last_frames=st.lists(
        st.builds(Frame, at=times, direction=st.sampled_from(["in", "out"]), text=texts), max_size=2
    ).map(tuple),
)
snapshots = st.builds(
    Snapshot,
    at=times,
    site=st.builds(
        Site,
        name=texts,
        mode=st.sampled_from(["csms", "lc"]),
        smart_charging=st.booleans(),
        upstream=st.none()
        | st.builds(Upstream, url=texts, legs_up=st.integers(0, 3), outbox=st.integers(0, 9)),
    ),
    groups=st.lists(groups, max_size=4, unique_by=lambda g: g.id).map(tuple),
    chargers=st.lists(chargers, max_size=4, unique_by=lambda c: c.id).map(tuple),
)
