"""The strategy ladder of profiles.md §6 as data, and the pure decisions that walk it.

A `Strategy` says *how* one charger is driven: which purpose carries the live allocation (TxProfile, or the
per-connector TxDefault for chargers that refuse TxProfiles, P7), at which stack level, kind and unit, whether
the TxDefault sits on connector 0 (single-connector chargers that only accept 0), distinct levels per
connector (firmware that applies the replacement rule across connectors, W3) and the lowest limit the charger
accepts (0, or the minimum allocation for chargers that refuse 0 A, §5.4 / P9).

Readings and decisions (pinned by tests/charging/test_strategy.py):
- Ladder order (§6, `charger.profile.strategy = "auto"`): TxProfile rungs — (S, kind, preferred unit),
  (0, …) when S ≠ 0, (0, Relative, …) when the kind is Absolute, then the same two with the other unit when
  `rate_unit = "auto"` and the charger allows both — then the same variants as TxDefault-only (step 5), then,
  for single-connector chargers, all of it again with the TxDefault on connector 0 (step 6; the spec names
  only "TxDefault on connector 0", we try it with and without TxProfile because a charger that refused every
  per-connector TxDefault never got to answer a TxProfile). `"tx"` keeps the TxProfile rungs, `"default_only"`
  the TxDefault-only rungs (with the same level/kind/unit fallbacks, so one refusal is not uncontrollable).
- A charger whose MaxChargingProfilesInstalled is below 2 per connector gets the TxDefault-only rungs first
  (§4 "prefer the TxDefault-only strategy").
- Refusals are remembered by what they prove: a refused TxDefault rules out every later rung that would send
  a TxDefault with the same (level, kind, unit, connector-0); a refused TxProfile every rung that would send a
  TxProfile with the same (level, kind, unit). Such rungs are skipped instead of being tried again.
- 0 A (§5.4): if the ladder runs out and some refused profile had a 0 limit, it starts once more from the top
  with a floor of `min_allocation_a`; success there marks the charger `zero_unsupported` (floor > 0).
- A learned strategy (same vendor/model/firmware, `learn_by_model`) is tried first when it fits the charger's
  probed capabilities and the configured strategy; the rest of the ladder follows unchanged.
- Answers (§6 table): Accepted → keep; Rejected or a payload CALLERROR → next rung; NotSupported or
  CALLERROR NotImplemented/NotSupported → uncontrollable; InternalError/GenericError → retry up to 3 times
  with back-off, then next rung; no answer → unresolved (R17/R19), retried, never a ladder step.
- A TxProfile refused while its transaction may already be over (re-assertion after a boot) is `tx_gone`,
  not a ladder step: the refusal is about the transaction, not the strategy (P6).
- The optional station cap (§5.5) is never relied on: its refusal is `no_cap` — the ladder stays on its
  rung, the strategy records "no station cap" (P2) so it is not sent again, also not to the same model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from enum import StrEnum

from balanz.charging.probe import ProbeResult
from balanz.config.schema import ProfilesConfig
from balanz.profiles import Kind, Purpose, RateUnit

logger = logging.getLogger(__name__)

ERROR_RETRIES = 3
"""InternalError/GenericError retries of the same rung before the next one (§6)."""

_UNSUPPORTED = frozenset({"NotImplemented", "NotSupported"})
_RETRY_ERRORS = frozenset({"InternalError", "GenericError"})


class LiveVia(StrEnum):
    """Which profile carries a running session's allocation."""

    TX_PROFILE = "tx"
    TX_DEFAULT = "default"


_FLAGS = (("c0", "default_on_zero"), ("per", "per_connector_levels"), ("nocap", "no_cap"))
"""Boolean fields of `Strategy` and their spelling in `Strategy.text`."""


