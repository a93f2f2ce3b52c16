"""What happened at the site, as typed events for the allocator and the monitor.

Handlers publish; publishing never blocks and never fails: each subscriber has its own bounded trio memory
channel, and a subscriber that falls behind loses the events that do not fit (counted and logged) instead of
slowing the chargers down. A lossless channel would have to either block the CSMS handlers (one slow
consumer would then stall every charger's messages) or grow without bound; neither is acceptable. So a
consumer that must not miss a state change checks ``Subscription.overflowed`` and re-reads the
``CsmsService`` state (``resynced()`` first discards what is still queued, all of it older than that
reading); events say *that* something changed, the service says *what is*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import trio

from balanz.csms.meter_values import ConnectorMeter, MeterSample
from balanz.sessions import LiveTransaction, SessionRecord

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 256


@dataclass(frozen=True, slots=True)
class ChargerConnected:
    charger_id: str
    at: datetime
    generation: int


@dataclass(frozen=True, slots=True)
class ChargerDisconnected:
    charger_id: str
    at: datetime
    generation: int


@dataclass(frozen=True, slots=True)
class ChargerBooted:
    charger_id: str
    at: datetime
    status: str
    vendor: str
    model: str
    firmware: str | None


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A connector's status or error code changed (connector 0: the charger as a whole)."""

    charger_id: str
    connector_id: int
    at: datetime
    status: str
    error_code: str
    entered_active: bool
    left_active: bool


@dataclass(frozen=True, slots=True)
class MeterUpdated:
    """New meter samples for a connector; ``meter`` holds the latest values and the usage history (R9)."""

    charger_id: str
    connector_id: int
    at: datetime
    transaction_id: int | None
    samples: tuple[MeterSample, ...]
    meter: ConnectorMeter


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    charger_id: str
    connector_id: int
    at: datetime
    transaction: LiveTransaction


@dataclass(frozen=True, slots=True)
class TransactionStopped:
    """A session was recorded durably. ``stale``: closed by the transaction timeout, not by the charger."""

    charger_id: str
    connector_id: int
    at: datetime
    record: SessionRecord
    stale: bool = False


Event = (
    ChargerConnected
    | ChargerDisconnected
    | ChargerBooted
    | StatusChanged
    | MeterUpdated
    | TransactionStarted
    | TransactionStopped
)


@dataclass(eq=False)
class Subscription:
    """One consumer's end: iterate ``receive`` (``async for event in sub.receive``)."""

    name: str
    receive: trio.MemoryReceiveChannel[Event]
    send: trio.MemorySendChannel[Event] = field(repr=False)
    dropped: int = 0
    overflowed: bool = False

    def resynced(self) -> int:
        """The consumer is about to rebuild its view from the services: the events still queued are older
        than that view, so they are discarded (returned: how many) and the overflow is cleared."""
        discarded = 0
        while True:
            try:
                self.receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            discarded += 1
        self.overflowed = False
        return discarded


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []
        self.published = 0

    def subscribe(self, name: str, capacity: int = DEFAULT_CAPACITY) -> Subscription:
        send, receive = trio.open_memory_channel[Event](capacity)
        sub = Subscription(name, receive, send)
        self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
        sub.send.close()

    def publish(self, event: Event) -> None:
        self.published += 1
        for sub in list(self._subscribers):
            try:
                sub.send.send_nowait(event)
            except trio.WouldBlock:
                sub.dropped += 1
                sub.overflowed = True
                if sub.dropped == 1 or sub.dropped % 1000 == 0:
                    log.warning(
                        "event subscriber %s is behind: %d event(s) dropped (latest %s)",
                        sub.name,
                        sub.dropped,
                        type(event).__name__,
                    )
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(sub)
                log.info("event subscriber %s went away", sub.name)
