"""Recorded snapshots for the monitor tests: a 4-charger site and a 2,000-charger site.

The JSON files under ``fixtures/`` are what the tests load (``load_site``); this module also builds them,
deterministically, so they can be regenerated when the snapshot schema grows a field:
``python -m tests.tui.sites``.
"""

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

from balanz.control.snapshot import (
    Charger,
    Connector,
    Frame,
    Group,
    Meter,
    Quota,
    Session,
    Site,
    Slot,
    SlotChange,
    Snapshot,
    Upstream,
)

FIXTURES = Path(__file__).with_name("fixtures")
AT = "2026-11-24T16:40:12+01:00"


def load_site(name: str) -> Snapshot:
    path = FIXTURES / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return Snapshot.from_json(json.load(fh))


def _charging(cid: int, offer: float, use: float, tag: str, user: str, tx: int, wh: float) -> Connector:
    return Connector(
        id=cid,
        status="Charging",
        priority=3,
        priority_source="tag",
        target_a=offer,
        offer_a=offer,
        exposure_a=offer,
        usage_a=(use, use - 0.3, use - 0.1),
        ev_cap_a=None,
        last_change="R15 fair share after HQ-02 #1 started",
        session=Session(
            transaction_id=tx, id_tag=tag, user=user, started_at="2026-11-24T15:02:40+01:00", energy_wh=wh
        ),
        meter=Meter(
            at="2026-11-24T16:39:58+01:00",
            energy_wh=1_204_500 + wh,
            power_w=use * 690,
            current_a=(use, use - 0.3, use - 0.1),
            voltage_v=(231.0, 229.5, 230.2),
            offered_a=offer,
        ),
        offer_history=(6.0, 10.0, 14.0, 16.0, 16.0, 12.0, offer),
    )


def site4() -> Snapshot:
    slot = Slot(label="Mon-Fri 06:00-16:59", limit_a=32, quotas=(Quota(0, 16, 12.5), Quota(3, 32, 28.0)))
    evening = Slot(label="Mon-Fri 17:00-20:59", limit_a=48, quotas=(Quota(0, 0), Quota(5, 48)))
    frames = (
        Frame("2026-11-24T16:39:58+01:00", "in", "MeterValues", "connectorId 1, 3 samples"),
        Frame("2026-11-24T16:40:01+01:00", "out", "SetChargingProfile", "TxProfile 12.0 A"),
        Frame("2026-11-24T16:40:02+01:00", "in", "SetChargingProfile", "Accepted"),
    )
    return Snapshot(
        at=AT,
        site=Site(
            name="Harbour Office",
            mode="csms",
            version="0.1.0",
            started_at="2026-11-24T06:00:00+01:00",
            timezone="Europe/Copenhagen",
        ),
        groups=(
            Group(
                id="HQ",
                description="main supply 3x63 A",
                allocation=True,
                limit_a=63,
                offered_a=(44.0, 44.0, 44.0),
                exposure_a=(44.0, 44.0, 44.0),
                used_a=(39.1, 38.2, 38.8),
                slot=Slot(label="*", limit_a=63, quotas=(Quota(0, 63, 44.0),)),
            ),
            Group(
                id="RR1",
                description="garage row 1",
                parent="HQ",
                allocation=True,
                limit_a=32,
                offered_a=(28.0, 28.0, 28.0),
                exposure_a=(28.0, 28.0, 28.0),
                used_a=(25.3, 24.9, 25.0),
                slot=slot,
                next_change=SlotChange(at="2026-11-24T17:00:00+01:00", slot=evening),
                lookahead=False,
            ),
        ),
        chargers=(
            Charger(
                id="TACW222421G063",
                alias="HQ-01",
                group="HQ",
                connected=True,
                vendor="Alfen",
                model="NG910",
                firmware="6.4.0",
                profile_strategy="TxProfile",
                auth_state="active",
                clock_offset_s=0.4,
                boot_at="2026-11-24T06:01:10+01:00",
                last_seen=AT,
                connectors=(
                    _charging(1, 16.0, 15.2, "04A2B3C4", "Ana", 1041, 18_300),
                    Connector(
                        id=2,
                        status="Available",
                        priority=1,
                        priority_source="default",
                        target_a=0,
                        offer_a=0,
                        exposure_a=0,
                    ),
                ),
                last_frames=frames,
            ),
            Charger(
                id="EVB-P2045811",
                alias="HQ-02",
                group="HQ",
                connected=True,
                vendor="Elinta",
                model="CityCharge",
                firmware="2.1",
                profile_strategy="TxDefault",
                auth_state="active",
                connectors=(
                    replace(
                        _charging(1, 0.0, 0.0, "77F01A", "Bo", 1043, 2_100),
                        status="SuspendedEV",
                        target_a=0,
                        offer_a=0,
                        exposure_a=0,
                        usage_a=(0.0,),
                        suspended=True,
                        suspended_until="2026-11-24T17:00:00+01:00",
                        suspend_reason="R11 EV not drawing",
                        offer_history=(6.0, 6.0, 0.0),
                    ),
                ),
            ),
            Charger(
                id="RR1-0001",
                alias="RR1-01",
                group="RR1",
                connected=True,
                vendor="Wallbe",
                model="Pro",
                firmware="1.7",
                connectors=(
                    _charging(1, 12.0, 11.8, "A1B2", "Cy", 1044, 7_950),
                    replace(
                        _charging(2, 16.0, 13.4, "C3D4", "Di", 1045, 11_020),
                        priority=5,
                        priority_source="session",
                        ev_cap_a=13.5,
                        flags=("pinned",),
                    ),
                ),
            ),
            Charger(
                id="RR1-0002",
                alias="RR1-02",
                group="RR1",
                connected=False,
                vendor="Wallbe",
                model="Pro",
                last_seen="2026-11-24T16:31:00+01:00",
                connectors=(Connector(id=1, status="Unavailable", exposure_a=0, flags=("no meter data",)),),
            ),
        ),
    )


