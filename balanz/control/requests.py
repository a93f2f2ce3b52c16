"""Every control-socket command and its arguments, as data (flows.md §4.2 command table).

One table serves three readers: the daemon validates incoming requests with ``validate`` before touching
any state (a bad request gets an ``InvalidArgs`` reply naming the argument and what is wrong), ``balanz ctl``
turns a command line into a request with ``parse_argv``, and the monitor's help lists what exists.

Commands marked ``readonly`` are the views the read-only socket allows; everything else needs the control
socket (``check_access``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from balanz.control.protocol import PROTOCOL_VERSION, Access, ErrorCode, ProtocolError, Topic

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRIGGER_MESSAGES = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument. ``kind``: str, int, float, bool, time (ISO-8601), list (of strings), object."""

    name: str
    kind: str = "str"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    positional: bool = False
    help: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    args: tuple[Arg, ...] = ()
    readonly: bool = False
    one_of: tuple[str, ...] = ()  # at least one of these must be given

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)


def _charger(help: str = "charger id or alias") -> Arg:
    return Arg("charger", required=True, positional=True, help=help)


def _connector(required: bool = True, default: int | None = None) -> Arg:
    return Arg("connector", "int", required=required, default=default, minimum=1, positional=True)


def _group() -> Arg:
    return Arg("group", required=True, positional=True, help="group id")


def _tag() -> Arg:
    return Arg("id_tag", required=True, positional=True, help="idTag (max 20 characters)", maximum=20)