@dataclass(frozen=True)
class Strategy:
    live: LiveVia = LiveVia.TX_PROFILE
    stack_level: int = 0
    kind: Kind = Kind.ABSOLUTE
    unit: RateUnit = RateUnit.A
    default_on_zero: bool = False
    per_connector_levels: bool = False
    floor_a: int = 0
    no_cap: bool = False

    @property
    def zero_unsupported(self) -> bool:
        return self.floor_a > 0

    def text(self) -> str:
        """Stable spelling stored per charger (`Store.save_strategy`) and shared by model."""
        parts = [self.live.value, f"L{self.stack_level}", self.kind.value, self.unit.value]
        parts += [flag for flag, attr in _FLAGS if getattr(self, attr)]
        if self.floor_a:
            parts.append(f"floor{self.floor_a}")
        return "/".join(parts)

    @classmethod
    def parse(cls, text: str) -> Strategy | None:
        """Inverse of `text`; None for anything not written by it (an older or damaged record)."""
        try:
            live, level, kind, unit, *flags = text.split("/")
            strategy = cls(LiveVia(live), int(level.removeprefix("L")), Kind(kind), RateUnit(unit))
        except ValueError:
            return None
        names = dict(_FLAGS)
        for flag in flags:
            if flag in names:
                strategy = replace(strategy, **{names[flag]: True})
            elif flag.startswith("floor") and flag[5:].isdigit():
                strategy = replace(strategy, floor_a=int(flag[5:]))
            else:
                return None
        if strategy.kind is Kind.RECURRING or strategy.stack_level < 0:
            return None
        return strategy

    def level_for(self, connector_id: int) -> int:
        """S, or S + N − 1 for connector N with `stack_level_per_connector` (§5.1)."""
        if self.per_connector_levels and connector_id > 0:
            return self.stack_level + connector_id - 1
        return self.stack_level

    def refusal_key(self, purpose: Purpose) -> tuple[object, ...]:
        """What a refusal of a profile of `purpose` sent under this strategy rules out."""
        base = (self.stack_level, self.kind, self.unit, self.per_connector_levels)
        if purpose is Purpose.TX:
            return (Purpose.TX, *base)
        return (Purpose.TX_DEFAULT, *base, self.default_on_zero)

    def needs(self) -> tuple[Purpose, ...]:
        """The purposes this strategy sends (the charger-max cap is optional and never part of it)."""
        if self.live is LiveVia.TX_PROFILE:
            return (Purpose.TX_DEFAULT, Purpose.TX)
        return (Purpose.TX_DEFAULT,)


@dataclass(frozen=True)
class Uncontrollable:
    """allocation.md R19: exposure max_current_a per connector; `reason` is what the operator reads."""

    reason: str


@dataclass(frozen=True)
class Ladder:
    """Where a charger stands on its ladder; `current` is the strategy to build payloads with."""

    rungs: tuple[Strategy, ...]
    index: int = 0
    refused: frozenset[tuple[object, ...]] = frozenset()
    zero_refused: bool = False
    floor_a: int = 0
    no_cap: bool = False
    min_allocation_a: int = 6
    errors: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def current(self) -> Strategy:
        return replace(self.rungs[self.index], floor_a=self.floor_a, no_cap=self.no_cap)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    NEXT = "next"
    RETRY = "retry"
    UNRESOLVED = "unresolved"
    UNCONTROLLABLE = "uncontrollable"
    NO_CAP = "no_cap"
    TX_GONE = "tx_gone"


@dataclass(frozen=True)
class Answer:
    """A SetChargingProfile answer: `status`, or a CALLERROR `error_code`, or no answer (`timed_out`)."""

    status: str | None = None
    error_code: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    state: Ladder | Uncontrollable
    reason: str = ""
    retry_in_s: float | None = None


def retry_delay(attempt: int, profiles: ProfilesConfig) -> float:
    """Back-off for unresolved sends (§8): retry_initial_s, doubling, at most retry_max_s."""
    return float(min(profiles.retry_initial_s * 2 ** max(attempt, 0), profiles.retry_max_s))


def preferred_unit(probe: ProbeResult, profiles: ProfilesConfig) -> tuple[RateUnit, RateUnit | None]:
    """(first unit, other unit to try or None): A when allowed (§5.1), config `rate_unit` forces one."""
    if profiles.rate_unit in ("A", "W"):
        return RateUnit(profiles.rate_unit), None
    units = probe.units
    first = RateUnit.A if RateUnit.A in units else RateUnit.W
    other = RateUnit.W if first is RateUnit.A and RateUnit.W in units else None
    return first, other


