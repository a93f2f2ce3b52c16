"""Authorization and transactions of a simulated charger: tags, StartTransaction, StopTransaction.

A mixin of `SimCharger` (the state lives on the charger; methods are typed on it). What a tag does:
it stops the transaction it started, else it is authorized (Authorize, or the auth cache while offline)
and, with a cable in, a StartTransaction follows. Stopping books the connector's register as meterStop,
ends the transaction's TxProfiles (ocpp-1.6-edition2.txt:4649-4651) and queues StopTransaction so it
survives drops and reboots.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from balanz.profiles import ChargingProfile, end_transaction, install
from balanz.profiles.model import format_time
from balanz.sim import connector as cn
from balanz.sim.eventlog import TransactionStarted, TransactionStopped

if TYPE_CHECKING:
    from balanz.sim.charger import SimCharger

logger = logging.getLogger(__name__)


class Sessions:
    def swipe(self: SimCharger, tag: str, connector_id: int | None = None) -> None:
        """A tag is presented: it stops the transaction it started, or authorizes the next one."""
        for c in self.connectors.values():
            if c.transaction_id is not None and c.tag == tag and connector_id in (None, c.id):
                self.stop_transaction(c.id, "Local")
                return
        target = self.free_connector(connector_id)
        if target is None:
            logger.info("charger %s: tag %s presented but no connector is free", self.id, tag)
            return
        if not self.connected and self.auth_cache.get(tag) == "Accepted":
            self.authorize_on(target, tag)
            return
        self.send("Authorize", {"idTag": tag}, lambda answer: self.on_authorize(target, tag, answer))

    def _connector(self: SimCharger, connector_id: int) -> cn.Connector:
        if connector_id not in self.connectors:
            raise ValueError(f"charger {self.id} has no connector {connector_id} (1..{self.spec.connectors})")
        return self.connectors[connector_id]

    def free_connector(self: SimCharger, wanted: int | None) -> int | None:
        if wanted is not None:
            return wanted if cn.usable(self._connector(wanted)) else None
        candidates = [c for c in self.connectors.values() if cn.usable(c) and c.tag is None]
        plugged = [c for c in candidates if c.plugged]
        chosen = (plugged or candidates or [None])[0]
        return chosen.id if chosen else None

    def on_authorize(self: SimCharger, connector_id: int, tag: str, answer: dict[str, Any]) -> None:
        status = answer.get("idTagInfo", {}).get("status", "Invalid")
        self.auth_cache[tag] = status
        if status == "Accepted":
            self.authorize_on(connector_id, tag)

    def authorize_on(self: SimCharger, connector_id: int, tag: str) -> None:
        c = self._connector(connector_id)
        if not cn.usable(c):
            return
        self.connectors[connector_id] = cn.authorize(c, tag)
        self._advance(self.clock.now())
        self._maybe_start(connector_id)

    def _maybe_start(self: SimCharger, connector_id: int) -> None:
        c = self.connectors[connector_id]
        if not cn.ready_to_start(c):
            return
        now = self.clock.now()
        self.connectors[connector_id] = cn.start_requested(c)
        tag = c.tag or ""
        payload = {"connectorId": connector_id, "idTag": tag, "meterStart": round(c.meter_wh),
                   "timestamp": format_time(now)}  # fmt: skip
        self.send("StartTransaction", payload, lambda a: self._on_started(connector_id, tag, a), keep=True)
        self._advance(now)

    def _on_started(self: SimCharger, connector_id: int, tag: str, answer: dict[str, Any]) -> None:
        now = self.clock.now()
        self._advance(now)
        c = self.connectors[connector_id]
        transaction_id = int(answer["transactionId"])
        status = answer.get("idTagInfo", {}).get("status", "Invalid")
        self.auth_cache[tag] = status
        if not c.starting:
            self._send_stop(transaction_id, c.meter_wh, "Other", now)
            return
        if status != "Accepted":
            self.connectors[connector_id] = cn.start_refused(c)
            self._send_stop(transaction_id, c.meter_wh, "DeAuthorized", now)
            self._advance(now)
            return
        self.connectors[connector_id] = cn.started(c, transaction_id, now)
        self.events.emit(
            TransactionStarted(now, self.id, connector_id, transaction_id, tag, round(c.meter_wh))
        )
        profile = self.remote_profiles.pop(connector_id, None)
        if profile is not None:
            self._install_remote_profile(connector_id, transaction_id, profile, now)
        self._advance(now)

    def _install_remote_profile(
        self: SimCharger, connector_id: int, transaction_id: int, profile: dict[str, Any], now: datetime
    ) -> None:
        parsed = ChargingProfile.from_ocpp(profile)
        change = install(
            self.told, connector_id, parsed, now, {connector_id: transaction_id}, self.capabilities()
        )
        logger.info("charger %s: RemoteStart profile on %d: %s", self.id, connector_id, change.status)
        self.set_profiles(change.store)

    def stop_transaction(self: SimCharger, connector_id: int, reason: str) -> None:
        now = self.clock.now()
        self._advance(now)
        c = self.connectors[connector_id]
        if not c.in_transaction:
            return
        if c.transaction_id is not None:
            self._send_stop(c.transaction_id, c.meter_wh, reason, now, c.tag)
            self.told = end_transaction(self.told, connector_id, c.transaction_id)
            self.applied = end_transaction(self.applied, connector_id, c.transaction_id)
        self.events.emit(TransactionStopped(now, self.id, connector_id, c.transaction_id, reason,
                                            round(c.meter_wh)))  # fmt: skip
        self.connectors[connector_id] = cn.stopped(c)
        self._advance(now)

    def _send_stop(
        self: SimCharger,
        transaction_id: int,
        meter_wh: float,
        reason: str,
        now: datetime,
        tag: str | None = None,
    ) -> None:
        payload: dict[str, Any] = {"transactionId": transaction_id, "meterStop": round(meter_wh),
                                   "timestamp": format_time(now), "reason": reason}  # fmt: skip
        if tag:
            payload["idTag"] = tag
        self.send("StopTransaction", payload, keep=True)
