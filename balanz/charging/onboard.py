"""Onboarding a controlled charger (profiles.md §4, §6, §7): probe it, choose its profile strategy, set up
its measurands, walk the strategy ladder when it refuses a profile, and check that it applies its limits.

The shell around the pure `probe`, `strategy` and `verify` modules. The allocator awaits `onboard` before
every re-assertion, so the blocking default already goes out under the chosen strategy; the dispatcher
calls `refused` for every SetChargingProfile that was not Accepted; a bus subscriber feeds meter values
to verification. What the operator should read comes back from `findings`.

Readings and decisions (pinned by tests/charging/test_onboard.py and tests/e2e/test_smart_quirks.py):
- A probe is made once per BootNotification. A plain reconnect reuses the result — this process's, else
  the store's (§4 "reused until the next BootNotification"). A charger known nowhere that connects
  without booting gets `PROBE_AFTER_CONNECT_S` for its BootNotification, then is probed anyway. After a
  BootNotification the probe waits for the charger's next message (at most `AFTER_BOOT_WAIT_S`), which
  proves the BootNotification.conf reached it (P25: the boot event is published inside the handler).
- The probe asks every `PROBE_KEYS` key in one GetConfiguration. A CALLERROR (chargers that refuse long
  key lists) makes it ask `GetConfigurationMaxKeys` alone and then the keys in chunks of that size (one
  per call when the charger does not say); a chunk that still fails leaves its keys unknown.
- No answer at all (timeout, lost link, CALLERROR on every attempt) is the spec's default: capabilities
  unknown, so unit A, stack level 0 and smart charging assumed; the finding says so, and the ladder
  corrects a wrong guess with the first refusal.
- `SupportedFeatureProfiles` without SmartCharging, `smart_charging = false` or `strategy = "off"`:
  uncontrollable at once (counted at its maximum, R19), logged with what to change on the charger.
- Strategy: the charger's own stored strategy first, else (with `learn_by_model`) the newest one that
  worked for the same vendor, model and firmware, then the ladder of `[profiles]` merged with the
  charger's `profile` table. A strategy is stored once a re-assertion under it completed (seen at the
  charger's next status, meter or transaction event).
- A refusal moves the ladder (`strategy.on_answer`); the dispatcher then sends again under the next rung
  at once. A TxProfile refused after the charger rebooted during its transaction proves nothing about the
  strategy (P6). Only an exhausted ladder or NotSupported makes the charger uncontrollable.
- Verification judges meter samples of connectors in a session whose offer was acknowledged, against
  the highest limit the charger may hold (acknowledged, in flight or still settling, never below the
  strategy's floor). A mismatch re-asserts the charger once; `verify_failures_max` of them make it
  uncontrollable, with the observed value in the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import trio

from balanz.allocation import events as tr
from balanz.charging.build import Step, effective_amps
from balanz.charging.probe import (
    MAX_KEYS,
    NOT_ANSWERED,
    PROBE_AFTER_CONNECT_S,
    ProbeResult,
    measurand_setup,
    parse_configuration,
    probe_requests,
    probe_warnings,
)
from balanz.charging.strategy import Answer, Ladder, Outcome, Strategy, Uncontrollable, choose, on_answer
from balanz.charging.verify import Check, Verdict, observe, retarget
from balanz.config.schema import Config, ProfilesConfig
from balanz.events import ChargerBooted, ChargerConnected, ChargerDisconnected, Event, EventBus, MeterUpdated
from balanz.profiles import Purpose
from balanz.wire.errors import CallErrorReceived, WireError

if TYPE_CHECKING:
    from balanz.charging.dispatch import Dispatcher

log = logging.getLogger(__name__)

ANSWER_STATUSES = frozenset({"Accepted", "Rejected", "NotSupported"})
"""SetChargingProfile statuses; any other answer string from the dispatcher is a CALLERROR code."""
NOT_SENT = "Invalid"
"""The dispatcher's word for a payload our own schema check refused (the charger never saw it)."""
AFTER_BOOT_WAIT_S = 5
"""At most this long after a BootNotification for the charger's next message before the probe goes out."""
FIX_UNCONTROLLABLE = (
    "balanz counts it at its maximum current; fix the charger's smart-charging / load-management setting "
    "or its `profile` table, then reboot it or run reassert-profiles"
)