def _variants(
    live: LiveVia, level: int, kind: Kind, units: tuple[RateUnit, RateUnit | None], on_zero: bool, per: bool
) -> list[Strategy]:
    first, other = units
    kinds = [kind, Kind.RELATIVE] if kind is Kind.ABSOLUTE else [kind]
    out = [Strategy(live, level, kind, first, on_zero, per)]
    out += [Strategy(live, 0, k, first, on_zero, per) for k in kinds]
    if other is not None:
        out += [Strategy(live, 0, k, other, on_zero, per) for k in kinds]
    return list(dict.fromkeys(out))


def _fits(strategy: Strategy, probe: ProbeResult, connectors: int, allowed: set[LiveVia]) -> bool:
    return (
        strategy.live in allowed
        and strategy.unit in probe.units
        and strategy.level_for(connectors) <= probe.stack_level_bound
        and (not strategy.per_connector_levels or probe.max_stack_level is not None)
        and (not strategy.default_on_zero or connectors == 1)
    )


def choose(
    probe: ProbeResult,
    profiles: ProfilesConfig,
    connectors: int,
    *,
    smart_charging: bool = True,
    learned: str | None = None,
    min_allocation_a: int = 6,
    charger_id: str = "",
) -> Ladder | Uncontrollable:
    """The ladder for one charger. `profiles` is `[profiles]` merged with the charger's `profile` table;
    `smart_charging` is mode.smart_charging and the charger's own flag; `learned` a stored `Strategy.text`."""
    who = f"charger {charger_id}" if charger_id else "charger"
    if not smart_charging or profiles.strategy == "off":
        return Uncontrollable(f"{who}: smart charging is off in the configuration")
    if probe.smart_charging is False:
        return Uncontrollable(
            f"{who}: SupportedFeatureProfiles lacks SmartCharging — enable smart charging / load management "
            "on the charger"
        )
    notes: list[str] = []
    level = profiles.stack_level
    bound = probe.stack_level_bound
    if level > bound:
        notes.append(f"{who}: stack_level {level} above ChargeProfileMaxStackLevel {bound}; using {bound}")
        level = bound
    per = profiles.stack_level_per_connector
    if per and (probe.max_stack_level is None or level + connectors - 1 > probe.max_stack_level):
        notes.append(f"{who}: stack_level_per_connector needs levels up to {level + connectors - 1}; ignored")
        per = False
    on_zero = profiles.use_connector_zero
    if on_zero and connectors != 1:
        notes.append(f"{who}: use_connector_zero is for single-connector chargers; ignored")
        on_zero = False
    kind = Kind.RELATIVE if profiles.kind == "relative" else Kind.ABSOLUTE
    units = preferred_unit(probe, profiles)

    def rungs(live: LiveVia, zero: bool) -> list[Strategy]:
        return _variants(live, level, kind, units, zero, per)

    few_slots = probe.max_profiles is not None and probe.max_profiles < 2 * connectors
    order = {
        "tx": [LiveVia.TX_PROFILE],
        "default_only": [LiveVia.TX_DEFAULT],
    }.get(profiles.strategy, [LiveVia.TX_DEFAULT, LiveVia.TX_PROFILE] if few_slots else list(LiveVia))
    ladder = [s for live in order for s in rungs(live, on_zero)]
    if profiles.strategy == "auto" and connectors == 1 and not on_zero:
        ladder += [s for live in order for s in rungs(live, True)]
    found = Strategy.parse(learned) if learned else None
    if found is not None and not _fits(found, probe, connectors, set(order)):
        found = None
    if found is not None:
        ladder.insert(0, replace(found, floor_a=0, no_cap=False))
    return Ladder(
        tuple(dict.fromkeys(ladder)),
        floor_a=found.floor_a if found else 0,
        no_cap=found.no_cap if found else False,
        min_allocation_a=min_allocation_a,
        notes=tuple(notes),
    )


