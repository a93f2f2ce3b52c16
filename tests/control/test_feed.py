"""The per-client push machine: coalesced deltas, sequence numbers, topics, dropping slow clients."""

import itertools
import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.control.delta import apply
from balanz.control.feed import Feed, FeedPolicy
from balanz.control.protocol import Event, LogLine
from balanz.control.snapshot import Snapshot
from tests.control.strategies import snapshots
from tests.tui.sites import load_site

A = load_site("site4.json")
C = load_site("site4_later.json")
B = replace(A, at="2026-11-24T16:40:12.500+01:00")


def decode(lines):
    return [json.loads(line) for line in lines]


def test_subscribe_starts_with_the_whole_snapshot():
    feed = Feed()
    [push] = decode(feed.start(A, now=0.0))
    assert (push["event"], push["seq"]) == ("snapshot", 1)
    assert Snapshot.from_json(push["data"]) == A


def test_changes_within_the_interval_are_held_and_coalesced_into_one_delta():
    feed = Feed(policy=FeedPolicy(interval_s=0.25))
    feed.start(A, now=0.0)
    assert feed.publish(B, now=0.1) == []
    assert feed.publish(C, now=0.2) == []
    assert feed.due_at() == 0.25
    assert feed.tick(now=0.24) == []
    [push] = decode(feed.tick(now=0.25))
    assert (push["event"], push["seq"]) == ("delta", 2)
    assert apply(A, push["data"]) == C
    assert feed.due_at() is None


def test_a_change_after_a_quiet_interval_goes_at_once():
    feed = Feed()
    feed.start(A, now=0.0)
    assert len(feed.publish(C, now=5.0)) == 1


def test_nothing_goes_when_nothing_changed():
    feed = Feed()
    feed.start(A, now=0.0)
    assert feed.publish(A, now=1.0) == []
    assert len(feed.publish(B, now=1.1)) == 1
    assert feed.publish(A, now=1.2) == []
    assert feed.publish(B, now=1.3) == []  # changed and changed back within the interval
    assert feed.tick(now=2.0) == []


def test_topics_and_log_level_select_what_is_pushed():
    event = Event("2026-11-24T16:40:13Z", "allocation", "R15 share", charger="CP1")
    info = LogLine("2026-11-24T16:40:13Z", "INFO", "balanz", "hello")
    warning = replace(info, level="WARNING")
    feed = Feed(topics=("events", "logs"), level="WARNING")
    assert feed.start(A, now=0.0) == []
    assert feed.publish(C, now=1.0) == []
    assert [
        p["event"] for p in decode(feed.event(event, 1.0) + feed.log(info, 1.0) + feed.log(warning, 1.0))
    ] == [
        "event",
        "log",
    ]
    assert Feed(topics=("state",)).event(event, 1.0) == []


def test_a_client_that_does_not_read_is_dropped_for_its_backlog():
    feed = Feed(policy=FeedPolicy(max_backlog_bytes=3_000, max_stall_s=1000))
    lines = feed.start(A, now=0.0)
    feed.written(sum(map(len, lines)), now=0.1)
    assert feed.backlog == 0
    assert feed.verdict(now=0.1) is None
    for i in range(10):
        feed.publish(replace(C if i % 2 else A, at=f"t{i}"), now=float(i + 1))
    assert feed.verdict(now=11.0).startswith("too slow:")


def test_a_client_whose_backlog_does_not_shrink_is_dropped_as_stuck():
    feed = Feed(policy=FeedPolicy(max_stall_s=15))
    lines = feed.start(A, now=0.0)
    feed.written(len(lines[0]) - 10, now=5.0)  # some progress at t=5
    assert feed.verdict(now=19.0) is None
    assert feed.verdict(now=20.5) == "stuck: read nothing for 16 s"
    feed.written(10, now=21.0)
    assert feed.verdict(now=100.0) is None


@settings(max_examples=60)
@given(
    first=snapshots,
    steps=st.lists(st.tuples(snapshots, st.floats(min_value=0, max_value=1, allow_nan=False)), max_size=4),
)
def test_the_client_ends_at_the_last_state_and_deltas_are_spaced(first, steps):
    feed = Feed(policy=FeedPolicy(interval_s=0.25))
    now = 0.0
    pushes = decode(feed.start(first, now))
    times = []
    for snapshot, gap in steps:
        now += gap
        out = decode(feed.publish(snapshot, now) + feed.tick(now))
        times += [now] * len(out)
        pushes += out
    if feed.due_at() is not None:
        now = max(now, feed.due_at())
        out = decode(feed.tick(now))
        times += [now] * len(out)
        pushes += out
    state = Snapshot.from_json(pushes[0]["data"])
    for push in pushes[1:]:
        state = apply(state, push["data"])
    assert state == (steps[-1][0] if steps else first)
    assert [p["seq"] for p in pushes] == list(range(1, len(pushes) + 1))
    assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(times))
