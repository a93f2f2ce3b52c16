"""The charger's end of the wire: connect, boot, heartbeat, send the outbox, reconnect with backoff.

Runs as one task per power cycle of a `SimCharger`. Reconnects after a drop wait `backoff_initial_s`,
doubling up to `backoff_max_s`, with ±25 % jitter from a generator seeded by the charger id (reproducible
runs, no thundering herd of thousands of simulated chargers). A reconnect is not a reboot: no
BootNotification is sent again (OCPP 1.6 boots once per power-up), but every connector's status is
reported so the central system can resynchronise (pitfalls P11).
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import deque
from typing import TYPE_CHECKING, Any

import trio
from trio_websocket import ConnectionClosed, HandshakeError

from balanz.sim.actions import charger_registry
from balanz.sim.eventlog import Connected, Disconnected, Sent
from balanz.wire import CallErrorReceived, CallTimeout, ConnectionLost, OcppConnection, WireError
from balanz.wire.client import SUBPROTOCOL, open_charger_connection
from balanz.wire.framing import encode_call, new_message_id

if TYPE_CHECKING:
    from balanz.sim.charger import Outgoing, SimCharger

logger = logging.getLogger(__name__)

ANSWERLESS = frozenset({"Heartbeat", "StatusNotification", "MeterValues"})
"""Messages whose answer the charger does not need: the only ones the frame quirks mangle or repeat."""


async def run_link(charger: SimCharger) -> None:
    rng = random.Random(charger.id)
    delay = charger.spec.backoff_initial_s
    attempt = 0
    registry = charger_registry(charger)
    while True:
        await _network_up(charger)
        attempt += 1
        reason = "closed"
        try:
            async with open_charger_connection(
                charger.base_url,
                charger.id,
                registry,
                password=charger.spec.password,
                call_timeout_s=charger.spec.call_timeout_s,
                subprotocols=() if charger.spec.quirks.no_subprotocol else (SUBPROTOCOL,),
                ssl_context=charger.ssl_context,
            ) as conn:
                charger.events.emit(Connected(charger.clock.now(), charger.id, attempt))
                if attempt > 1 or charger.boot_accepted:
                    charger.forget_profiles_on_reconnect()
                attempt, delay = 0, charger.spec.backoff_initial_s
                charger.connected = True
                reason = await _online(charger, conn)
        except* (OSError, WireError, HandshakeError, ConnectionClosed, trio.BrokenResourceError) as group:
            reason = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
        finally:
            charger.connected = False
            charger.outbox = deque(o for o in charger.outbox if o.keep)
        charger.events.emit(Disconnected(charger.clock.now(), charger.id, reason))
        wait = delay * rng.uniform(0.75, 1.25)
        logger.info("charger %s: link down (%s); retrying in %.1f s", charger.id, reason, wait)
        await charger.clock.sleep(wait)
        delay = min(delay * 2, charger.spec.backoff_max_s)


async def _network_up(charger: SimCharger) -> None:
    while trio.current_time() < charger.network_down_until:
        await trio.sleep_until(charger.network_down_until)


async def _online(charger: SimCharger, conn: OcppConnection) -> str:
    """Serve one connection until it closes or the network drops; returns why it ended."""
    dropped = False
    charger.network_dropped = trio.Event()
    async with trio.open_nursery() as nursery:

        async def watch_network() -> None:
            nonlocal dropped
            await charger.network_dropped.wait()
            dropped = True
            nursery.cancel_scope.cancel()

        nursery.start_soon(watch_network)
        nursery.start_soon(_session, charger, conn)
        await conn.wait_closed()
        nursery.cancel_scope.cancel()
    if dropped:
        # A network that goes away sends no close frame: cut the TCP stream under the websocket.
        stream = getattr(conn.transport, "_stream", None)
        if stream is not None:
            await trio.aclose_forcefully(stream)
        return "network dropped"
    return f"closed by the central system (code {conn.close_code})"


async def _session(charger: SimCharger, conn: OcppConnection) -> None:
    """Boot (once per power cycle), then heartbeat and send until the connection is lost."""
    try:
        if not charger.boot_accepted:
            await _boot(charger, conn)
    except (ConnectionLost, ConnectionClosed):
        return
    now = charger.clock.now()
    for n in range(charger.spec.connectors + 1):
        charger.send("StatusNotification", charger.status_payload(n, now))
    if charger.firmware_status_after_boot:
        charger.send("FirmwareStatusNotification", {"status": charger.firmware_status_after_boot})
        charger.firmware_status_after_boot = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_heartbeat, charger)
        with contextlib.suppress(ConnectionLost, ConnectionClosed):
            await _sender(charger, conn)
        nursery.cancel_scope.cancel()


async def _boot(charger: SimCharger, conn: OcppConnection) -> None:
    payload = charger.boot_payload()
    while True:
        try:
            answer = await conn.call_raw("BootNotification", payload)
        except (CallTimeout, CallErrorReceived) as exc:
            logger.warning("charger %s: BootNotification failed (%s); retrying", charger.id, exc)
            await charger.clock.sleep(30)
            continue
        interval = charger.on_boot_answer(answer)
        if charger.boot_accepted:
            return
        await charger.clock.sleep(interval if interval > 0 else 60)


async def _heartbeat(charger: SimCharger) -> None:
    while True:
        await charger.clock.sleep(max(1, int(charger.config["HeartbeatInterval"])))
        if not any(o.action == "Heartbeat" for o in charger.outbox):
            charger.send("Heartbeat", {})


async def _sender(charger: SimCharger, conn: OcppConnection) -> None:
    while True:
        while not charger.outbox:
            ready = charger.outbox_ready
            await ready.wait()
            if charger.outbox_ready is ready:
                charger.outbox_ready = trio.Event()
        item = charger.outbox[0]
        await _send_one(charger, conn, item)


def _mangled(charger: SimCharger, item: Outgoing) -> tuple[str, ...]:
    """The raw frames to send instead of a normal CALL, when a frame quirk's turn has come; () if none."""
    quirks = charger.spec.quirks
    if item.action not in ANSWERLESS or not (quirks.malformed_every or quirks.duplicate_every):
        return ()
    charger.answerless_sent += 1
    count = charger.answerless_sent
    frame = encode_call(new_message_id(), item.action, item.payload)
    if quirks.malformed_every and count % quirks.malformed_every == 0:
        if (count // quirks.malformed_every) % 2:
            return (frame[: len(frame) // 2],)
        return (encode_call(new_message_id(), "StatusNotification", {"connectorId": 1}),)
    if quirks.duplicate_every and count % quirks.duplicate_every == 0:
        return (frame, frame)
    return ()


async def _send_one(charger: SimCharger, conn: OcppConnection, item: Outgoing) -> None:
    raw = _mangled(charger, item)
    if raw:
        for frame in raw:
            await conn.transport.send_message(frame)
        charger.events.emit(Sent(charger.clock.now(), charger.id, item.action, item.payload, None))
        charger.outbox.popleft()
        return
    answer: dict[str, Any] | None = None
    try:
        answer = await conn.call_raw(item.action, item.payload)
    except (CallTimeout, CallErrorReceived) as exc:
        logger.warning("charger %s: %s not answered: %s", charger.id, item.action, exc)
        if item.keep and isinstance(exc, CallTimeout):
            return
    finally:
        charger.events.emit(Sent(charger.clock.now(), charger.id, item.action, item.payload, answer))
    if charger.outbox and charger.outbox[0] is item:
        charger.outbox.popleft()
    if answer is not None and item.on_answer is not None:
        item.on_answer(answer)
