"""`balanz simulate SCENARIO.toml --url URL`: the command line around `SiteRun`.

Exit codes: 0 the scenario ran to its end (or `--until`), 1 the run failed, 2 the command line, scenario,
configuration, log file or console socket is unusable (the message names which), 130 interrupted (Ctrl-C).
Everything is checked before any charger connects, so a typo never leaves half a site connected.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import IO, TYPE_CHECKING

from balanz.config.errors import ConfigError
from balanz.sim.timespec import DURATION_HELP, parse_duration

if TYPE_CHECKING:
    from balanz.sim.eventlog import EventLog
    from balanz.sim.runner import SiteRun
    from balanz.sim.scenario import Scenario

logger = logging.getLogger(__name__)

DEFAULT_EVERY_S = 10.0


def add_simulate_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    add_config_flag: Callable[[argparse.ArgumentParser], None],
    handler: Callable[[argparse.Namespace], int],
) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulated chargers and cars for rehearsing a site",
        description="Connect the chargers of SCENARIO to a central system and play its timeline "
        "(docs/simulator.md).",
    )
    p.add_argument("scenario", metavar="SCENARIO.toml", help="the scenario file")
    add_config_flag(p)
    p.add_argument("--url", help="central system endpoint without the charger id, e.g. ws://127.0.0.1:9000/ "
                   "(default with -c: the server section of that balanz configuration)")  # fmt: skip
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="simulated time runs N times faster than real time (default 1)")  # fmt: skip
    p.add_argument("--until", metavar="DURATION", help="stop this long after the start, e.g. 2h (default: "
                   "the scenario's duration)")  # fmt: skip
    p.add_argument("--log", metavar="FILE", help="write the event log here as JSON lines")
    every = f"print the summary every SECONDS of real time (default {DEFAULT_EVERY_S:g})"
    p.add_argument("--every", type=float, default=DEFAULT_EVERY_S, metavar="SECONDS", help=every)
    p.add_argument("--quiet", action="store_true", help="no live summary")
    console = p.add_mutually_exclusive_group()
    console.add_argument("--console", action="store_true", help="read console commands from stdin")
    console.add_argument("--console-socket", metavar="PATH", help="serve the console on this Unix socket")
    p.set_defaults(handler=handler)


class UsageError(Exception):
    """A problem with what was asked; printed as one line, exit code 2."""


def simulate(args: argparse.Namespace) -> int:
    import trio

    from balanz.sim.eventlog import EventLog
    from balanz.sim.scenario import load_scenario

    try:
        speed, every = _positive("--speed", args.speed), _positive("--every", args.every)
        url = args.url or _url_from_config(args.config)
        loaded = load_scenario(args.scenario, datetime.now(UTC))
        until = _until(args.until, loaded.scenario.simulation.start)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"balanz simulate: {exc}", file=sys.stderr)
        return 2
    for warning in loaded.warnings:
        print(warning, file=sys.stderr)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        log_file = open(args.log, "w", buffering=1, encoding="utf-8") if args.log else None  # noqa: SIM115
    except OSError as exc:
        print(f"balanz simulate: --log {args.log}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        events = EventLog(stream=log_file, keep=False)
        main = partial(_main, loaded.scenario, url, speed, until, events, args, every, sys.stdout)
        return trio.run(main)
    except KeyboardInterrupt:
        print("balanz simulate: interrupted", file=sys.stderr)
        return 130
    finally:
        if log_file is not None:
            log_file.close()


async def _main(
    scenario: Scenario,
    url: str,
    speed: float,
    until: datetime | None,
    events: EventLog,
    args: argparse.Namespace,
    every: float,
    out: IO[str],
) -> int:
    from balanz.sim.console_io import (
        ConsoleSocketError,
        open_console_socket,
        socket_console,
        stdin_stream,
        stream_console,
    )
    from balanz.sim.runner import Companion, SiteRun
    from balanz.sim.summary import printer

    run = SiteRun(scenario, url, speed=speed, events=events, until=until)
    for note in run.notes:
        print(f"balanz simulate: {note}", file=sys.stderr)
    companions: list[Companion] = []
    if args.console_socket:
        try:
            listener = await open_console_socket(args.console_socket)
        except ConsoleSocketError as exc:
            print(f"balanz simulate: {exc}", file=sys.stderr)
            return 2
        companions.append(socket_console(listener, args.console_socket))
    if args.console:
        companions.append(stream_console(stdin_stream, out))
    if not args.quiet:
        companions.append(printer(every, out))
    span = f"{scenario.simulation.start:%Y-%m-%d %H:%M} to {run.end:%Y-%m-%d %H:%M} UTC"
    print(f"simulating {len(scenario.chargers)} charger(s) against {url}, {span}, at {speed:g}×", file=out)
    out.flush()
    await run.run(companions, at_end=() if args.quiet else (partial(_last_table, out=out),))
    return 0 if run.finished else 1


def _last_table(run: SiteRun, *, out: IO[str]) -> None:
    from balanz.sim.summary import print_table

    print_table(run, out)


def _positive(flag: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{flag} must be a positive number, got {value:g}")
    return value


def _until(text: str | None, start: datetime) -> datetime | None:
    if text is None:
        return None
    duration = parse_duration(text)
    if duration is None or duration.total_seconds() <= 0:
        raise UsageError(f'--until "{text}": must be {DURATION_HELP}')
    return start + duration


def _url_from_config(config_file: str | None) -> str:
    """ws://HOST:PORT/PREFIX/ of the balanz configuration; a wildcard listen address means this machine."""
    if config_file is None:
        raise UsageError(
            "give the central system: --url ws://HOST:PORT/, or -c balanz.toml to use its server"
        )
    from balanz.config.loader import load_config

    try:
        server = load_config(config_file).config.server
    except OSError as exc:
        raise UsageError(f"-c {config_file}: {exc.strerror or exc}") from None
    host = "127.0.0.1" if server.host in ("", "0.0.0.0") else "::1" if server.host == "::" else server.host
    if ":" in host:
        host = f"[{host}]"
    scheme = "wss" if server.tls_cert_chain and server.tls_key else "ws"
    prefix = "/".join(s for s in server.path_prefix.split("/") if s)
    return f"{scheme}://{host}:{server.port}/{prefix + '/' if prefix else ''}"
