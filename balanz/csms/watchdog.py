"""Open transactions of chargers that went away (flows.md §2.10), and store writes that are still owed.

Every ``csms.transaction_check_interval_s`` a live transaction whose charger has been disconnected longer
than ``csms.transaction_timeout_s`` is closed as stale: recorded with reason ``Timeout`` and flag
``timeout_stop`` (a later StopTransaction amends it, nothing is dropped). Chargers that stop talking are
closed by the listener's own watchdog (``server.charger_stale_s``); the service marks them offline when
the connection ends. A close that cannot be written now is tried again at the next check.
"""

from __future__ import annotations

import logging

import trio

from balanz.csms.service import CsmsService
from balanz.csms.transactions import find_timeouts
from balanz.sessions import SessionRecord
from balanz.store import StoreUnavailable

log = logging.getLogger(__name__)


def close_stale(service: CsmsService) -> list[SessionRecord]:
    """One check: close what timed out, flush owed live-transaction writes; returns the records written."""
    now = service.clock.now()
    offline = {
        cid: view.disconnected_since
        for cid, view in service.chargers.items()
        if not view.connected and view.disconnected_since is not None
    }
    closes = find_timeouts(
        service.live_transactions(),
        disconnected_since=offline,
        now=now,
        timeout_s=service.config.csms.transaction_timeout_s,
    )
    written: list[SessionRecord] = []
    for close in closes:
        tx = close.transaction
        record = service.with_site(close.record)
        try:
            completion = service.store.complete_session(record)
        except StoreUnavailable as exc:
            service.store_failures += 1
            log.error(
                "STORE FAILING: stale transaction %d on %s not closed yet (retry in %g s): %s",
                tx.transaction_id,
                tx.charger_id,
                service.config.csms.transaction_check_interval_s,
                exc,
            )
            continue
        log.warning(
            "charger %s connector %d: transaction %d closed as stale (charger offline since %s)",
            tx.charger_id,
            tx.connector_id,
            tx.transaction_id,
            offline[tx.charger_id].isoformat(),
        )
        service.session_recorded(completion.record, stale=True)
        written.append(completion.record)
    pending = service.flush()
    if pending:
        log.error("STORE FAILING: %d open transaction(s) not yet written", pending)
    return written


async def run_watchdog(
    service: CsmsService, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    task_status.started()
    while True:
        await trio.sleep(service.config.csms.transaction_check_interval_s)
        close_stale(service)
