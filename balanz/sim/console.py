"""The simulator's command console: one line, one act on a charger, so an installer can poke a site by hand.

`USAGE` lists the commands (`help` prints it). `parse_command` is pure and tested line by line; `execute`
applies a command to the running site through operate.py, so a typed `plug` is the same act as a
scenario's arrival, and returns the line to print. Every error is one line that names the problem.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from balanz.config.keys import suggest
from balanz.sim import operate
from balanz.sim.summary import render, snapshot
from balanz.sim.timeline import REBOOT_OFFLINE
from balanz.sim.timespec import parse_duration

if TYPE_CHECKING:
    from balanz.sim.runner import SiteRun

logger = logging.getLogger(__name__)

USAGE = {
    "plug": ("plug CHARGER[:CONN] [TAG] [max=A] [kwh=N] [phases=N]", "a car arrives (and presents TAG)"),
    "unplug": ("unplug CHARGER[:CONN]", "the car leaves"),
    "tag": ("tag CHARGER[:CONN] TAG", "a tag is presented (starts or stops a session)"),
    "full": ("full CHARGER[:CONN]", "the car is full and stops drawing"),
    "suspend": ("suspend CHARGER[:CONN]", "the car pauses by itself (SuspendedEV)"),
    "resume": ("resume CHARGER[:CONN]", "the paused car charges again"),
    "maxa": ("maxa CHARGER[:CONN] A", "the car now takes at most A per phase"),
    "reboot": ("reboot CHARGER [SECONDS]", "power cycle, offline SECONDS (default 20)"),
    "drop": ("drop CHARGER SECONDS", "the network is gone that long"),
    "status": ("status", "the summary table now"),
    "help": ("help", "this list"),
}
"""Each command's syntax and what it does; SECONDS may be a duration too ("90s", "5m"); CONN defaults to 1."""

HELP = "\n".join(f"{syntax:<55} {what}" for syntax, what in USAGE.values())

ON_CONNECTOR = ("plug", "unplug", "tag", "full", "suspend", "resume", "maxa")
ON_CHARGER = ("reboot", "drop")
PLAIN = ("status", "help")
VERBS = tuple(USAGE)
PLUG_OPTIONS = ("max", "kwh", "phases")
MAX_AMPS = 80.0
MAX_KWH = 1000.0


class CommandError(Exception):
    """A line that is not a command, or a command that does not apply; the message is printed as is."""


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    charger: str = ""
    connector: int = 1
    tag: str | None = None
    amps: float | None = None
    """maxa: the new maximum; plug: max=."""
    kwh: float | None = None
    phases: int | None = None
    seconds: float | None = None


def parse_command(line: str) -> Command | None:
    """A typed line → `Command`; None for a blank line or a comment (#)."""
    words = line.split("#", 1)[0].split()
    if not words:
        return None
    verb, args = words[0].lower(), words[1:]
    if verb not in VERBS:
        raise CommandError(f'unknown command "{words[0]}"{suggest(verb, VERBS)}; "help" lists them')
    if verb in PLAIN:
        _count(verb, args, 0, 0)
        return Command(verb)
    if not args:
        raise CommandError(f"{verb}: which charger? ({_usage(verb)})")
    if verb in ON_CHARGER:
        return _charger_command(verb, args)
    charger, connector = _target(verb, args[0])
    rest = args[1:]
    command = Command(verb, charger, connector)
    if verb == "plug":
        return _plug(command, rest)
    if verb == "tag":
        _count(verb, rest, 1, 1)
        return replace(command, tag=rest[0])
    if verb == "maxa":
        _count(verb, rest, 1, 1)
        return replace(command, amps=_number(verb, "A", rest[0], 0, MAX_AMPS))
    _count(verb, rest, 0, 0)
    return command


def _usage(verb: str) -> str:
    return "usage: " + USAGE[verb][0]