_PRIORITY = Arg("priority", "int", required=True, minimum=0, maximum=1000, positional=True)
_SESSION_FILTERS = (
    Arg("charger", help="only this charger"),
    Arg("group", help="only chargers of this group"),
    Arg("tag", help="only this idTag"),
    Arg("since", "time"),
    Arg("until", "time"),
)
_TAG_FIELDS = (
    Arg("user"),
    Arg("parent", help="parent idTag"),
    Arg("priority", "int", minimum=0, maximum=1000),
    Arg("expires", "time"),
    Arg("description"),
)

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "hello",
            "start of every connection: protocol version and client name",
            (Arg("protocol", "int", required=True, minimum=1), Arg("client", default="")),
            readonly=True,
        ),
        Command(
            "subscribe",
            "start pushes: a snapshot, then deltas, events and log lines",
            (
                Arg(
                    "topics", "list", default=[t.value for t in Topic], choices=tuple(t.value for t in Topic)
                ),
                Arg("level", default="INFO", choices=LOG_LEVELS),
            ),
            readonly=True,
        ),
        Command("unsubscribe", "stop pushes", readonly=True),
        Command("status", "version, mode, uptime, upstream state, store health", readonly=True),
        Command("snapshot", "the whole site state, structured", readonly=True),
        Command("config", "effective configuration, secrets redacted", readonly=True),
        Command("reload", "re-read the TOML, validate, apply atomically or report the loader's errors"),
        Command("set-priority", "per-session priority override", (_charger(), _connector(), _PRIORITY)),
        Command("clear-priority", "drop the per-session priority override", (_charger(), _connector())),
        Command("suspend-group", "freeze the allocator for a group (R22)", (_group(),)),
        Command("resume-group", "let the allocator run for a group again", (_group(),)),
        Command(
            "suspend-connector", "withdraw a connector's offer until resumed", (_charger(), _connector())
        ),
        Command("resume-connector", "offer to a suspended connector again", (_charger(), _connector())),
        Command(
            "set-group-limit",
            "temporary limit for a group, below its schedule, until it expires",
            (
                _group(),
                Arg("limit_a", "float", required=True, minimum=0, maximum=10000, positional=True),
                Arg("for_s", "int", default=3600, minimum=60, maximum=7 * 86400, help="expiry in seconds"),
            ),
        ),
        Command("clear-group-limit", "drop a group's temporary limit", (_group(),)),
        Command(
            "set-external-limit",
            "an outside controller's limit for a group (group.external_fallback_a set), valid for valid_s",
            (
                _group(),
                Arg("headroom_a", "float", required=True, minimum=0, maximum=100000, positional=True),
                Arg("valid_s", "float", default=10, minimum=1, maximum=86400, help="seconds until stale"),
            ),
        ),
        Command("tags", "static and runtime tags, overrides marked", readonly=True),
        Command("tag-add", "new runtime tag", (_tag(), *_TAG_FIELDS)),
        Command("tag-set", "change or override a tag", (_tag(), *_TAG_FIELDS)),
        Command("tag-block", "block a tag", (_tag(),)),
        Command("tag-unblock", "unblock a tag", (_tag(),)),
        Command("tag-delete", "delete a runtime tag or override", (_tag(),)),
        Command(
            "sessions",
            "session history",
            (*_SESSION_FILTERS, Arg("limit", "int", default=100, minimum=1, maximum=100000)),
            readonly=True,
        ),
        Command(
            "export-sessions",
            "session history as CSV or JSON lines",
            (Arg("format", default="csv", choices=("csv", "jsonl")), *_SESSION_FILTERS),
            readonly=True,
        ),
        Command(
            "logs",
            "log ring buffer and audit lines",
            (
                Arg("level", default="INFO", choices=LOG_LEVELS),
                Arg("logger"),
                Arg("grep"),
                Arg("since", "time"),
                Arg("until", "time"),
                Arg("limit", "int", default=200, minimum=1, maximum=100000),
            ),
            readonly=True,
        ),
        Command(
            "log-level",
            "runtime log level of one logger",
            (
                Arg("logger", required=True, positional=True),
                Arg("level", required=True, choices=LOG_LEVELS, positional=True),
            ),
        ),
        Command("reset-auth", "forget a charger's auth key: re-provision on next connect", (_charger(),)),
        Command("charger-forget", "forget an autoregistered charger", (_charger(),)),
        Command("charger-move", "move an autoregistered charger to a group", (_charger(), _group())),
        Command("firmware-options", "catalogue entries matching a charger", (_charger(),), readonly=True),
        Command(
            "update-firmware",
            "UpdateFirmware to a charger",
            (_charger(), Arg("location", required=True, positional=True), Arg("retrieve_date", "time")),
        ),
        Command(
            "remote-start",
            "RemoteStartTransaction",
            (_charger(), _connector(), Arg("id_tag", required=True, positional=True, maximum=20)),
        ),
        Command(
            "remote-stop",
            "RemoteStopTransaction of the session on a connector (or by transaction id)",
            (_charger(), _connector(required=False), Arg("transaction_id", "int")),
            one_of=("connector", "transaction_id"),
        ),
        Command(
            "reset",
            "Reset a charger",
            (_charger(), Arg("type", default="Soft", choices=("Soft", "Hard"), positional=True)),
        ),
        Command(
            "trigger",
            "TriggerMessage",
            (
                _charger(),
                Arg("message", required=True, choices=TRIGGER_MESSAGES, positional=True),
                Arg("connector", "int", minimum=0),
            ),
        ),
        Command(
            "get-config", "GetConfiguration", (_charger(), Arg("keys", "list", default=[], positional=True))
        ),
        Command(
            "set-config",
            "ChangeConfiguration",
            (
                _charger(),
                Arg("key", required=True, positional=True, maximum=50),
                Arg("value", required=True, positional=True, maximum=500),
            ),
        ),
        Command("unlock", "UnlockConnector", (_charger(), _connector())),
        Command(
            "availability",
            "ChangeAvailability",
            (
                _charger(),
                Arg("type", required=True, choices=("Operative", "Inoperative"), positional=True),
                Arg("connector", "int", default=0, minimum=0),
            ),
        ),
        Command("clear-cache", "ClearCache", (_charger(),)),
        Command(
            "diagnostics",
            "GetDiagnostics",
            (_charger(), Arg("location", required=True, positional=True)),
        ),
        Command(
            "composite",
            "GetCompositeSchedule",
            (
                _charger(),
                Arg("connector", "int", default=0, minimum=0, positional=True),
                Arg("duration", "int", default=3600, minimum=1, maximum=7 * 86400),
                Arg("unit", default="A", choices=("A", "W")),
            ),
        ),
        Command(
            "call",
            "any OCPP call, passed through (§2.12 rules)",
            (_charger(), Arg("action", required=True, positional=True), Arg("payload", "object", default={})),
        ),
        Command("reassert-profiles", "re-send a charger's profiles", (_charger(),)),
        Command("release-profiles", "clear balanz's profiles on a charger", (_charger(),)),
        Command("release-offline", "assert an offline charger draws nothing (R27)", (_charger(),)),
        Command("upstream", "LC mode: upstream legs and their state", readonly=True),
        Command("outbox", "LC mode: a charger's offline outbox", (_charger(),), readonly=True),
    )
}


def invalid(command: str, message: str, request_id: int | str | None = None) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_ARGS, f"{command}: {message}", request_id)


def validate(cmd: str, args: Mapping[str, Any], request_id: int | str | None = None) -> dict[str, Any]:
    """The arguments with defaults filled in; ``ProtocolError(InvalidArgs)`` naming the first problem."""
    command = COMMANDS.get(cmd)
    if command is None:
        raise ProtocolError(
            ErrorCode.INVALID_ARGS, f"unknown command {cmd!r}; see 'balanz ctl help'", request_id
        )
    unknown = sorted(set(args) - {a.name for a in command.args})
    if unknown:
        raise invalid(cmd, f"unknown argument {unknown[0]!r}", request_id)
    out: dict[str, Any] = {}
    for spec in command.args:
        if spec.name not in args or args[spec.name] is None:
            if spec.required:
                raise invalid(cmd, f"{spec.name}: missing", request_id)
            out[spec.name] = list(spec.default) if isinstance(spec.default, list) else spec.default
            continue
        try:
            out[spec.name] = _check(spec, args[spec.name])
        except ValueError as exc:
            raise invalid(cmd, f"{spec.name}: {exc}", request_id) from None
    if command.one_of and all(out.get(name) is None for name in command.one_of):
        raise invalid(cmd, f"give one of {', '.join(command.one_of)}", request_id)
    if cmd == "hello" and out["protocol"] > PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.REFUSED,
            f"hello: protocol {out['protocol']} is newer than this daemon's ({PROTOCOL_VERSION}); "
            "use a monitor of the daemon's version",
            request_id,
        )
    return out


