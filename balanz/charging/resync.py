"""The allocator's live inputs rebuilt from what the CSMS knows, after its event queue overflowed.

The event bus never blocks the CSMS: a subscriber that falls behind loses events (``balanz.events``). The
allocator must not act on a state that silently missed a StopTransaction or a reconnection, so after an
overflow it compares its state with the services — connections, connector statuses, live transactions —
and applies the transitions the lost events would have applied. Events say *that* something changed, the
services say *what is*. Lost meter values are not rebuilt: the next sample of each connector arrives
within its meter interval, and until then the usage rules work on the samples they have.

Pure: the caller reads the services and passes what they say; ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from balanz.allocation import events as tr
from balanz.allocation.model import Key, Site
from balanz.allocation.state import State
from balanz.sessions import LiveTransaction


@dataclass(frozen=True, slots=True)
class Resynced:
    """``reconnected``: chargers on a connection the allocator had not seen (to re-assert, R24);
    ``ended``: connectors whose session ended unseen (their default is restored, R21)."""

    state: State
    reconnected: tuple[str, ...]
    ended: tuple[Key, ...]


def resync(
    state: State,
    site: Site,
    now: datetime,
    generations: Mapping[str, int | None],
    seen_generations: Mapping[str, int],
    status_of: Callable[[str, int], str | None],
    live: Iterable[LiveTransaction] | None,
) -> Resynced:
    """``generations``: each charger's current connection generation, None when not connected;
    ``seen_generations``: the generation of the last connection the allocator heard of; ``live``: the
    CSMS's live transactions (None: no CSMS to ask, sessions are left as they are)."""
    reconnected: list[str] = []
    for charger in site.chargers:
        generation = generations.get(charger.id)
        connected = state.charger(charger.id).connected
        if generation is None:
            if connected:
                state = tr.charger_disconnected(state, site, charger.id, now)
        elif not connected or seen_generations.get(charger.id) != generation:
            # The lost events may have held a BootNotification: limits unknown until re-asserted.
            state = tr.charger_connected(state, site, charger.id, now, booted=True)
            reconnected.append(charger.id)
    transactions = {(tx.charger_id, tx.connector_id): tx for tx in live} if live is not None else None
    ended: list[Key] = []
    for key in site.connector_by_key:
        session = state.connector(key).session
        tx = transactions.get(key) if transactions is not None else None
        gone = session is not None and (tx is None or tx.transaction_id != session.transaction_id)
        if transactions is not None and gone:
            state = tr.transaction_stopped(state, key, now)
            ended.append(key)
            session = None
        if tx is not None and session is None:
            state = tr.transaction_started(
                state, site, key, tx.transaction_id, tx.start_time, tx.meter_start_wh or 0.0, tx.id_tag
            )
        status = status_of(*key)
        if status is not None and status != state.connector(key).status:
            state = tr.status_changed(state, key, status, now)
    return Resynced(state, tuple(reconnected), tuple(ended))