def site4_later() -> Snapshot:
    """The same site one second on: HQ-01 #1 lowered to 14 A, HQ-02 #1 resumed, RR1-02 back online."""
    snap = site4()
    by_id = {c.id: c for c in snap.chargers}
    hq01, hq02, rr2 = by_id["TACW222421G063"], by_id["EVB-P2045811"], by_id["RR1-0002"]
    lowered = replace(
        hq01.connectors[0],
        target_a=14.0,
        offer_a=14.0,
        offer_history=(*hq01.connectors[0].offer_history, 14.0),
        last_change="R15 share after RR1-02 returned",
    )
    resumed = replace(
        hq02.connectors[0],
        status="Charging",
        suspended=False,
        suspended_until=None,
        suspend_reason="",
        target_a=6.0,
    )
    changed = {
        hq01.id: replace(hq01, connectors=(lowered, hq01.connectors[1])),
        hq02.id: replace(hq02, connectors=(resumed,)),
        rr2.id: replace(rr2, connected=True, last_seen="2026-11-24T16:40:13+01:00"),
    }
    chargers = tuple(changed.get(c.id, c) for c in snap.chargers)
    return replace(snap, at="2026-11-24T16:40:13+01:00", chargers=chargers)


def site_many(n: int = 2000, seed: int = 7) -> Snapshot:
    """A large parking site: 20 groups of n/20 two-connector chargers under one supply."""
    rng = random.Random(seed)
    groups = [
        Group(
            id="SITE",
            description="campus supply",
            allocation=True,
            limit_a=1600,
            offered_a=(1420.0,) * 3,
            used_a=(1310.0, 1302.5, 1297.0),
            slot=Slot(label="*", limit_a=1600, quotas=(Quota(0, 1600, 1420.0),)),
        )
    ]
    per_group = max(1, n // 20)
    statuses = ("Charging", "Charging", "Charging", "SuspendedEV", "Available", "Preparing", "Finishing")
    chargers = []
    for g in range(20):
        gid = f"P{g + 1:02d}"
        groups.append(
            Group(
                id=gid,
                parent="SITE",
                allocation=True,
                limit_a=125,
                offered_a=(71.0,) * 3,
                used_a=(65.5,) * 3,
                slot=Slot(label="*", limit_a=125, quotas=(Quota(0, 125),)),
            )
        )
    for i in range(n):
        gid = f"P{min(i // per_group, 19) + 1:02d}"
        conns = []
        for cid in (1, 2):
            status = rng.choice(statuses)
            charging = status in ("Charging", "SuspendedEV")
            offer = float(rng.choice((6, 8, 10, 12, 16))) if charging else 0.0
            use = round(offer * rng.uniform(0.5, 0.98), 1) if status == "Charging" else 0.0
            conns.append(
                Connector(
                    id=cid,
                    status=status,
                    priority=rng.choice((1, 1, 3, 5)),
                    priority_source="tag",
                    target_a=offer,
                    offer_a=offer,
                    exposure_a=offer,
                    usage_a=(use, use, use),
                    session=Session(
                        transaction_id=10_000 + 2 * i + cid,
                        id_tag=f"T{rng.randrange(16**6):06X}",
                        started_at="2026-11-24T08:15:00+01:00",
                        energy_wh=rng.randrange(0, 40_000),
                    )
                    if charging
                    else None,
                    offer_history=(6.0, offer) if charging else (),
                )
            )
        chargers.append(
            Charger(
                id=f"CP{i + 1:05d}",
                alias=f"{gid}-{i % per_group + 1:03d}",
                group=gid,
                connected=rng.random() > 0.02,
                connectors=tuple(conns),
            )
        )
    return Snapshot(
        at=AT,
        site=Site(
            name="Campus Park",
            mode="lc",
            version="0.1.0",
            upstream=Upstream(url="wss://csms.example.net/ocpp", legs_up=1960, legs_down=40, outbox=12),
        ),
        groups=tuple(groups),
        chargers=tuple(chargers),
    )


def write_fixtures() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, snap in (("site4.json", site4()), ("site4_later.json", site4_later())):
        (FIXTURES / name).write_text(json.dumps(snap.to_json(), indent=1) + "\n", encoding="utf-8")
    with gzip.GzipFile(FIXTURES / "site2000.json.gz", "wb", mtime=0) as fh:
        fh.write(json.dumps(site_many().to_json(), separators=(",", ":")).encode())


if __name__ == "__main__":
    write_fixtures()
