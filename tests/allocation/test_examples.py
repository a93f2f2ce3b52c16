"""The worked examples EX1–EX8 of allocation.md §4, run through the simulated shell loop.

The timelines in the spec were computed with a minute tick; here runs are event-driven (R3), so the
tests assert the decisions, their order and the invariant (checked at every step by ``World``), with
times per R3.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from balanz.allocation import events
from balanz.allocation.model import Charger, Connector, Group, Params, Site
from balanz.allocation.schedule import parse_schedule
from balanz.allocation.state import ConnectorState, State

from .world import EV, World

CPH = ZoneInfo("Europe/Copenhagen")
RR1 = "00:00-05:59>0=48;06:00-16:59>0=16:3=32:5=48;17:00-20:59>0=0:5=48;21:00-23:59>0=32:5=48"


def t(hh: int, mm: int, ss: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 5, day, hh, mm, ss, tzinfo=CPH)


def charger(cid: str, group: str, priority: int = 1, max_a: int = 32, **kw) -> Charger:
    return Charger(cid, group, (Connector(cid, 1, max_current_a=max_a),), priority=priority, **kw)


def site(groups: list[Group], chargers: list[Charger]) -> Site:
    return Site(tuple(groups), tuple(chargers), tz=CPH)


def K(cid: str) -> tuple[str, int]:
    return (cid, 1)


def test_ex1_ramp_up_and_ev_cap_learning():
    s = site([Group("G", schedule=parse_schedule("32"))], [charger("A", "G")])
    world = World(s, Params(), t(10, 0))
    world.connect_all()
    world.plug(K("A"), t(10, 0, 10), EV(max_a=16))
    world.run_until(t(10, 40))
    assert world.offers(K("A")) == [6, 9, 12, 15, 18, 16]
    accepted = {v: when for when, k, v in world.log if k == K("A")}
    assert accepted[6] == t(10, 0, 11)
    # first ramp exactly min_offer_increase_interval_s after the probe's acknowledgement
    assert accepted[9] - accepted[6] >= timedelta(seconds=115)
    assert accepted[9] - accepted[6] < timedelta(seconds=120)
    # the cap is learnt more than usage_monitoring_interval_s after the last change (18 A)
    assert accepted[16] - accepted[18] > timedelta(seconds=300)
    assert world.state.connector(K("A")).session.ev_cap == 16
    cap_send = next(rule for when, k, v, rule in world.sent if v == 16)
    assert cap_send == "R13"


def test_ex2_fair_share_among_equal_priorities():
    s = site([Group("G", schedule=parse_schedule("24"))], [charger(c, "G") for c in "ABC"])
    world = World(s, Params(), t(10, 0))
    world.connect_all()
    world.plug(K("A"), t(10, 0, 10), EV(16))
    world.plug(K("B"), t(10, 0, 20), EV(16))
    world.plug(K("C"), t(10, 5, 10), EV(16))
    world.run_until(t(10, 5, 9))
    assert (world.offer_at(K("A")), world.offer_at(K("B"))) == (12, 12)
    world.run_until(t(10, 5, 12))
    # C's arrival reduces A and B first; C's probe waits for their confirmations and the settle time
    assert (world.offer_at(K("A")), world.offer_at(K("B")), world.offer_at(K("C"))) == (9, 9, 0)
    world.run_until(t(10, 5, 30))
    assert world.offer_at(K("C")) == 6
    c_probe = next(when for when, k, v, _ in world.sent if k == K("C") and v == 6)
    reductions = [when for when, k, v, _ in world.sent if v == 9 and when >= t(10, 5)]
    assert c_probe >= max(reductions) + timedelta(seconds=1 + 5)
    world.run_until(t(10, 12))
    assert sorted(world.offer_at(K(c)) for c in "ABC") == [8, 8, 8]


def _ex3_world(mode: str) -> World:
    g = Group("G", schedule=parse_schedule("06:00-16:59>0=16:3=32:5=48;*>0=48"))
    s = site([g], [charger("A", "G", 1), charger("B", "G", 3), charger("C", "G", 5)])
    world = World(s, Params(quota_mode=mode), t(10, 0))
    world.connect_all()
    world.plug(K("A"), t(10, 0, 10), EV(32))
    world.plug(K("B"), t(10, 0, 20), EV(32))
    world.plug(K("C"), t(10, 20, 10), EV(16))
    return world


def test_ex3_cumulative_quotas_keep_reserve_for_higher_priorities():
    world = _ex3_world("cumulative")
    world.run_until(t(10, 20))
    a, b = world.offer_at(K("A")), world.offer_at(K("B"))
    assert (a, b) == (0, 32)
    assert max(world.offers(K("A"))) == 16  # A alone never above 16, A+B never above 32 (checker)
    world.run_until(t(10, 22))
    assert world.offer_at(K("C")) == 6
    world.run_until(t(10, 45))
    assert (world.offer_at(K("A")), world.offer_at(K("B")), world.offer_at(K("C"))) == (0, 32, 16)


def test_ex3_band_mode_lets_lower_bands_fill_the_group():
    world = _ex3_world("band")
    world.run_until(t(10, 20))
    assert (world.offer_at(K("A")), world.offer_at(K("B"))) == (16, 32)
    world.run_until(t(10, 45))
    assert (world.offer_at(K("A")), world.offer_at(K("B")), world.offer_at(K("C"))) == (0, 32, 16)


def test_ex4_schedule_boundary_lowered_ahead_with_lookahead():
    s = site([Group("RR1", schedule=parse_schedule(RR1))], [charger("A", "RR1", 1), charger("C", "RR1", 5)])
    world = World(s, Params(), t(16, 40))
    world.connect_all()
    for key in (K("A"), K("C")):
        world.state = events.status_changed(world.state, key, "Preparing", world.now)
        world.state = events.transaction_started(world.state, s, key, 1, world.now, 0.0, None)
        world.state = world._accept_now(key, 16)
        world.state = events.status_changed(world.state, key, "Charging", world.now)
        world.evs[key] = EV(16)
    world.run_until(t(16, 58, 59))
    assert world.offer_at(K("A")) == 16
    world.run_until(t(17, 0))
    cut = next(when for when, k, v, _ in world.sent if k == K("A") and v == 0)
    assert cut == t(16, 59)
    assert world.offer_at(K("A")) == 0
    world.run_until(t(20, 59, 59))
    assert world.offer_at(K("A")) == 0
    assert world.offer_at(K("C")) == 16
    world.run_until(t(21, 0, 2))
    probe = next(when for when, k, v, _ in world.sent if k == K("A") and v == 6)
    assert probe == t(21, 0)


def test_ex5_delayed_charging_top_of_hour_retries():
    s = site([Group("G", schedule=parse_schedule("32"))], [charger("D", "G")])
    world = World(s, Params(), t(21, 0))
    world.connect_all()
    world.plug(K("D"), t(21, 10), EV(32, start_drawing_at=t(0, 0, day=6)))
    world.run_until(t(21, 15, 1))
    assert world.offer_at(K("D")) == 6  # hold: ≤ 300 s since the probe was accepted at 21:10:01
    world.run_until(t(21, 15, 3))
    assert world.offer_at(K("D")) == 0
    session = world.state.connector(K("D")).session
    assert session.suspend_until == t(21, 57, 30)
    world.run_until(t(21, 57, 29))
    assert world.offer_at(K("D")) == 0
    world.run_until(t(21, 57, 32))
    assert world.offer_at(K("D")) == 6
    world.run_until(t(23, 57, 32))
    probes = [when for when, k, v, _ in world.sent if k == K("D") and v == 6]
    assert probes[1:] == [t(21, 57, 30), t(22, 57, 30), t(23, 57, 30)]
    world.run_until(t(0, 8, day=6))
    assert world.offer_at(K("D")) >= 9


def test_ex6_reduction_times_out_and_the_group_is_replanned_around_it():
    s = site([Group("G", schedule=parse_schedule("32"))], [charger(c, "G") for c in "ABC"])
    world = World(s, Params(), t(10, 0))
    world.connect_all()
    for key, offer, energy in ((K("A"), 20, 5000.0), (K("B"), 12, 100.0)):
        world.state = events.status_changed(world.state, key, "Preparing", world.now)
        world.state = events.transaction_started(world.state, s, key, 1, t(9, 0), 0.0, None)
        world.state = world._accept_now(key, offer)
        world.state = events.status_changed(world.state, key, "Charging", world.now)
        world.evs[key] = EV(32, energy_wh=energy)
        world.state = events.meter_values(world.state, key, world.now, (0.0,), world.params, energy)
    world.answer["A"] = "lose"
    world.plug(K("C"), t(10, 0, 5), EV(32))
    world.run_until(t(10, 0, 30))
    assert world.state.connector(K("A")).acked == 20
    assert world.offer_at(K("C")) == 0  # 20 + 12 + 6 > 32: C's probe waits
    world.run_until(t(10, 0, 50))
    # A's send timed out (pinned at 20): B is reduced around it, then C probes
    assert world.offer_at(K("B")) == 6
    assert world.offer_at(K("C")) == 6


def test_ex7_restart_pins_then_first_wait_then_probes():
    s = site([Group("G", schedule=parse_schedule("32"))], [charger(c, "G") for c in "ABC"])
    params = Params()
    start = t(10, 0)
    persisted = {
        K("A"): ConnectorState(status="Charging", acked=16, changed_at=t(9, 50)),
        K("B"): ConnectorState(status="Charging", acked=10, changed_at=t(9, 50)),
        K("C"): ConnectorState(status="Available", acked=0, changed_at=t(9, 0)),
    }
    state = events.restored(start, persisted)
    world = World(s, params, start, state=state)
    first = world.step()
    assert set(first.pinned) == {K("A"), K("B"), K("C")}
    assert not first.reductions
    assert not first.increases
    world.at(t(10, 0, 12), "call", lambda st: events.charger_connected(st, s, "A", t(10, 0, 12), False), ())
    world.at(t(10, 0, 12), "call", lambda st: events.status_changed(st, K("A"), "Charging", t(10, 0, 12)), ())
    world.at(t(10, 0, 13), "call", lambda st: events.charger_reasserted(st, s, "A", t(10, 0, 13)), ())
    world.at(t(10, 0, 20), "call", lambda st: events.charger_connected(st, s, "C", t(10, 0, 20), False), ())
    world.at(
        t(10, 0, 20), "call", lambda st: events.status_changed(st, K("C"), "SuspendedEVSE", t(10, 0, 20)), ()
    )
    world.at(
        t(10, 0, 20),
        "call",
        lambda st: events.transaction_started(st, s, K("C"), 1003, t(10, 0, 20), 0.0, None),
        (),
    )
    world.at(t(10, 0, 21), "call", lambda st: events.charger_reasserted(st, s, "C", t(10, 0, 21)), ())
    world.evs[K("C")] = EV(32)
    world.at(t(10, 0, 40), "call", lambda st: events.charger_connected(st, s, "B", t(10, 0, 40), True), ())
    world.at(t(10, 0, 42), "call", lambda st: events.offer_sent(st, K("B"), 0, t(10, 0, 42)), ())
    world.at(t(10, 0, 42), "call", lambda st: events.offer_accepted(st, K("B"), 0, t(10, 0, 42), params), ())
    world.at(t(10, 0, 42), "call", lambda st: events.transaction_stopped(st, K("B"), t(10, 0, 42)), ())
    world.at(
        t(10, 0, 42), "call", lambda st: events.status_changed(st, K("B"), "Available", t(10, 0, 42)), ()
    )
    world.at(t(10, 0, 42), "call", lambda st: events.charger_reasserted(st, s, "B", t(10, 0, 42)), ())
    world.strict = False  # a rebooted charger is unknown (counts 32 A): recovery, not a balanz send
    world.run_until(t(10, 0, 41))
    assert world.plans[-1].recovery  # 16 + 32 (unknown after boot) > 32
    assert not world.plans[-1].increases
    world.run_until(t(10, 0, 59))
    assert world.offer_at(K("C")) == 0  # first_wait: no probe before 10:01:00
    assert not [s for s in world.sent if s[2] > 0]
    world.run_until(t(10, 1, 5))
    probe = next(when for when, k, v, _ in world.sent if k == K("C") and v == 6)
    assert probe == t(10, 1)
    # Deviation from the EX7 table (which keeps A at 16): B's unknown 32 A is charged first (R2), so A
    # is reduced at once — the only safe answer while B might draw its hardware maximum — and probes again.
    a_sends = [(when, v) for when, k, v, _ in world.sent if k == K("A")]
    assert a_sends == [(t(10, 0, 40), 0), (t(10, 1), 6)]


def test_ex8_nested_groups():
    groups = [
        Group("S", schedule=parse_schedule("48")),
        Group("P1", parent="S", schedule=parse_schedule("32")),
        Group("P2", parent="S", schedule=parse_schedule("12")),
    ]
    chargers = [
        charger("A", "P1"),
        charger("B", "P1"),
        charger("C", "P2"),
        charger("D", "P2"),
        charger("E", "P2"),
    ]
    world = World(site(groups, chargers), Params(), t(10, 0))
    world.connect_all()
    for i, c in enumerate("ABCD"):
        world.plug(K(c), t(10, 0, 10 + 10 * i), EV(32))
    # a fifth car in P2 gets nothing while C and D hold the two minimums (both below 1 kWh, R15)
    world.plug(K("E"), t(10, 1, 10), EV(32))
    world.run_until(t(10, 12))
    offers = {c: world.offer_at(K(c)) for c in "ABCD"}
    assert offers == {"A": 16, "B": 16, "C": 6, "D": 6}
    assert world.offer_at(K("E")) == 0
    assert world.offer_at(K("E")) == 0
    assert {c: world.offer_at(K(c)) for c in "CD"} == {"C": 6, "D": 6}
    assert isinstance(world.state, State)