def check_access(cmd: str, access: Access, request_id: int | str | None = None) -> None:
    command = COMMANDS.get(cmd)
    if command is not None and not command.readonly and access is not Access.CONTROL:
        raise ProtocolError(
            ErrorCode.READ_ONLY, f"{cmd}: this socket is read-only; use the control socket", request_id
        )


def _check(spec: Arg, value: Any) -> Any:
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer; got {value!r}")
        _range(spec, value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number; got {value!r}")
        value = float(value)
        _range(spec, value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false; got {value!r}")
    elif kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"must be a list of strings; got {value!r}")
        bad = [v for v in value if spec.choices and v not in spec.choices]
        if bad:
            raise ValueError(f"{bad[0]!r} is not one of {', '.join(spec.choices)}")
    elif kind == "object":
        if not isinstance(value, dict):
            raise ValueError(f"must be an object; got {value!r}")
    else:
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be a non-empty string; got {value!r}")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(spec.choices)}; got {value!r}")
        if spec.maximum is not None and len(value) > spec.maximum:
            raise ValueError(f"at most {int(spec.maximum)} characters; got {len(value)}")
        if kind == "time":
            _parse_time(value)
    return value


def _range(spec: Arg, value: float) -> None:
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be ≥ {spec.minimum:g}; got {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be ≤ {spec.maximum:g}; got {value!r}")


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be an ISO-8601 time such as 2026-11-24T17:00:00Z; got {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"needs a time zone (Z or +01:00); got {value!r}")
    return parsed


# Shorter spellings for `balanz ctl`: `balanz ctl external-limit --group site --headroom 20 --valid 10`.
CTL_ALIASES = {"external-limit": "set-external-limit"}


def parse_argv(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``balanz ctl`` words to (command, args): positionals in table order, then ``--name value`` options.

    ``tag add X`` is accepted for ``tag-add X`` (and likewise ``charger move``), matching the spelling of
    flows.md. Values are typed by the table; the result still goes through ``validate``.
    """
    words = list(argv)
    if not words:
        raise invalid("ctl", "no command given; see 'balanz ctl help'")
    cmd = words.pop(0)
    cmd = CTL_ALIASES.get(cmd, cmd)
    if words and f"{cmd}-{words[0]}" in COMMANDS:
        cmd = f"{cmd}-{words.pop(0)}"
    command = COMMANDS.get(cmd)
    if command is None:
        raise ProtocolError(ErrorCode.INVALID_ARGS, f"unknown command {cmd!r}; see 'balanz ctl help'")
    positional = [a for a in command.args if a.positional]
    args: dict[str, Any] = {}
    index = 0
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            name = word[2:].replace("-", "_")
            # The unit suffix may be left out on the command line: --headroom 20 is --headroom-a 20.
            name = next((n for n in (name, f"{name}_a", f"{name}_s") if command.arg(n)), name)
            spec = command.arg(name)
            if spec is None:
                raise invalid(cmd, f"unknown option {word}")
            if spec.kind == "bool":
                args[name] = True
                continue
            if not words:
                raise invalid(cmd, f"{word} needs a value")
            args[name] = _from_word(cmd, spec, words.pop(0), args.get(name))
        else:
            if index >= len(positional):
                raise invalid(cmd, f"unexpected argument {word!r}")
            spec = positional[index]
            args[spec.name] = _from_word(cmd, spec, word, args.get(spec.name))
            if spec.kind != "list":
                index += 1
    return cmd, args


def _from_word(cmd: str, spec: Arg, word: str, previous: Any) -> Any:
    try:
        if spec.kind == "int":
            return int(word)
        if spec.kind == "float":
            return float(word)
        if spec.kind == "list":
            return [*(previous or []), *[w for w in word.split(",") if w]]
        if spec.kind == "object":
            return json.loads(word)
    except ValueError:
        raise invalid(cmd, f"{spec.name}: cannot read {word!r} as {spec.kind}") from None
    return word


def usage() -> str:
    """The command list for ``balanz ctl help`` and the monitor's help screen."""
    lines = []
    for command in COMMANDS.values():
        words = [f"<{a.name}>" if a.required else f"[{a.name}]" for a in command.args if a.positional]
        words += [f"[--{a.name.replace('_', '-')} {a.kind}]" for a in command.args if not a.positional]
        mark = " (read-only)" if command.readonly else ""
        lines.append(f"{command.name} {' '.join(words)}".rstrip() + f"\n    {command.help}{mark}")
    return "\n".join(lines)