@dataclass(frozen=True)
class Findings:
    """What the monitor shows about one charger's onboarding."""

    probe: ProbeResult | None
    strategy: str
    uncontrollable: str
    warnings: tuple[str, ...]
    verdicts: Mapping[int, str]

    @property
    def capabilities_unknown(self) -> bool:
        return self.probe is not None and not self.probe.answered


@dataclass
class _Charger:
    lock: trio.Lock = field(default_factory=trio.Lock)
    booted: trio.Event = field(default_factory=trio.Event)
    heard: trio.Event = field(default_factory=trio.Event)
    """Set by the charger's first message after its latest BootNotification."""
    boots: int = 0
    booted_at: datetime | None = None
    identity: tuple[str, str, str] | None = None
    probed_boot: int | None = None
    probe: ProbeResult | None = None
    ladder: Ladder | Uncontrollable | None = None
    saved: str | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()
    checks: dict[int, Check] = field(default_factory=dict)
    sessions: dict[int, object] = field(default_factory=dict)
    verdicts: dict[int, Verdict] = field(default_factory=dict)


class Onboarding:
    """One per allocator. `store` (optional) keeps probe results and working strategies across restarts."""

    def __init__(self, config: Config, dispatcher: Dispatcher, bus: EventBus, store: Any = None) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.store = store
        self._sub = bus.subscribe("onboarding", capacity=4096)
        self._chargers: dict[str, _Charger] = {}
        self._nursery: trio.Nursery | None = None
        dispatcher.on_refused = self.refused

    # ---- what others read ---------------------------------------------------------------------------

    def findings(self, charger_id: str) -> Findings:
        ch = self._chargers.get(charger_id, _Charger())
        in_use = isinstance(ch.ladder, Ladder)
        return Findings(
            probe=ch.probe,
            strategy=self.dispatcher.strategy_for(charger_id).text() if in_use else "",
            uncontrollable=ch.reason,
            warnings=ch.warnings,
            verdicts={n: v.value for n, v in sorted(ch.verdicts.items())},
        )

    # ---- onboarding ---------------------------------------------------------------------------------

    async def onboard(self, charger_id: str, nursery: trio.Nursery | None = None) -> None:
        """Before a re-assertion: probe if this boot was not probed yet, choose the strategy, set up the
        measurands. `nursery` (the allocator's) runs the verification subscriber from the first call on."""
        if nursery is not None and self._nursery is None:
            self._nursery = nursery
            nursery.start_soon(self._watch)
        self._drain()
        if not self.dispatcher.controlled(charger_id):
            return
        ch = self._charger(charger_id)
        async with ch.lock:
            self._drain()
            if ch.probed_boot is not None and ch.probed_boot == ch.boots:
                return
            if ch.boots == 0 and ch.probed_boot is None and self._from_store(charger_id, ch):
                return
            if ch.boots == 0:
                with trio.move_on_after(PROBE_AFTER_CONNECT_S):
                    await ch.booted.wait()
                self._drain()
            # P25: nothing before the BootNotification.conf has reached the charger; its next message
            # (the StatusNotifications every charger sends after booting) proves it has.
            if ch.boots > 0:
                with trio.move_on_after(AFTER_BOOT_WAIT_S):
                    await ch.heard.wait()
            conn = self.dispatcher.connections.connection(charger_id)
            if conn is None:
                return
            boots = ch.boots
            probe = await self._probe(charger_id, conn)
            ch.probe, ch.probed_boot = probe, boots
            self._save_capabilities(charger_id, ch)
            self._choose(charger_id, ch, self._learned(charger_id, ch))
            if isinstance(ch.ladder, Ladder):
                await self._measurands(charger_id, conn, probe)

    def restore_strategies(self) -> None:
        """At start, before any charger connects: the strategy each charger last worked with, so that the
        floor it implies (0 A refused) counts while the charger is still offline. Its connection chooses
        again (``_from_store`` or a probe)."""
        if self.store is None:
            return
        for charger in self.dispatcher.site.chargers:
            stored = self.store.capabilities(charger.id)
            strategy = Strategy.parse(stored.strategy) if stored is not None and stored.strategy else None
            if strategy is not None and self.dispatcher.controlled(charger.id):
                self.dispatcher.strategies[charger.id] = strategy

    def _charger(self, charger_id: str) -> _Charger:
        return self._chargers.setdefault(charger_id, _Charger())

    def _connectors(self, charger_id: str) -> int:
        return len(self.dispatcher.site.charger_by_id[charger_id].connectors)

    def _profiles(self, charger_id: str) -> ProfilesConfig:
        return self.dispatcher.setup(charger_id).profiles

    def _from_store(self, charger_id: str, ch: _Charger) -> bool:
        """A plain reconnect after a balanz restart: the last probe still stands (no boot since)."""
        stored = self.store.capabilities(charger_id) if self.store is not None else None
        if stored is None or stored.probed_at is None:
            return False
        ch.probe = ProbeResult.from_mapping(stored.capabilities)
        ch.identity = (stored.vendor, stored.model, stored.firmware_version)
        ch.probed_boot = 0
        ch.saved = stored.strategy
        log.info("charger %s: capabilities from the store (probed %s)", charger_id, stored.probed_at)
        self._choose(charger_id, ch, stored.strategy)
        return True

    def _learned(self, charger_id: str, ch: _Charger) -> str | None:
        if self.store is None:
            return None
        stored = self.store.capabilities(charger_id)
        if stored is not None and stored.strategy:
            return str(stored.strategy)
        if not self._profiles(charger_id).learn_by_model or ch.identity is None:
            return None
        found = self.store.learned_strategy(*ch.identity)
        if found:
            log.info("charger %s: trying the strategy %s of the same model first", charger_id, found)
        return found

    def _choose(self, charger_id: str, ch: _Charger, learned: str | None) -> None:
        probe = ch.probe or NOT_ANSWERED
        charger = self.dispatcher.site.charger_by_id[charger_id]
        connectors = self._connectors(charger_id)
        ch.warnings = tuple(
            probe_warnings(probe, connectors, self.config.allocator.usage_monitoring_interval_s, charger_id)
        )
        for warning in ch.warnings:
            log.warning("%s", warning)
        smart = self.config.mode.smart_charging and self._profiles(charger_id).strategy != "off"
        result = choose(
            probe,
            self._profiles(charger_id),
            connectors,
            smart_charging=smart and charger.smart_charging,
            learned=learned,
            min_allocation_a=self.config.allocator.min_allocation_a,
            charger_id=charger_id,
        )
        ch.ladder = result
        if isinstance(result, Uncontrollable):
            self.dispatcher.set_strategy(charger_id, None)
            self._uncontrollable(charger_id, result.reason, chosen=not (smart and charger.smart_charging))
            return
        for note in result.notes:
            log.warning("%s", note)
        ch.reason = ""
        self.dispatcher.set_strategy(charger_id, result.current)
        log.info("charger %s: profile strategy %s", charger_id, result.current.text())

    async def _probe(self, charger_id: str, conn: Any) -> ProbeResult:
        answers: list[dict[str, Any]] = []
        try:
            for payload in probe_requests():
                answers.append(await conn.call_raw("GetConfiguration", payload))
            return parse_configuration(answers)
        except CallErrorReceived as exc:
            log.info("charger %s: GetConfiguration refused (%s); asking in parts", charger_id, exc.code)
        except WireError as exc:
            log.warning("charger %s: capability probe failed (%s); defaults apply", charger_id, exc)
            return NOT_ANSWERED
        answers = []
        try:
            answers.append(await conn.call_raw("GetConfiguration", {"key": [MAX_KEYS]}))
        except CallErrorReceived:
            pass
        except WireError as exc:
            log.warning("charger %s: capability probe failed (%s); defaults apply", charger_id, exc)
            return NOT_ANSWERED
        size = parse_configuration(answers).max_keys if answers else None
        for payload in probe_requests(size or 1):
            try:
                answers.append(await conn.call_raw("GetConfiguration", payload))
            except CallErrorReceived as exc:
                log.info("charger %s: GetConfiguration %s refused (%s)", charger_id, payload["key"], exc.code)
            except WireError as exc:
                log.warning("charger %s: capability probe failed (%s)", charger_id, exc)
                break
        if not answers:
            log.warning("charger %s: GetConfiguration refused for every key; defaults apply", charger_id)
            return NOT_ANSWERED
        return parse_configuration(answers)

    async def _measurands(self, charger_id: str, conn: Any, probe: ProbeResult) -> None:
        """`configure_measurands`: one ChangeConfiguration per measurand, then the sample interval."""
        setup = measurand_setup(probe, self._profiles(charger_id))
        while (request := setup.request()) is not None:
            try:
                answer = await conn.call_raw("ChangeConfiguration", request)
                status = str(answer.get("status", "Rejected"))
            except CallErrorReceived as exc:
                status = exc.code
            except WireError as exc:
                log.warning("charger %s: ChangeConfiguration %s not answered (%s)", charger_id, request, exc)
                return
            log.info("charger %s: ChangeConfiguration %s=%s → %s", charger_id, *request.values(), status)
            setup = setup.answered(status)
        if setup.refused:
            log.warning(
                "charger %s: refused to sample %s; verification relies on what it does report",
                charger_id,
                ", ".join(setup.refused),
            )

    def _save_capabilities(self, charger_id: str, ch: _Charger) -> None:
        if self.store is None or ch.probe is None:
            return
        vendor, model, firmware = ch.identity or ("", "", "")
        try:
            self.store.save_capabilities(
                charger_id,
                ch.probe.to_mapping(),
                self.dispatcher.now(),
                vendor=vendor,
                model=model,
                firmware_version=firmware,
            )
        except Exception:
            log.exception("charger %s: probe result could not be written to the store", charger_id)

    def _save_strategy(self, charger_id: str, ch: _Charger) -> None:
        """Once a re-assertion under the current rung went through, it is the charger's working strategy."""
        if self.store is None or not isinstance(ch.ladder, Ladder):
            return
        state = self.dispatcher.state().charger(charger_id)
        text = ch.ladder.current.text()
        if state.reasserting or not state.connected or state.uncontrollable or text == ch.saved:
            return
        try:
            self.store.save_strategy(charger_id, text, self.dispatcher.now())
            ch.saved = text
        except Exception:
            log.exception("charger %s: strategy could not be written to the store", charger_id)

    def _uncontrollable(self, charger_id: str, reason: str, *, chosen: bool = False) -> None:
        """R19. `chosen`: the configuration says so (smart_charging = false, strategy = "off")."""
        ch = self._charger(charger_id)
        ch.reason = reason
        if chosen:
            log.info("charger %s: %s; counted at its maximum current", charger_id, reason)
        else:
            log.error("charger %s is uncontrollable: %s — %s", charger_id, reason, FIX_UNCONTROLLABLE)
        site = self.dispatcher.site
        self.dispatcher.update(lambda s: tr.charger_uncontrollable(s, site, charger_id, True))
        if self.store is not None:
            try:
                self.store.save_strategy(charger_id, None, self.dispatcher.now())
                ch.saved = None
            except Exception:
                log.exception("charger %s: strategy could not be written to the store", charger_id)

    # ---- the ladder ---------------------------------------------------------------------------------

    def refused(self, charger_id: str, step: Step, status: str) -> bool | None:
        """Dispatcher hook for a SetChargingProfile that was not Accepted.

        True: the ladder moved, send again at once under `Dispatcher.strategy_for`; False: uncontrollable
        (marked), stop sending; None: no ladder step (retry later, or the transaction may be gone)."""
        ch = self._charger(charger_id)
        if ch.ladder is None:
            self._choose(charger_id, ch, None)
        ladder = ch.ladder
        if isinstance(ladder, Uncontrollable):
            return False
        assert ladder is not None
        answer = Answer(status=status) if status in ANSWER_STATUSES else Answer(error_code=status)
        if status == NOT_SENT:
            answer = Answer(error_code="FormationViolation")
        purpose = step.purpose or Purpose.TX_DEFAULT
        decision = on_answer(
            ladder,
            purpose,
            step.wire_limit or 0.0,
            answer,
            self._profiles(charger_id),
            transaction_may_be_gone=self._transaction_may_be_gone(charger_id, step.connector_id),
        )
        if isinstance(decision.state, Uncontrollable):
            ch.ladder = decision.state
            self.dispatcher.set_strategy(charger_id, None)
            self._uncontrollable(charger_id, decision.state.reason)
            return False
        ch.ladder = decision.state
        if decision.outcome in (Outcome.NEXT, Outcome.NO_CAP):
            current = decision.state.current
            self.dispatcher.set_strategy(charger_id, current)
            log.warning("charger %s: %s; next strategy %s", charger_id, decision.reason, current.text())
            return True
        log.info("charger %s: %s", charger_id, decision.reason)
        return None

    def _transaction_may_be_gone(self, charger_id: str, connector_id: int) -> bool:
        """The charger booted after the session began: it has most likely ended that transaction (P6)."""
        booted_at = self._charger(charger_id).booted_at
        session = self.dispatcher.state().connector((charger_id, connector_id)).session
        return booted_at is not None and session is not None and session.started_at < booted_at

    # ---- events and verification --------------------------------------------------------------------

    def _drain(self) -> None:
        """Events published so far, before deciding (the allocator may have seen a boot we have not)."""
        while True:
            try:
                event = self._sub.receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            self.note(event)

    async def _watch(self) -> None:
        async for event in self._sub.receive:
            self.note(event)

    def note(self, event: Event) -> None:
        if isinstance(event, ChargerBooted):
            ch = self._charger(event.charger_id)
            ch.boots += 1
            ch.booted_at = event.at
            ch.identity = (event.vendor, event.model, event.firmware or "")
            ch.checks.clear()
            ch.booted.set()
            ch.booted = trio.Event()
            ch.heard = trio.Event()
            return
        ch = self._chargers.get(event.charger_id)
        if ch is not None and not isinstance(event, ChargerDisconnected):
            ch.heard.set()
        if ch is None or isinstance(event, ChargerConnected | ChargerDisconnected):
            # The allocator may not have applied a (dis)connection yet: its state would be stale here.
            return
        self._save_strategy(event.charger_id, ch)
        if isinstance(event, MeterUpdated):
            self._verify(event, ch)

    def _verify(self, event: MeterUpdated, ch: _Charger) -> None:
        charger_id, n = event.charger_id, event.connector_id
        state = self.dispatcher.state()
        if not isinstance(ch.ladder, Ladder):
            return
        charger = state.charger(charger_id)
        cs = state.connector((charger_id, n))
        if charger.uncontrollable or charger.reasserting:
            return  # a reconnection keeps the session's mismatch count
        if cs.session is None or cs.acked is None:
            ch.checks.pop(n, None)
            return
        settling = [v for v, until in cs.settling if until > event.at]
        held = [cs.acked, *(f.value for f in cs.in_flight), *settling]
        target = effective_amps(self.dispatcher.strategy_for(charger_id), max(held))
        new_session = ch.sessions.get(n) != cs.session.transaction_id
        check = ch.checks.get(n)
        if check is None or new_session or check.target_a != target:
            check = retarget(check, target, event.at, new_session=new_session)
        ch.sessions[n] = cs.session.transaction_id
        profiles = self._profiles(charger_id)
        for sample in event.samples:
            finding = observe(check, sample, profiles)
            check = finding.check
            ch.verdicts[n] = finding.verdict
            if finding.verdict is Verdict.UNCONTROLLABLE:
                ch.checks.pop(n, None)
                self._uncontrollable(charger_id, f"connector {n}: {finding.reason}")
                return
            if finding.verdict is Verdict.MISMATCH:
                log.warning("charger %s connector %d: %s; re-asserting", charger_id, n, finding.reason)
                if finding.resend and self._nursery is not None:
                    self._nursery.start_soon(self.dispatcher.reassert, charger_id)
        ch.checks[n] = check
