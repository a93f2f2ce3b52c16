"""What the daemon pushes to one subscribed client, and when to give up on it: a pure state machine.

The daemon's socket server (trio) owns one ``Feed`` per subscribed connection and drives it: it hands in
every new site snapshot, event and log line with the current time, writes the pushes it gets back, and
reports how many bytes the socket actually accepted. No sockets and no clock here, so the rules are tested
event by event:

- **Coalescing**: deltas go out at most every ``interval_s``. A snapshot offered earlier is held; the next
  delta is computed against the last snapshot *sent*, so every intermediate state folds into one delta and
  nothing is lost. ``due_at`` says when a held change may go.
- **Sequence**: every push carries the next ``seq``; the client asks for a fresh snapshot on a gap.
- **Topics and level**: events and log lines only if subscribed, log lines at or above the level.
- **Slow or stuck clients are dropped**: the bytes pushed but not yet written must stay under
  ``max_backlog_bytes``, and a backlog must shrink within ``max_stall_s``. A monitor that stops reading must
  not make the daemon buffer without bound, nor hold up other clients.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from balanz.control.delta import diff
from balanz.control.protocol import Event, LogLine, Push, PushKind, Topic, as_json, encode
from balanz.control.snapshot import Snapshot

logger = logging.getLogger(__name__)

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    interval_s: float = 0.25
    max_backlog_bytes: int = 32 * 1024 * 1024
    max_stall_s: float = 15.0


class Feed:
    def __init__(
        self,
        topics: tuple[str, ...] = tuple(t.value for t in Topic),
        level: str = "INFO",
        policy: FeedPolicy | None = None,
    ) -> None:
        self.topics = frozenset(topics)
        self.level = LEVELS.get(level, 20)
        self.policy = policy or FeedPolicy()
        self.seq = 0
        self.sent: Snapshot | None = None
        self.sent_at: float | None = None
        self.pending: Snapshot | None = None
        self.backlog = 0
        self.backlog_since: float | None = None

    def start(self, snapshot: Snapshot, now: float) -> list[bytes]:
        """The first push after ``subscribe``: the whole snapshot (only if ``state`` is subscribed)."""
        if Topic.STATE not in self.topics:
            return []
        self.sent, self.sent_at, self.pending = snapshot, now, None
        return [self._push(PushKind.SNAPSHOT, snapshot.to_json(), now)]

    def publish(self, snapshot: Snapshot, now: float) -> list[bytes]:
        """Offer the site's current state; a delta now, or nothing yet (then ask ``due_at`` when)."""
        if Topic.STATE not in self.topics or self.sent is None:
            return []
        self.pending = snapshot
        return self.tick(now)

    def tick(self, now: float) -> list[bytes]:
        """Send the held change if its time has come (the server calls this at ``due_at``)."""
        due = self.due_at()
        if due is None or now < due or self.pending is None or self.sent is None:
            return []
        pending, self.pending = self.pending, None
        if pending == self.sent:
            return []
        delta = diff(self.sent, pending)
        self.sent, self.sent_at = pending, now
        return [self._push(PushKind.DELTA, delta, now)]

    def due_at(self) -> float | None:
        if self.pending is None:
            return None
        if self.sent_at is None:
            return 0.0
        return self.sent_at + self.policy.interval_s

    def event(self, event: Event, now: float) -> list[bytes]:
        if Topic.EVENTS not in self.topics:
            return []
        return [self._push(PushKind.EVENT, as_json(event), now)]

    def log(self, line: LogLine, now: float) -> list[bytes]:
        if Topic.LOGS not in self.topics or LEVELS.get(line.level, 0) < self.level:
            return []
        return [self._push(PushKind.LOG, as_json(line), now)]

    def written(self, nbytes: int, now: float) -> None:
        """The socket accepted ``nbytes`` of what was pushed."""
        self.backlog = max(0, self.backlog - nbytes)
        self.backlog_since = now if self.backlog else None

    def verdict(self, now: float) -> str | None:
        """Why this client must be dropped, or None while it keeps up."""
        if self.backlog > self.policy.max_backlog_bytes:
            return f"too slow: {self.backlog} bytes not read (limit {self.policy.max_backlog_bytes})"
        if self.backlog_since is not None and now - self.backlog_since > self.policy.max_stall_s:
            return f"stuck: read nothing for {now - self.backlog_since:.0f} s"
        return None

    def _push(self, kind: PushKind, data: object, now: float) -> bytes:
        self.seq += 1
        line = encode(Push(event=kind, seq=self.seq, data=data))
        if self.backlog == 0:
            self.backlog_since = now
        self.backlog += len(line)
        return line
