"""CSMS mode assembled: the service, its handlers, operator commands, and the daemon service that
resumes state and runs the transaction watchdog.

``build_daemon`` creates one ``CsmsSite`` when it is given a store; the allocator shell and the monitor find
it as ``daemon.csms`` (``.service`` for state, ``.events`` to subscribe, ``.operator`` for commands).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from balanz.clock import SiteClock
from balanz.config.schema import Config
from balanz.csms.handlers import CsmsHandlers
from balanz.csms.operator import CsmsOperator
from balanz.csms.service import CsmsService
from balanz.csms.watchdog import run_watchdog
from balanz.events import EventBus
from balanz.store import Store
from balanz.wire import Registry

if TYPE_CHECKING:
    from balanz.daemon import Daemon

log = logging.getLogger(__name__)


@dataclass
class CsmsSite:
    service: CsmsService
    handlers: CsmsHandlers
    operator: CsmsOperator | None = None

    @property
    def events(self) -> EventBus:
        return self.service.events

    @classmethod
    def build(cls, config: Config, store: Store, registry: Registry, *, clock: SiteClock) -> CsmsSite:
        service = CsmsService(config, store, clock=clock)
        handlers = CsmsHandlers(service)
        handlers.register(registry)
        return cls(service, handlers)

    def attach(self, daemon: Daemon) -> None:
        """Hook into the daemon: connection events, the operator, the start service and the store close."""
        server = daemon.server
        server.on_connected.append(self.service.connected)
        server.on_disconnected.append(self.service.disconnected)
        self.operator = CsmsOperator(self.service, server.connection)
        daemon.services.insert(0, self.run)
        daemon.shutdown_hooks.append(self.close)
        daemon.csms = self

    async def run(
        self, daemon: Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Resume from the store before the listener opens, then run the transaction watchdog."""
        svc = self.service
        svc.clock.anchor()
        # Starting without the open transactions would lose them at the next StopTransaction: wait for a
        # locked store a while, and fail the start loudly if it stays unreadable.
        state = await svc.durable("loading the runtime state", svc.store.load_runtime_state, bound_s=60)
        svc.resume(state)
        log.info(
            "CSMS state from %s: %d open transaction(s), %d autoregistered charger(s), %d runtime tag(s)",
            svc.store.path,
            len(state.live_transactions),
            len(state.runtime_chargers),
            len(state.runtime_tags),
        )
        await run_watchdog(svc, task_status=task_status)

    async def close(self) -> None:
        """Shutdown hook: write what is owed, then close the database."""
        pending = self.service.flush()
        if pending:
            log.error("%d open transaction update(s) could not be written before shutdown", pending)
        for tx in self.service.live_transactions():
            log.info(
                "open transaction %d on %s connector %d kept in the store (%s Wh so far); resumes at start",
                tx.transaction_id,
                tx.charger_id,
                tx.connector_id,
                tx.energy_wh,
            )
        self.service.store.close()
        log.info("store %s closed", self.service.store.path)