def _advance(ladder: Ladder, reason: str) -> Decision:
    for index in range(ladder.index + 1, len(ladder.rungs)):
        rung = replace(ladder.rungs[index], floor_a=ladder.floor_a, no_cap=ladder.no_cap)
        if not any(rung.refusal_key(p) in ladder.refused for p in rung.needs()):
            return Decision(Outcome.NEXT, replace(ladder, index=index, errors=0), reason)
    if ladder.zero_refused and ladder.floor_a == 0 and ladder.min_allocation_a > 0:
        floor = ladder.min_allocation_a
        restarted = replace(ladder, index=0, refused=frozenset(), zero_refused=False, floor_a=floor, errors=0)
        return Decision(
            Outcome.NEXT, restarted, f"{reason}; retrying with a {floor} A floor (0 A refused, P9)"
        )
    return Decision(Outcome.UNCONTROLLABLE, Uncontrollable(f"strategy ladder exhausted: {reason}"), reason)


def on_answer(
    ladder: Ladder,
    purpose: Purpose,
    limit: float,
    answer: Answer,
    profiles: ProfilesConfig,
    *,
    transaction_may_be_gone: bool = False,
) -> Decision:
    """Classify the answer to a SetChargingProfile of `purpose` with wire `limit` sent under
    `ladder.current`, and say what to do next.

    `transaction_may_be_gone`: the TxProfile went out while the charger may already have ended its
    transaction (re-assertion after a BootNotification — R24 item 2, the charger usually stops interrupted
    transactions — or a status that left the session states). A refusal then proves nothing about the
    strategy (P6: no transaction, no TxProfile): `tx_gone`, ladder unchanged; the shell waits for the
    StopTransaction or the next status."""
    strategy = ladder.current
    what = f"{purpose.value} ({strategy.text()}, limit {limit:g})"
    if answer.timed_out:
        return Decision(Outcome.UNRESOLVED, ladder, f"{what}: no answer", retry_delay(0, profiles))
    if answer.status == "Accepted":
        return Decision(Outcome.ACCEPTED, replace(ladder, errors=0))
    if purpose is Purpose.CHARGE_POINT_MAX:
        why = answer.status if answer.error_code is None else f"CALLERROR {answer.error_code}"
        reason = f"{what}: {why} — no station cap for this charger (P2)"
        return Decision(Outcome.NO_CAP, replace(ladder, no_cap=True), reason)
    if purpose is Purpose.TX and transaction_may_be_gone and answer.status == "Rejected":
        return Decision(Outcome.TX_GONE, ladder, f"{what}: Rejected — the transaction may have ended (P6)")
    if answer.status == "NotSupported" or answer.error_code in _UNSUPPORTED:
        why = answer.status if answer.error_code is None else f"CALLERROR {answer.error_code}"
        reason = f"{what}: {why} — the charger does not support smart charging"
        return Decision(Outcome.UNCONTROLLABLE, Uncontrollable(reason), reason)
    if answer.error_code in _RETRY_ERRORS and ladder.errors < ERROR_RETRIES:
        errors = ladder.errors + 1
        reason = f"{what}: CALLERROR {answer.error_code}, retry {errors} of {ERROR_RETRIES}"
        return Decision(
            Outcome.RETRY, replace(ladder, errors=errors), reason, retry_delay(errors - 1, profiles)
        )
    if answer.status is None and answer.error_code is None:
        return Decision(Outcome.UNRESOLVED, ladder, f"{what}: empty answer", retry_delay(0, profiles))
    if answer.error_code is not None:
        why = f"CALLERROR {answer.error_code}"
    elif answer.status == "Rejected":
        why = "Rejected"
    else:
        why = f"unexpected status {answer.status!r}, taken as Rejected"
    refused = ladder.refused | {strategy.refusal_key(purpose)}
    moved = replace(ladder, refused=refused, zero_refused=ladder.zero_refused or limit == 0)
    return _advance(moved, f"{what}: {why}")
