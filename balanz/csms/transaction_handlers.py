"""Authorize, StartTransaction, StopTransaction and MeterValues (flows.md §2.6–2.9).

Each handler asks the pure decisions (``tags``, ``transactions``, ``meter_values``) what to do, executes
the plan against the store, and only then answers. A record that cannot be made durable within
``service.DURABLE_BOUND_S`` is not acknowledged: the handler answers CALLERROR InternalError, which the
OCPP-J 1.6 errata (§3.2, "When a server needs to report a 'failure to process the message', the server
SHALL use a Message Type: CallError") define as the failure that makes a charger retry a transaction-related
message (OCPP 1.6 §3.7.1, TransactionMessageAttempts / TransactionMessageRetryInterval). The decisions are
idempotent, so the retried message produces exactly one record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from ocpp.exceptions import InternalError, ProtocolError, TypeConstraintViolationError
from ocpp.v16.enums import Action

from balanz.csms.meter_values import apply_samples, read_meter_values
from balanz.csms.service import CsmsService
from balanz.csms.tags import authorize
from balanz.csms.transactions import decide_meter_values, decide_start, decide_stop
from balanz.events import MeterUpdated, TransactionStarted
from balanz.sessions import SessionRecord
from balanz.store import StoreUnavailable
from balanz.store.tags import RuntimeTag, TagChange
from balanz.wire import OcppConnection, Registry

log = logging.getLogger(__name__)

T = TypeVar("T")


def _require_int(payload: Mapping[str, Any], key: str, action: str, *, optional: bool = False) -> None:
    value = payload.get(key)
    if value is None and optional:
        return
    if value is None:
        raise ProtocolError(description=f"{action}: {key} is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeConstraintViolationError(description=f"{action}: {key} must be an integer, got {value!r}")


def _require_list(payload: Mapping[str, Any], key: str, action: str, *, optional: bool = False) -> None:
    value = payload.get(key)
    if value is None and optional:
        return
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeConstraintViolationError(
            description=f"{action}: {key} must be a list of MeterValue objects"
        )


def _not_recorded(what: str) -> InternalError:
    return InternalError(description=f"{what} could not be recorded (store unavailable); please retry")


class TransactionHandlers:
    def __init__(self, service: CsmsService) -> None:
        self.service = service

    def register(self, registry: Registry) -> None:
        registry.add(Action.authorize, self.authorize, replace=True)
        registry.add(Action.start_transaction, self.start_transaction, replace=True)
        # Sampled values are checked one by one (a bad unit or number drops that value, not the message):
        # a CALLERROR for a whole transaction message would make the charger retry it and then drop it,
        # losing the stop or the readings with it. The fields balanz relies on are checked here instead.
        registry.add(
            Action.stop_transaction, self.stop_transaction, replace=True, skip_schema_validation=True
        )
        registry.add(Action.meter_values, self.meter_values, replace=True, skip_schema_validation=True)

    async def _durable(self, what: str, write: Callable[[], T]) -> T:
        try:
            return await self.service.durable(what, write)
        except StoreUnavailable as exc:
            raise _not_recorded(what) from exc

    def _closed(self, charger_id: str) -> Mapping[int, SessionRecord]:
        svc = self.service
        try:
            return svc.closed_sessions(charger_id, svc.clock.now())
        except StoreUnavailable as exc:
            svc.store_failures += 1
            raise _not_recorded(f"charger {charger_id}: looking up closed sessions") from exc

    # ---- Authorize -----------------------------------------------------------------------------------

    async def authorize(self, conn: OcppConnection, id_tag: str, **_other: Any) -> dict[str, Any]:
        """The concurrency check skips this charger's own sessions: a card shown at the charger where it is
        charging is usually meant to stop that session; StartTransaction checks strictly."""
        svc = self.service
        cid = conn.charger_id
        now, _ = await svc.receive(conn, {})
        elsewhere = [tx.id_tag for tx in svc.live_transactions() if tx.charger_id != cid]
        decision = authorize(
            id_tag, svc.tag_book(), now=now, in_use_elsewhere=elsewhere, csms=svc.config.csms
        )
        if decision.register is not None:
            change = TagChange(upsert=RuntimeTag(decision.register, now))
            try:
                svc.store.apply_tag_change(change)
            except StoreUnavailable as exc:
                svc.store_failures += 1
                log.error("STORE FAILING: tag %s accepted but not registered: %s", decision.id_tag, exc)
        kind = "AUTH-OK" if decision.accepted else "AUTH-REJECT"
        log.info("charger %s: Authorize %s → %s (%s)", cid, decision.id_tag, decision.status, decision.reason)
        svc.audit(
            kind, f"{decision.id_tag}: {decision.status} ({decision.reason})", cid, id_tag=decision.id_tag
        )
        return {"idTagInfo": decision.id_tag_info()}

    # ---- StartTransaction ----------------------------------------------------------------------------

    async def start_transaction(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        svc = self.service
        cfg = svc.config.csms
        cid = conn.charger_id
        now, p = await svc.receive(conn, payload)
        connector_id = int(p["connectorId"])
        charger = svc.charger(cid)
        known_connector = charger is not None and 1 <= connector_id <= charger.connectors
        view = svc.ensure_connector(cid, connector_id)
        auth = authorize(
            str(p.get("idTag", "")),
            svc.tag_book(),
            now=now,
            in_use_elsewhere=svc.tags_in_use(except_connector=(cid, connector_id)),
            csms=cfg,
        )
        priority, source = svc.fallback_priority(cid, connector_id)
        plan = decide_start(
            p,
            charger_id=cid,
            open_tx=view.transaction,
            auth=auth,
            now=now,
            csms=cfg,
            known_connector=known_connector,
            fallback_priority=priority,
            fallback_priority_source=source,
            retiming=svc.retiming(cid, now),
        )
        for warning in plan.warnings:
            log.warning("charger %s: %s", cid, warning)
        if plan.duplicate_of is not None:
            log.warning(
                "charger %s connector %d: StartTransaction repeated; answered with open transaction %d",
                cid,
                connector_id,
                plan.duplicate_of,
            )
            return plan.answer(plan.duplicate_of)
        if plan.superseded is not None:
            old = svc.with_site(plan.superseded)
            completion = await self._durable(
                f"superseded session {old.session_id}", lambda: svc.store.complete_session(old)
            )
            svc.session_recorded(completion.record)
        tx_id = await self._durable(
            f"charger {cid}: a transaction id",
            lambda: svc.store.next_transaction_id(cfg.transaction_id_start),
        )
        tx = plan.opened(tx_id)
        await self._durable(f"transaction {tx_id} on {cid}", lambda: svc.store.upsert_live_transaction(tx))
        svc.set_transaction(tx)
        svc.events.publish(TransactionStarted(cid, connector_id, now, tx))
        log.info(
            "charger %s connector %d: transaction %d started, tag %s → %s%s",
            cid,
            connector_id,
            tx_id,
            tx.id_tag,
            plan.auth.status,
            " (queued offline)" if plan.queued_offline else "",
        )
        return plan.answer(tx_id)

    # ---- StopTransaction -----------------------------------------------------------------------------

    async def stop_transaction(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        svc = self.service
        cid = conn.charger_id
        now, p = await svc.receive(conn, payload)
        _require_int(p, "transactionId", "StopTransaction")
        _require_int(p, "meterStop", "StopTransaction")
        _require_list(p, "transactionData", "StopTransaction", optional=True)
        tx_id = int(p["transactionId"])
        auth = (
            authorize(str(p["idTag"]), svc.tag_book(), now=now, csms=svc.config.csms)
            if p.get("idTag")
            else None
        )
        live = svc.live_by_id(cid)
        plan = decide_stop(
            p,
            charger_id=cid,
            live=live,
            closed={} if tx_id in live else self._closed(cid),
            auth=auth,
            now=now,
            min_usage_change_a=svc.config.history.minimum_usage_change_a,
            settings=svc.meter_settings(cid),
            retiming=svc.retiming(cid, now),
        )
        for warning in plan.warnings:
            log.warning("charger %s: %s", cid, warning)
        if plan.persist:
            record = svc.with_site(plan.record)
            completion = await self._durable(
                f"session {record.session_id}", lambda: svc.store.complete_session(record)
            )
            svc.session_recorded(completion.record)
        return plan.answer

    # ---- MeterValues ---------------------------------------------------------------------------------

    async def meter_values(self, conn: OcppConnection, **payload: Any) -> dict[str, Any]:
        svc = self.service
        cid = conn.charger_id
        now, p = await svc.receive(conn, payload)
        _require_int(p, "connectorId", "MeterValues")
        _require_int(p, "transactionId", "MeterValues", optional=True)
        _require_list(p, "meterValue", "MeterValues")
        update = read_meter_values(
            p,
            svc.meter_settings(cid),
            received_at=now,
            retiming=svc.retiming(cid, now),
        )
        for warning in update.parsed.warnings:
            log.warning("charger %s: MeterValues %s", cid, warning)
        connector_id, tx_id = update.parsed.connector_id, update.parsed.transaction_id
        view = svc.ensure_connector(cid, connector_id)
        own = view.transaction is not None and view.transaction.transaction_id == tx_id
        plan = decide_meter_values(
            tx_id,
            update.samples,
            charger_id=cid,
            connector_id=connector_id,
            live_on_connector=view.transaction,
            closed={} if tx_id is None or own or connector_id == 0 else self._closed(cid),
            connector_active=view.active,
            now=now,
            min_usage_change_a=svc.config.history.minimum_usage_change_a,
        )
        for warning in plan.warnings:
            log.warning("charger %s: %s", cid, warning)
        if plan.superseded is not None:
            old = svc.with_site(plan.superseded)
            done = await self._durable(
                f"superseded session {old.session_id}", lambda: svc.store.complete_session(old)
            )
            svc.session_recorded(done.record)
        if plan.record is not None:
            amended = svc.with_site(plan.record)
            done = await self._durable(
                f"amended session {amended.session_id}", lambda: svc.store.complete_session(amended)
            )
            log.info("charger %s: session %s %s by late MeterValues", cid, amended.session_id, done.outcome)
        if plan.kind == "synthesize" and plan.live is not None:
            synthesized = plan.live
            await self._durable(
                f"synthesized transaction {synthesized.transaction_id}",
                lambda: svc.store.upsert_live_transaction(synthesized),
            )
        elif plan.kind == "update" and plan.live is not None:
            svc.save_live(plan.live)
        meter = apply_samples(svc.ensure_connector(cid, connector_id).meter, update.samples)
        svc.set_connector(
            replace(svc.ensure_connector(cid, connector_id), meter=meter, transaction=plan.live)
        )
        if plan.kind == "synthesize" and plan.live is not None:
            svc.events.publish(TransactionStarted(cid, connector_id, now, plan.live))
        svc.events.publish(MeterUpdated(cid, connector_id, now, tx_id, update.samples, meter))
        return {}
