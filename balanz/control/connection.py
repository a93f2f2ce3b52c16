"""The daemon's side of one control-socket connection, without the socket: bytes in, requests or errors out.

The trio server reads bytes, hands them to ``ControlConnection.receive`` and gets back either requests to
execute (already validated against the command table and the socket's access level) or error replies to
write at once. It enforces the rules that are the same for every command: ``hello`` first, one ``hello``
only, known commands with well-formed arguments, views only on the read-only socket, no line longer than
``MAX_REQUEST_LINE``. A ``LineTooLong`` escapes: the peer is broken or hostile and the server closes it.
"""

from __future__ import annotations

import logging

from balanz.control.protocol import (
    MAX_REQUEST_LINE,
    PROTOCOL_VERSION,
    Access,
    ErrorCode,
    ErrorReply,
    Hello,
    LineDecoder,
    LineTooLong,
    ProtocolError,
    Reply,
    Request,
    as_json,
    parse_line,
    parse_request,
)
from balanz.control.requests import check_access, validate

logger = logging.getLogger(__name__)

__all__ = ["ControlConnection", "LineTooLong"]


class ControlConnection:
    def __init__(self, access: Access, max_line: int = MAX_REQUEST_LINE) -> None:
        self.access = access
        self.client = ""
        self.greeted = False
        self._decoder = LineDecoder(max_line)

    def receive(self, data: bytes) -> list[Request | ErrorReply]:
        """Requests to run, in order, with defaults filled in; errors to send back as they are."""
        out: list[Request | ErrorReply] = []
        for line in self._decoder.split(data):
            try:
                out.append(self._check(parse_request(parse_line(line))))
            except ProtocolError as exc:
                out.append(exc.reply())
        return out

    def hello_reply(self, request: Request, version: str, mode: str, site: str) -> Reply:
        """The answer to ``hello``: the daemon's protocol version, what it is, and this socket's access."""
        hello = Hello(protocol=PROTOCOL_VERSION, version=version, mode=mode, access=self.access, site=site)
        return Reply(request.id, as_json(hello))

    def _check(self, request: Request) -> Request:
        if not self.greeted and request.cmd != "hello":
            raise ProtocolError(ErrorCode.INVALID_ARGS, f"{request.cmd}: send 'hello' first", request.id)
        if self.greeted and request.cmd == "hello":
            raise ProtocolError(
                ErrorCode.INVALID_ARGS, "hello: already greeted on this connection", request.id
            )
        args = validate(request.cmd, request.args, request.id)
        check_access(request.cmd, self.access, request.id)
        if request.cmd == "hello":
            self.greeted = True
            self.client = args["client"]
        return Request(request.id, request.cmd, args)
