"""The monitor's operator commands carried out by the allocator (``balanz.control.intents.AllocatorHooks``).

Each command becomes a transition of the allocation state and asks for a run, so the effect (a priority
moving current, a suspended group ramping no further) follows within one debounce. For commands the core
has no transition for yet, the note says the intent is only recorded, never that it was applied.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import trio

from balanz.allocation import events as tr
from balanz.allocation.invariant import window_violations
from balanz.allocation.model import Site
from balanz.allocation.planner import Plan
from balanz.allocation.state import State
from balanz.charging.allocator_task import AllocatorService
from balanz.control.intents import GroupLimit
from balanz.store import Store

log = logging.getLogger(__name__)

ROOM_POLL_S = 0.5
"""How often ``release-profiles`` looks whether the site has made room for the released charger."""
ROOM_MARGIN_S = 5.0
"""Beyond two CALL timeouts, the settle time and the debounce: the bound on that wait."""


PlanListener = Callable[[Plan], None]


class ObservedAllocator(AllocatorService):
    """The allocator service telling listeners of every plan it makes (the monitor's change reasons and
    event log). A run may plan twice (before and after its reductions are answered) and both plans carry
    decisions, so the hook is the assignment of ``last_plan`` itself rather than the end of a run."""

    def add_plan_listener(self, listener: PlanListener) -> None:
        self.__dict__.setdefault("plan_listeners", []).append(listener)

    @property  # type: ignore[override]
    def last_plan(self) -> Plan | None:
        return self.__dict__.get("_observed_plan")

    @last_plan.setter
    def last_plan(self, plan: Plan | None) -> None:
        self.__dict__["_observed_plan"] = plan
        if plan is None:
            return
        for listener in self.__dict__.setdefault("plan_listeners", []):
            try:
                listener(plan)
            except Exception:
                log.exception("plan listener %s failed; the allocator goes on", listener)


def stored_intents(store: Store, site: Site, state: State, now: datetime) -> State:
    """Operator intents live in the store (priority overrides, suspended groups and connectors, temporary
    group limits, released chargers): a restart must not forget them. An override bound to another
    transaction than the one resumed on its connector no longer applies; a group limit whose time is up is
    not restored. A released charger counts at its maximum (the dispatcher installs nothing on it:
    ``Dispatcher.released``, set from the same table)."""
    for key, override in store.priority_overrides().items():
        session = state.connector(key).session
        if session is None or override.transaction_id not in (None, session.transaction_id):
            continue
        state = tr.set_override(state, key, override.priority)
    for group_id in store.suspended_groups():
        if group_id in site.group_by_id:
            state = tr.set_group_suspended(state, group_id, True)
    for key in store.suspended_connectors():
        if key in site.roots:
            state = tr.suspend_connector(state, key, True)
    for group_id, limit in store.group_limits().items():
        if group_id in site.group_by_id and (limit.until is None or limit.until > now):
            state = tr.set_group_override(state, group_id, math.floor(limit.limit_a), limit.until)
    for charger_id in store.released_chargers():
        if charger_id in site.charger_by_id:
            state = tr.charger_uncontrollable(state, site, charger_id, True)
    return state


@dataclass
class AllocatorControl:
    allocator: AllocatorService

    def priority_changed(self, charger_id: str, connector_id: int, priority: int | None) -> str:
        key = (charger_id, connector_id)
        if self.allocator.state.connector(key).session is None:
            return "no session running on this connector: nothing to reallocate"
        self.allocator.update(lambda s: tr.set_override(s, key, priority))
        return "allocation rerun with the new priority"

    def group_suspended(self, group_id: str, suspended: bool) -> str:
        if group_id not in self.allocator.site.group_by_id:
            return f"group {group_id} has no charger under the allocator: nothing to freeze"
        self.allocator.update(lambda s: tr.set_group_suspended(s, group_id, suspended))
        return "no new probes or increases in the group" if suspended else "increases allowed again"

    def connector_suspended(self, charger_id: str, connector_id: int, suspended: bool) -> str:
        key = (charger_id, connector_id)
        if key not in self.allocator.site.roots:
            raise ValueError(
                f"{charger_id}/{connector_id} is under no limited group: the allocator does not control it"
            )
        self.allocator.update(lambda s: tr.suspend_connector(s, key, suspended))
        return "offer withdrawn (0 A) until resumed" if suspended else "offers allowed again"

    def group_limit_changed(self, group_id: str, limit: GroupLimit | None) -> str:
        if group_id not in self.allocator.site.group_by_id:
            raise ValueError(f"group {group_id} is not known to the allocator")
        if limit is None:
            self.allocator.update(lambda s: tr.set_group_override(s, group_id, None, None))
            return "temporary limit removed"
        site = self.allocator.site
        if not any(site.group_by_id[g].constrains for g in site.paths[group_id]):
            raise ValueError(
                f"group {group_id} and its parents have no max_allocation: the allocator does not control "
                "its chargers, so a temporary limit would change nothing"
            )
        amps = math.floor(limit.limit_a)
        self.allocator.update(lambda s: tr.set_group_override(s, group_id, amps, limit.until))
        return f"group held at {amps} A until {limit.until.isoformat(timespec='seconds')}"

    def external_limit(self, group_id: str, headroom_a: float, valid_s: float) -> str:
        group = self.allocator.site.group_by_id.get(group_id)
        if group is None:
            raise ValueError(f"group {group_id} has no charger under the allocator")
        if group.external_fallback_a is None:
            raise ValueError(
                f"group {group_id} takes no external limit: set external_fallback_a in its [[group]] table"
            )
        amps = math.floor(headroom_a)
        self.allocator.set_external_limit(group_id, amps, valid_s)
        log.debug("group %s: external limit %d A for %g s", group_id, amps, valid_s)
        return f"{amps} A for {valid_s:g} s, then {group.external_fallback_a} A unless renewed"

    async def profiles(self, charger_id: str, action: str) -> str:
        dispatcher = self.allocator.dispatcher
        if action == "reassert":
            dispatcher.released.discard(charger_id)
            if not dispatcher.sends_profiles(charger_id):
                raise ValueError(
                    f"charger {charger_id} is out of smart charging in the configuration (smart_charging = "
                    'false or strategy = "off"): balanz installs no profiles on it and counts it at its '
                    "maximum"
                )
            self.allocator.update(
                lambda s: tr.charger_uncontrollable(s, self.allocator.site, charger_id, False)
            )
            done = await dispatcher.reassert(charger_id)
            return "profiles re-asserted" if done else "re-assertion incomplete: the charger stays pinned"
        if action == "release-offline":
            if dispatcher.connections.connection(charger_id) is not None:
                raise ValueError(
                    f"charger {charger_id} is connected: release-offline is for offline chargers"
                )
            self.allocator.update(lambda s: tr.release_offline(s, self.allocator.site, charger_id))
            log.warning(
                "charger %s released while offline: counted at 0 A on the operator's word", charger_id
            )
            return "counted at 0 A until it reconnects"
        if action == "release":
            return await self._release(charger_id)
        raise ValueError(f"unknown profile action {action!r}")

    async def _release(self, charger_id: str) -> str:
        """``release-profiles`` (decommission, profiles.md §5.2): the charger will charge without any limit
        of balanz, so it is counted at its maximum first and its profiles are cleared only once the rest
        of the site has made room for that (reductions confirmed and settled). If the room does not come
        within the bound of ``_room``, nothing is cleared and the charger is controlled again. A charger
        out of smart charging by configuration is already counted at its maximum: its clears (profiles
        left from before the configuration changed) go at once."""
        allocator, dispatcher = self.allocator, self.allocator.dispatcher
        if not dispatcher.controlled(charger_id):
            raise ValueError(
                f"charger {charger_id} is under no limited group: balanz installed no profiles on it"
            )
        if dispatcher.connections.connection(charger_id) is None:
            raise ValueError(
                f"charger {charger_id} is offline: its profiles can only be cleared over its connection"
            )
        site = allocator.site
        if dispatcher.sends_profiles(charger_id):
            dispatcher.released.add(charger_id)
            allocator.update(lambda s: tr.charger_uncontrollable(s, site, charger_id, True))
            over = await self._room(charger_id)
            if over:
                dispatcher.released.discard(charger_id)
                allocator.update(lambda s: tr.charger_uncontrollable(s, site, charger_id, False))
                await dispatcher.reassert(charger_id)
                raise ValueError(
                    f"the site cannot make room for charger {charger_id} at its maximum: {'; '.join(over)}; "
                    "nothing cleared, it stays under smart charging"
                )
        failed = await dispatcher.release_profiles(charger_id)
        charger = site.charger_by_id[charger_id]
        maximum = sum(c.max_current_a for c in charger.connectors)
        if charger.charger_max_a is not None:
            # unknown connectors of one charger count at most charger_max_a together (R17 item 4)
            maximum = min(maximum, charger.charger_max_a)
        log.warning(
            "charger %s: balanz's profiles released by the operator; counted at %d A", charger_id, maximum
        )
        if failed:
            return f"counted at its maximum ({maximum} A); some clears failed: {'; '.join(failed)}"
        return (
            f"profiles cleared: it charges without balanz's limits, counted at its maximum ({maximum} A) "
            "until reassert-profiles, also across restarts"
        )

    async def _room(self, charger_id: str) -> list[str]:
        """Wait until no limit the charger counts in is exceeded with it at its maximum; what is still
        exceeded when the wait ends (empty: the room is there)."""
        allocator = self.allocator
        keys = frozenset(c.key for c in allocator.site.charger_by_id[charger_id].connectors)
        params = allocator.params
        server = allocator.config.server
        bound = 2 * server.call_timeout_s + params.wait_after_reduce_s + params.debounce_s + ROOM_MARGIN_S
        over: list[str] = []
        with trio.move_on_after(bound):
            while True:
                now = allocator.clock.now()
                over = [str(v) for v in window_violations(allocator.site, allocator.state, params, now, keys)]
                if not over:
                    return []
                await trio.sleep(ROOM_POLL_S)
        return over
