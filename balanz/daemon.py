"""``balanz run``: the root of the nursery tree.

    Daemon.run (root nursery)
    ├── services, each started with ``nursery.start(service, daemon)`` (allocator, monitor socket, ...)
    ├── OcppServer.run: listener + watchdog; one task per charger, each in its own cancel scope
    └── signal watcher: SIGINT/SIGTERM → request_shutdown()

Shutdown closes every charger with 1001, runs the shutdown hooks (state flush) and cancels the tree, all
within ``SHUTDOWN_BOUND_S`` so a stuck peer or hook cannot keep the process alive.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

import trio

from balanz.allocation.planner import Plan
from balanz.charging.allocator_task import AllocatorService
from balanz.charging.control_hooks import AllocatorControl, ObservedAllocator, stored_intents
from balanz.clock import SiteClock, follow_wall
from balanz.config.schema import ChargerConfig, Config
from balanz.control.allocation_snapshot import AllocationHistory, allocation_view
from balanz.control.feed import FeedPolicy
from balanz.control.server import ControlServer
from balanz.control.snapshot import Snapshot
from balanz.credentials import CredentialLookup
from balanz.csms.core_handlers import CoreHandlers
from balanz.csms.site import CsmsSite
from balanz.server import ListenError, OcppServer
from balanz.store import Store, StoreError
from balanz.wire import Registry

log = logging.getLogger(__name__)

SHUTDOWN_BOUND_S = 10.0

# ``async def service(daemon, *, task_status)``: calls ``task_status.started()`` once ready, then runs
# until cancelled. Started before the listener, so a charger never arrives before its services.
Service = Callable[..., Awaitable[None]]
ShutdownHook = Callable[[], Awaitable[None]]


class Daemon:
    def __init__(
        self,
        config: Config,
        registry: Registry,
        server: OcppServer,
        *,
        services: Sequence[Service] = (),
        shutdown_hooks: Sequence[ShutdownHook] = (),
    ) -> None:
        self.config = config
        self.registry = registry
        self.server = server
        self.services = list(services)
        self.shutdown_hooks = list(shutdown_hooks)
        self.csms: CsmsSite | None = None
        self.allocator: AllocatorService | None = None
        self.control: ControlServer | None = None
        self._stop = trio.Event()

    def request_shutdown(self) -> None:
        self._stop.set()

    async def run(
        self, *, handle_signals: bool = False, task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            if handle_signals:
                nursery.start_soon(self._watch_signals)
            for service in self.services:
                await nursery.start(service, self)
            await nursery.start(self.server.run)
            log.info("chargers connect to %s", connect_url(self.config, self.server.port))
            task_status.started(self)
            await self._stop.wait()
            log.info("shutting down: closing %d charger connection(s)", len(self.server.connections()))
            with trio.move_on_after(SHUTDOWN_BOUND_S) as bound:
                await self.server.close_all()
                for hook in self.shutdown_hooks:
                    try:
                        await hook()
                    except Exception:
                        log.exception("shutdown hook %s failed", hook)
            if bound.cancelled_caught:
                log.warning("shutdown took longer than %g s; stopping anyway", SHUTDOWN_BOUND_S)
            nursery.cancel_scope.cancel()

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info("received %s", signal.Signals(signum).name)
                self.request_shutdown()
                return


def connect_url(config: Config, port: int) -> str:
    cfg = config.server
    scheme = "wss" if cfg.tls_cert_chain and cfg.tls_key else "ws"
    host = socket.gethostname() if cfg.host in ("", "0.0.0.0", "::") else cfg.host
    prefix = "/".join(s for s in cfg.path_prefix.split("/") if s)
    return f"{scheme}://{host}:{port}/{prefix + '/' if prefix else ''}<charger_id>"


def build_daemon(
    config: Config,
    *,
    credentials: CredentialLookup | None = None,
    services: Sequence[Service] = (),
    shutdown_hooks: Sequence[ShutdownHook] = (),
    store: Store | None = None,
    clock: SiteClock | None = None,
    monitor: bool = False,
    feed_policy: FeedPolicy | None = None,
    follow_wall_clock: bool = False,
) -> Daemon:
    """Assemble the handlers and the server; later features add their handlers and services here.

    With a ``store`` (``balanz run`` always passes one) CSMS mode is complete: ``daemon.csms`` holds the
    state, events and operator commands, charger passwords come from the store (``Store.credential``),
    and the store is closed at shutdown. Without one only the in-memory core handlers answer (wire-level
    tests). ``monitor`` (with a store) adds the control socket at ``monitor.socket`` as ``daemon.control``.
    ``follow_wall_clock`` (``balanz run``) makes the site clock follow steps of the host's clock; tests on
    virtual time leave it off, their clock being trio's alone.
    """
    registry = Registry()
    clock = clock or SiteClock()
    CoreHandlers(config, now=clock.now).register(registry)
    site = CsmsSite.build(config, store, registry, clock=clock) if store is not None else None
    if store is not None and credentials is None:
        credentials = store
    server = OcppServer(config, registry, credentials=credentials)
    daemon = Daemon(config, registry, server, services=services, shutdown_hooks=shutdown_hooks)
    if site is not None:
        site.attach(daemon)
        if config.mode.smart_charging:
            _attach_allocator(daemon, site, clock, store)
        if monitor:
            daemon.control = ControlServer(config, site.service, feed_policy)
            daemon.services.append(daemon.control.run)
            if daemon.allocator is not None:
                _monitor_allocator(daemon.control, daemon.allocator)
    if follow_wall_clock and clock.follows_wall:
        daemon.services.append(partial(_follow_clock, clock))
    return daemon


def _monitor_allocator(control: ControlServer, allocator: AllocatorService) -> None:
    """The monitor sees what the allocator decided (limits, offers, exposures, reasons) and its operator
    commands reach the allocator."""
    control.allocator = AllocatorControl(allocator)
    history = AllocationHistory()

    def provider(snapshot: Snapshot) -> Snapshot:
        return allocation_view(
            snapshot,
            allocator.site,
            allocator.state,
            allocator.last_plan,
            allocator.params,
            allocator.clock.now(),
            history,
        )

    def on_plan(plan: Plan) -> None:
        for event in history.observe(plan):
            control.announce(event)
        control.changed()

    control.providers.append(provider)
    if isinstance(allocator, ObservedAllocator):
        allocator.add_plan_listener(on_plan)


async def _follow_clock(
    clock: SiteClock, daemon: Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    def on_step(step: timedelta) -> None:
        if daemon.allocator is not None:
            daemon.allocator.clock_stepped(step)

    task_status.started()
    await follow_wall(clock, on_step)


def _attach_allocator(daemon: Daemon, site: CsmsSite, clock: SiteClock, store: Store | None) -> None:
    """Smart charging: the allocator service, resumed from the store's acknowledged offers (R23)."""
    allocator = ObservedAllocator.build(
        daemon.config, clock, site.events, daemon.server, store, site.service.configured_chargers()
    )
    service = site.service

    def status_of(charger_id: str, connector_id: int) -> str | None:
        view = service.connector(charger_id, connector_id)
        return view.status.status if view is not None else None

    allocator.status_of = status_of
    allocator.runtime_chargers = lambda: [
        ChargerConfig(v.charger_id, v.group_id, alias=v.alias, connectors=v.connectors)
        for v in service.chargers.values()
        if v.autoregistered
    ]
    allocator.live_transactions = service.live_transactions
    allocator.dispatcher.profile_time = service.charger_clocks.profile_time
    if store is not None:
        allocator.operator_intents = lambda state: stored_intents(store, allocator.site, state, clock.now())
        allocator.dispatcher.released = set(store.released_chargers())
    if store is not None:
        allocator.restore(store.connector_states())
    daemon.services.append(allocator.run)
    daemon.allocator = allocator


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _leaves(sub)]
    return [error]


def main_run(args: argparse.Namespace) -> int:
    from balanz.config.loader import ConfigError, apply_overrides, default_config, load_config
    from balanz.logsetup import configure_logging

    try:
        if args.config:
            loaded = load_config(args.config)
            for warning in loaded.warnings:
                print(warning, file=sys.stderr)
            config = loaded.config
        else:
            config = default_config()
        config = apply_overrides(config, host=args.host, port=args.port, data_dir=args.data_dir)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    configure_logging(config.logging)
    try:
        store = Store(config.store.path)
    except StoreError as exc:
        print(f"balanz run: cannot open the store: {exc}", file=sys.stderr)
        return 2
    failures: list[BaseException] = []
    try:
        daemon = build_daemon(config, store=store, monitor=True, follow_wall_clock=True)
        trio.run(partial(daemon.run, handle_signals=True))
    except* ListenError as failed:
        failures.extend(_leaves(failed))
    finally:
        store.close()
    for exc in failures:
        print(f"balanz run: {exc}", file=sys.stderr)
    return 1 if failures else 0
