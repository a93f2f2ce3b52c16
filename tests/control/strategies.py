"""Hypothesis strategies for snapshots.

Small id alphabets, so two draws share chargers and connectors and ``diff`` takes its "change" path, not only
add/remove. Nested parts (sessions, meters, slots, frames) are drawn from small pools of realistic values:
building each field freshly made generation, not the code under test, take almost all of the run time, and
the delta logic treats every field alike anyway.
"""

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
some_amps = st.sampled_from([0.0, 6.0, 13.5, 16.0, 32.0])
maybe_amps = st.none() | some_amps
phases = st.sampled_from([(), (0.0,), (12.5, 12.1, 12.4), (16.0, 16.0, 16.0)]) | st.lists(
    amps, max_size=3
).map(tuple)
texts = st.sampled_from(["", "a", "Charging", "R15 fair share", "ü ✓", "x" * 30])
times = st.sampled_from(["", "2026-11-24T16:40:12+01:00", "2026-11-24T17:00:00Z"])
maybe_int = st.none() | st.integers(min_value=0, max_value=10)

SLOTS = [
    Slot("*", 63, (Quota(0, 63, 44.0),)),
    Slot("Mon-Fri 06:00-16:59", 32, (Quota(0, 16, 12.5), Quota(3, 32, 28.0))),
    Slot("17:00-20:59", 48, (Quota(0, 0), Quota(5, 48))),
]
SESSIONS = [
    Session(1041, "04A2B3C4", "Ana", "2026-11-24T15:02:40+01:00", 18300.0),
    Session(None, "77F01A", "", "", 0.0, priority_override=5),
    Session(7, "A1B2", "Bo", "2026-11-24T08:00:00Z", 1.5),
]
METERS = [
    Meter(
        "2026-11-24T16:39:58+01:00", 1222800.0, 10500.0, (15.2, 14.9, 15.1), (231.0, 229.5, 230.2), 16.0, 80.0
    ),
    Meter("", None, None, (), (), None, None),
]
FRAMES = [
    (),
    (Frame("2026-11-24T16:40:01+01:00", "out", "SetChargingProfile", "TxProfile 12.0 A"),),
    (Frame("t", "in", "MeterValues", "3 samples"), Frame("t", "out", "MeterValues", "")),
]

groups = st.builds(
    Group,
    id=st.sampled_from(["HQ", "RR1", "RR2", "P01"]),
    description=texts,
    parent=st.none() | st.sampled_from(["HQ", "RR1"]),
    allocation=st.booleans(),
    limit_a=maybe_amps,
    offered_a=phases,
    used_a=phases,
    slot=st.none() | st.sampled_from(SLOTS),
    next_change=st.none() | st.sampled_from(SLOTS).map(lambda s: SlotChange("2026-11-24T17:00:00+01:00", s)),
    override=st.none() | st.sampled_from([LimitOverride(20.0, "2026-11-24T18:00:00Z", "ctl")]),
    suspended=st.booleans(),
    recovery_excess_a=maybe_amps,
    warnings=st.sampled_from([(), ("child limit exceeds parent",)]),
)
connectors = st.builds(
    Connector,
    id=st.integers(1, 3),
    status=st.sampled_from(["Available", "Charging", "SuspendedEV", "Faulted"]),
    priority=maybe_int,
    priority_source=st.sampled_from(["", "session", "tag"]),
    target_a=maybe_amps,
    offer_a=st.none() | amps,
    exposure_a=maybe_amps,
    usage_a=phases,
    suspended=st.booleans(),
    suspended_until=st.none() | times,
    last_change=texts,
    session=st.none() | st.sampled_from(SESSIONS),
    meter=st.none() | st.sampled_from(METERS),
    offer_history=st.lists(some_amps, max_size=4).map(tuple),
    flags=st.sampled_from([(), ("pinned",), ("no meter data", "uncontrollable")]),
)
chargers = st.builds(
    Charger,
    id=st.sampled_from(["CP1", "CP2", "CP3", "TACW222421G063"]),
    alias=texts,
    group=st.sampled_from(["", "HQ", "RR1"]),
    connected=st.booleans(),
    firmware=texts,
    last_seen=st.none() | times,
    clock_offset_s=st.none() | amps,
    outbox=st.integers(0, 5),
    connectors=st.lists(connectors, max_size=3, unique_by=lambda c: c.id).map(tuple),
    last_frames=st.sampled_from(FRAMES),
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
