"""The control-socket protocol as data: message shapes, error codes and NDJSON framing (flows.md §4.2).

No sockets and no clock here, in the manner of h11: bytes go into a ``LineDecoder`` and JSON objects come
out; messages go into ``encode`` and bytes come out. The daemon's trio server and the monitor's asyncio
client are thin drivers around these functions.

One JSON object per line, UTF-8. Client to daemon, always a request::

    {"id": 7, "cmd": "set-priority", "args": {"charger": "CP1", "connector": 1, "priority": 5}}

Daemon to client, a reply to a request or a push (after ``subscribe``)::

    {"id": 7, "ok": true, "result": {...}}
    {"id": 7, "ok": false, "error": {"code": "NoSuchCharger", "message": "no charger 'CP9'; ..."}}
    {"event": "snapshot" | "delta" | "event" | "log", "seq": 12, "data": {...}}

The first request on a connection must be ``hello`` (``{"protocol": 1, "client": "balanz-monitor"}``); its
result carries the daemon's protocol version, mode and the connection's access level. Pushes are numbered by
``seq`` per connection; a monitor that sees a gap asks for a fresh ``snapshot``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from balanz.control.codec import DecodeError, from_json, to_json
from balanz.control.snapshot import PROTOCOL_VERSION

logger = logging.getLogger(__name__)

__all__ = ["PROTOCOL_VERSION"]

# A 2,000-charger snapshot is a few megabytes; requests are small. A line past the limit is a broken or
# hostile peer, not a big message, and reading it whole would let it exhaust the daemon's memory.
MAX_SERVER_LINE = 64 * 1024 * 1024
MAX_REQUEST_LINE = 64 * 1024


class ErrorCode(StrEnum):
    NO_SUCH_CHARGER = "NoSuchCharger"
    NO_SUCH_CONNECTOR = "NoSuchConnector"
    NO_SUCH_GROUP = "NoSuchGroup"
    NO_SUCH_TAG = "NoSuchTag"
    NOT_CONNECTED = "NotConnected"
    NOT_IN_TRANSACTION = "NotInTransaction"
    READ_ONLY = "ReadOnly"
    REFUSED = "Refused"
    INVALID_ARGS = "InvalidArgs"
    CHARGER_ERROR = "ChargerError"
    TIMEOUT = "Timeout"
    INTERNAL = "Internal"


class Topic(StrEnum):
    STATE = "state"
    EVENTS = "events"
    LOGS = "logs"


class PushKind(StrEnum):
    SNAPSHOT = "snapshot"
    DELTA = "delta"
    EVENT = "event"
    LOG = "log"


class Access(StrEnum):
    CONTROL = "control"
    READONLY = "readonly"


class ProtocolError(Exception):
    """A peer broke the protocol; ``code`` and ``message`` become the error reply to request ``id``."""

    def __init__(self, code: ErrorCode, message: str, request_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id

    def reply(self) -> ErrorReply:
        return ErrorReply(id=self.request_id, code=self.code, message=self.message)


class LineTooLong(ProtocolError):
    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.INVALID_ARGS, f"line longer than {limit} bytes; connection closed")


@dataclass(frozen=True, slots=True)
class Request:
    id: int | str
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    id: int | str | None
    result: Any = None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    id: int | str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Push:
    event: str
    seq: int
    data: Any = None


@dataclass(frozen=True, slots=True)
class Event:
    """An allocator, profile or audit event (``kind``) as the event log shows it."""

    at: str
    kind: str
    text: str
    charger: str = ""
    connector: int | None = None
    group: str = ""
    rule: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    at: str
    level: str
    logger: str
    message: str


@dataclass(frozen=True, slots=True)
class Hello:
    """The daemon's answer to ``hello``."""

    protocol: int
    version: str = ""
    mode: str = ""
    access: str = Access.READONLY
    site: str = ""


Message = Request | Reply | ErrorReply | Push


def encode(message: Message) -> bytes:
    """One NDJSON line (with its newline)."""
    data: dict[str, Any]
    if isinstance(message, Request):
        data = {"id": message.id, "cmd": message.cmd, "args": message.args}
    elif isinstance(message, Reply):
        data = {"id": message.id, "ok": True, "result": message.result}
    elif isinstance(message, ErrorReply):
        data = {"id": message.id, "ok": False, "error": {"code": message.code, "message": message.message}}
    else:
        data = {"event": message.event, "seq": message.seq, "data": message.data}
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode()


class LineDecoder:
    """Splits a byte stream into JSON objects, one per line, refusing lines over ``max_line`` bytes."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()

    def split(self, data: bytes) -> list[bytes]:
        """The complete non-blank lines in ``data`` (without newlines); the rest waits for more bytes."""
        self._buffer += data
        out = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if len(line) > self.max_line:
                raise LineTooLong(self.max_line)
            if line.strip():
                out.append(line)
        if len(self._buffer) > self.max_line:
            raise LineTooLong(self.max_line)
        return out

    def feed(self, data: bytes) -> list[Any]:
        """JSON values of the complete lines in ``data``; raises ``ProtocolError`` on bad JSON."""
        return [parse_line(line) for line in self.split(data)]


def parse_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(ErrorCode.INVALID_ARGS, f"not a JSON line: {exc}") from None


def parse_request(data: Any) -> Request:
    """A request from its JSON form; the error names the problem and, when it can, the request id."""
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_ARGS, "a request must be a JSON object")
    request_id = data.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        raise ProtocolError(ErrorCode.INVALID_ARGS, "request needs an 'id' (integer or string)")
    cmd = data.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise ProtocolError(ErrorCode.INVALID_ARGS, "request needs a 'cmd' (string)", request_id)
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError(ErrorCode.INVALID_ARGS, f"{cmd}: 'args' must be an object", request_id)
    return Request(id=request_id, cmd=cmd, args=args)


def parse_server_message(data: Any) -> Reply | ErrorReply | Push:
    """A daemon line: a push when it has ``event``, else a reply; unknown extra keys are ignored."""
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INTERNAL, "daemon sent something that is not a JSON object")
    if "event" in data:
        event, seq = data.get("event"), data.get("seq")
        if not isinstance(event, str) or isinstance(seq, bool) or not isinstance(seq, int):
            raise ProtocolError(ErrorCode.INTERNAL, "daemon push needs 'event' (string) and 'seq' (integer)")
        return Push(event=event, seq=seq, data=data.get("data"))
    request_id = data.get("id")
    if data.get("ok") is True:
        return Reply(id=request_id, result=data.get("result"))
    error = data.get("error")
    if data.get("ok") is False and isinstance(error, dict):
        return ErrorReply(
            id=request_id,
            code=str(error.get("code", ErrorCode.INTERNAL)),
            message=str(error.get("message", "")),
        )
    raise ProtocolError(ErrorCode.INTERNAL, "daemon line is neither a push nor a reply")


def event_from_json(data: Any) -> Event:
    return _decode(Event, data, "event")


def log_from_json(data: Any) -> LogLine:
    return _decode(LogLine, data, "log")


def hello_from_json(data: Any) -> Hello:
    return _decode(Hello, data, "hello")


def as_json(value: Event | LogLine | Hello) -> dict[str, Any]:
    data: dict[str, Any] = to_json(value)
    return data


def _decode(cls: type, data: Any, what: str) -> Any:
    try:
        return from_json(cls, data)
    except DecodeError as exc:
        raise ProtocolError(ErrorCode.INTERNAL, f"bad {what} from the daemon: {exc}") from None
