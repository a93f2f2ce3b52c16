"""One OCPP-J 1.6 connection on trio, usable from either end.

The same class serves a charger inside the daemon (central-system role) and speaks for a simulated
charger (charge-point role): OCPP-J is symmetric, only the registered actions differ.

Inbound CALLs are answered by a worker task, not by the read loop, so a handler that calls the other side
back on this connection does not block the read loop that must deliver the answer (stack.md pitfall 5).
Outbound CALLs go one at a time (OCPP-J 1.6 §4.1.1) in FIFO order: ``trio.Lock`` is fair.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, is_dataclass
from typing import Any, Protocol

import trio
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call_result
from trio_websocket import ConnectionClosed

from balanz.wire import framing
from balanz.wire.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    ErrorCode,
    PayloadInvalid,
    ResponseInvalid,
)
from balanz.wire.framing import BadFrame, CallFrame, ErrorFrame, ResultFrame
from balanz.wire.registry import Handler, Registry
from balanz.wire.validation import CALL, CALLRESULT, known_actions, validate

log = logging.getLogger(__name__)

# The library names a few codes the 2.0.1 way; a 1.6 peer must read the 1.6 spelling.
_CODE_FOR_16 = {"FormatViolation": ErrorCode.FORMATION_VIOLATION,
                "OccurrenceConstraintViolation": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION}  # fmt: skip
_INBOUND_QUEUE = 4


class Transport(Protocol):
    """What a connection needs from a websocket; ``trio_websocket.WebSocketConnection`` fits."""

    async def get_message(self) -> str | bytes: ...

    async def send_message(self, message: str | bytes) -> None: ...

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(slots=True)
class _Pending:
    unique_id: str
    action: str
    answer: trio.MemorySendChannel[ResultFrame | ErrorFrame]


def to_wire(payload: Any) -> dict[str, Any]:
    """A v16 dataclass (or an already camelCase dict, as a relay has) as the JSON object to send."""
    if payload is None:
        return {}
    if is_dataclass(payload) and not isinstance(payload, type):
        return dict(remove_nones(snake_to_camel_case(serialize_as_dict(payload))))
    if isinstance(payload, dict):
        return payload
    raise TypeError(f"cannot send {type(payload).__name__} as an OCPP payload; use an ocpp.v16 dataclass")


class OcppConnection:
    def __init__(
        self,
        transport: Transport,
        registry: Registry,
        charger_id: str,
        *,
        call_timeout_s: float = 30.0,
        generation: int = 0,
        lenient: bool = False,
    ) -> None:
        self.transport = transport
        self.registry = registry
        self.charger_id = charger_id
        self.generation = generation
        self.call_timeout_s = call_timeout_s
        self.lenient = lenient
        self._tolerated: set[tuple[str, str, str]] = set()
        self.last_frame_at = trio.current_time()
        self.dropped_frames = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._call_lock = trio.Lock()
        self._pending: _Pending | None = None
        self._closed = trio.Event()
        self._nursery: trio.Nursery | None = None

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        await self.transport.aclose(code, reason)

    # ---- running -------------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read and answer until the peer or we close the connection; returns normally on close."""
        calls_in, calls_out = trio.open_memory_channel[CallFrame](_INBOUND_QUEUE)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._answer_calls, calls_out)
                await self._read(calls_in)
                nursery.cancel_scope.cancel()
        finally:
            self._closed.set()
            if self._pending is not None:
                self._pending.answer.close()

    async def _read(self, calls: trio.MemorySendChannel[CallFrame]) -> None:
        async with calls:
            while True:
                try:
                    raw = await self.transport.get_message()
                except ConnectionClosed as exc:
                    if exc.reason is not None:
                        self.close_code, self.close_reason = exc.reason.code, exc.reason.reason
                    return
                self.last_frame_at = trio.current_time()
                frame = framing.decode(raw)
                if isinstance(frame, CallFrame):
                    await calls.send(frame)
                elif isinstance(frame, BadFrame):
                    await self._reject(frame, raw)
                else:
                    self._deliver(frame)

    async def _reject(self, frame: BadFrame, raw: str | bytes) -> None:
        excerpt = raw[:120]
        if frame.reply_to is None:
            self.dropped_frames += 1
            log.warning("charger %s: dropped a frame (%s): %r", self.charger_id, frame.description, excerpt)
            return
        log.warning(
            "charger %s: answered %s to %r: %s", self.charger_id, frame.code, excerpt, frame.description
        )
        await self._send(framing.encode_error(frame.reply_to, frame.code, frame.description))

    def _deliver(self, frame: ResultFrame | ErrorFrame) -> None:
        pending = self._pending
        if pending is None or pending.unique_id != frame.unique_id:
            self.dropped_frames += 1
            log.warning(
                "charger %s: answer for unknown message id %r dropped (late after a timeout, or never sent)",
                self.charger_id,
                frame.unique_id,
            )
            return
        self._pending = None
        pending.answer.send_nowait(frame)

    async def _send(self, text: str) -> bool:
        try:
            await self.transport.send_message(text)
        except ConnectionClosed:
            return False
        return True

    # ---- inbound CALLs -------------------------------------------------------------------------------

    async def _answer_calls(self, calls: trio.MemoryReceiveChannel[CallFrame]) -> None:
        async with calls:
            async for frame in calls:
                reply, hooks, kwargs = await self._handle(frame)
                if not await self._send(reply):
                    return
                for hook in hooks:
                    assert self._nursery is not None
                    self._nursery.start_soon(self._run_hook, frame.action, hook, kwargs)

    async def _handle(self, frame: CallFrame) -> tuple[str, list[Handler], dict[str, Any]]:
        action, uid = frame.action, frame.unique_id
        if action not in known_actions():
            return (
                framing.encode_error(uid, ErrorCode.NOT_IMPLEMENTED, f"{action} is not an OCPP 1.6 action"),
                [],
                {},
            )
        route = self.registry.route(action)
        if route is None or route.handler is None:
            return (
                framing.encode_error(uid, ErrorCode.NOT_SUPPORTED, f"{action} is not supported here"),
                [],
                {},
            )
        try:
            if not route.skip_schema_validation:
                validate(CALL, action, frame.payload)
        except PayloadInvalid as bad:
            if not self._tolerate(bad):
                log.warning(
                    "charger %s: %s rejected with %s: %s", self.charger_id, action, bad.code, bad.description
                )
                return framing.encode_error(uid, bad.code, bad.description, bad.details), [], {}
        kwargs = camel_to_snake_case(frame.payload)
        try:
            result = route.handler(self, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            payload = to_wire(result)
            if not route.skip_schema_validation:
                validate(CALLRESULT, action, payload)
        except OCPPError as exc:
            code = _CODE_FOR_16.get(exc.code, exc.code)
            return framing.encode_error(uid, code, exc.description or "", exc.details or {}), [], {}
        except Exception:
            log.exception(
                "charger %s: handler for %s failed; answered InternalError", self.charger_id, action
            )
            return (
                framing.encode_error(uid, ErrorCode.INTERNAL_ERROR, f"{action} could not be processed"),
                [],
                {},
            )
        return framing.encode_result(uid, payload), list(route.after), kwargs

    def _tolerate(self, bad: PayloadInvalid) -> bool:
        """Lenient chargers (flows.md §1.3): pass a schema violation to the handler, logged once per kind.

        A missing required field is never tolerated: handlers rely on required fields being there.
        """
        if not self.lenient or bad.code == ErrorCode.PROTOCOL_ERROR:
            return False
        kind = (bad.action, str(bad.details.get("path")), str(bad.details.get("rule")))
        if kind not in self._tolerated:
            self._tolerated.add(kind)
            text = f"{bad.code}: {bad.description}"
            log.warning("charger %s (lenient): accepted %s despite %s", self.charger_id, bad.action, text)
        return True

    async def _run_hook(self, action: str, hook: Handler, kwargs: dict[str, Any]) -> None:
        try:
            result = hook(self, **kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception(
                "charger %s: after-hook %s for %s failed", self.charger_id, hook.__qualname__, action
            )

    # ---- outbound CALLs ------------------------------------------------------------------------------

    async def call(self, request: Any, *, timeout_s: float | None = None) -> Any:
        """Send an ``ocpp.v16.call`` dataclass, return the matching ``ocpp.v16.call_result`` dataclass.

        Raises ``PayloadInvalid`` (before sending), ``CallErrorReceived``, ``CallTimeout``,
        ``ResponseInvalid`` or ``ConnectionLost``.
        """
        action = type(request).__name__
        answer = await self.call_raw(action, to_wire(request), timeout_s=timeout_s)
        return getattr(call_result, action)(**camel_to_snake_case(answer))

    async def call_raw(
        self, action: str, payload: dict[str, Any], *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Like ``call`` with the camelCase JSON object in and out (for relaying without dataclasses)."""
        validate(CALL, action, payload)
        timeout = self.call_timeout_s if timeout_s is None else timeout_s
        async with self._call_lock:
            if self.closed:
                raise ConnectionLost(self.charger_id, action)
            unique_id = framing.new_message_id()
            send, receive = trio.open_memory_channel[ResultFrame | ErrorFrame](1)
            self._pending = _Pending(unique_id, action, send)
            try:
                if not await self._send(framing.encode_call(unique_id, action, payload)):
                    raise ConnectionLost(self.charger_id, action)
                answer: ResultFrame | ErrorFrame | None = None
                with trio.move_on_after(timeout):
                    try:
                        answer = await receive.receive()
                    except trio.EndOfChannel:
                        raise ConnectionLost(self.charger_id, action) from None
                if answer is None:
                    raise CallTimeout(self.charger_id, action, timeout)
            finally:
                if self._pending is not None and self._pending.unique_id == unique_id:
                    self._pending = None
        if isinstance(answer, ErrorFrame):
            raise CallErrorReceived(self.charger_id, action, answer.code, answer.description, answer.details)
        try:
            validate(CALLRESULT, action, answer.payload)
        except PayloadInvalid as bad:
            raise ResponseInvalid(self.charger_id, bad) from None
        return answer.payload