def _count(verb: str, args: list[str], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        extra = " ".join(args[high:]) if len(args) > high else ""
        what = f'unexpected "{extra}"' if extra else "missing an argument"
        raise CommandError(f"{verb}: {what} ({_usage(verb)})")


def _target(verb: str, text: str) -> tuple[str, int]:
    charger, colon, number = text.partition(":")
    if not charger:
        raise CommandError(f'{verb}: "{text}" names no charger ({_usage(verb)})')
    if not colon:
        return charger, 1
    if not number.isdigit() or int(number) < 1:
        raise CommandError(f'{verb}: connector "{number}" of {charger} must be a number from 1')
    return charger, int(number)


def _number(verb: str, what: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f'{verb}: {what} must be a number, got "{text}"') from None
    if not math.isfinite(value) or not low <= value <= high:
        raise CommandError(f"{verb}: {what} must be between {low:g} and {high:g}, got {text}")
    return value


def _seconds(verb: str, text: str) -> float:
    duration = parse_duration(text)
    seconds = duration.total_seconds() if duration is not None else None
    if seconds is None:
        seconds = _number(verb, "SECONDS", text, 0, 366 * 86400)
    if seconds <= 0:
        raise CommandError(f"{verb}: SECONDS must be more than 0, got {text}")
    return seconds


def _charger_command(verb: str, args: list[str]) -> Command:
    if ":" in args[0]:
        raise CommandError(f"{verb}: acts on the whole charger; write {args[0].split(':')[0]} without :CONN")
    if verb == "drop":
        _count(verb, args[1:], 1, 1)
        return Command(verb, args[0], seconds=_seconds(verb, args[1]))
    _count(verb, args[1:], 0, 1)
    seconds = _seconds(verb, args[1]) if len(args) > 1 else REBOOT_OFFLINE.total_seconds()
    return Command(verb, args[0], seconds=seconds)


def _plug(command: Command, rest: list[str]) -> Command:
    options: dict[str, str] = {}
    tag = None
    for word in rest:
        name, eq, value = word.partition("=")
        if not eq:
            if tag is not None:
                raise CommandError(f'plug: one tag only, got "{tag}" and "{word}"')
            tag = word
        elif name.lower() not in PLUG_OPTIONS:
            raise CommandError(f'plug: unknown option "{name}"{suggest(name.lower(), PLUG_OPTIONS)}')
        else:
            options[name.lower()] = value
    amps = _number("plug", "max", options["max"], 1, MAX_AMPS) if "max" in options else None
    kwh = _number("plug", "kwh", options["kwh"], 0.1, MAX_KWH) if "kwh" in options else None
    phases = None
    if "phases" in options:
        if options["phases"] not in ("1", "2", "3"):
            raise CommandError(f'plug: phases must be 1, 2 or 3, got "{options["phases"]}"')
        phases = int(options["phases"])
    return replace(command, tag=tag, amps=amps, kwh=kwh, phases=phases)


def execute(run: SiteRun, command: Command, source: str = "console") -> str:
    """Apply `command` to the running site; the answer line. Raises `CommandError` if it does not apply."""
    if command.verb == "help":
        return HELP
    if command.verb == "status":
        zone = run.scenario.simulation.zone
        return render(snapshot(run.chargers.values()), run.now().astimezone(zone), run.speed)
    cp = run.chargers.get(command.charger)
    if cp is None:
        names = tuple(run.chargers)
        raise CommandError(f'{command.verb}: no charger "{command.charger}"{suggest(command.charger, names)}')
    try:
        detail = _act(run, command)
    except operate.OperateError as exc:
        raise CommandError(f"{command.verb}: {exc}") from None
    connector = None if command.verb in ON_CHARGER else command.connector
    run.played(cp.id, command.verb, connector, detail, source)
    return detail


def _act(run: SiteRun, command: Command) -> str:
    cp, n = run.chargers[command.charger], command.connector
    verb = command.verb
    if verb == "plug":
        car = run.scenario.simulation.ev.car()
        car = replace(
            car,
            max_current_a=command.amps if command.amps is not None else car.max_current_a,
            target_wh=command.kwh * 1000 if command.kwh is not None else car.target_wh,
            phases=command.phases if command.phases is not None else car.phases,
        )
        return operate.plug(cp, n, car, command.tag)
    if verb == "tag":
        return operate.present_tag(cp, n, command.tag or "")
    if verb == "maxa":
        return operate.max_current(cp, n, command.amps or 0.0)
    if verb in ("reboot", "drop"):
        seconds = command.seconds or 0.0
        return operate.reboot(cp, seconds) if verb == "reboot" else operate.drop(cp, seconds)
    simple = {"unplug": operate.unplug, "full": operate.full}
    if verb in simple:
        return simple[verb](cp, n)
    return (operate.suspend if verb == "suspend" else operate.resume)(cp, n, run.now())
