"""The fixed list of charger misbehaviours the simulator can reproduce, each tied to a pitfall.

Real chargers deviate from OCPP in ways balanz must survive (/work/shared/reference/pitfalls.md). A quirk
is a named switch per simulated charger so that a scenario can put one bad charger next to good ones and
show that the site still holds its limits. The names are a closed set: a misspelt quirk in a scenario is
an error with a suggestion, never a silently well-behaved charger.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from balanz.config.convert import INVALID, Reporter, convert_scalar, unknown_key
from balanz.config.errors import show_value
from balanz.config.keys import suggest

logger = logging.getLogger(__name__)


class Quirk(StrEnum):
    STACK_LEVEL_0_ONLY = "stack_level_0_only"
    WATTS_ONLY = "watts_only"
    ABSOLUTE_NEEDS_START = "absolute_needs_start"
    FORGETS_PROFILES = "forgets_profiles"
    CLEAR_ANSWERS_UNKNOWN = "clear_answers_unknown"
    APPLY_DELAY = "apply_delay"
    NEVER_ANSWERS = "never_answers"
    SLOW_ANSWERS = "slow_answers"
    MALFORMED_FRAMES = "malformed_frames"
    DUPLICATE_FRAMES = "duplicate_frames"
    IGNORES_LIMIT = "ignores_limit"
    REJECTS_ZERO = "rejects_zero"
    NO_CURRENT_OFFERED = "no_current_offered"
    REJECTS_MAX_PROFILE = "rejects_max_profile"
    RELATIVE_ONLY = "relative_only"
    NO_SMART_CHARGING = "no_smart_charging"
    NO_SUBPROTOCOL = "no_subprotocol"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: float
    low: float
    high: float
    unit: str = ""
    kind: type = float


@dataclass(frozen=True, slots=True)
class QuirkInfo:
    source: str
    """The pitfall it reproduces (P1…P26 of pitfalls.md), or the OCPP-J section when no pitfall names it."""
    params: tuple[Param, ...] = ()


QUIRKS: Mapping[Quirk, QuirkInfo] = {
    Quirk.STACK_LEVEL_0_ONLY: QuirkInfo("P1"),
    Quirk.WATTS_ONLY: QuirkInfo("P15"),
    Quirk.ABSOLUTE_NEEDS_START: QuirkInfo("P3"),
    Quirk.FORGETS_PROFILES: QuirkInfo("P11"),
    Quirk.CLEAR_ANSWERS_UNKNOWN: QuirkInfo("P13"),
    Quirk.APPLY_DELAY: QuirkInfo("P19", (Param("apply_delay_s", 30, 0.1, 3600, " s"),)),
    Quirk.NEVER_ANSWERS: QuirkInfo("P25"),
    Quirk.SLOW_ANSWERS: QuirkInfo("OCPP-J 4.1.1", (Param("answer_delay_s", 10, 0.1, 3600, " s"),)),
    Quirk.MALFORMED_FRAMES: QuirkInfo("P23", (Param("every", 10, 1, 1_000_000, kind=int),)),
    Quirk.DUPLICATE_FRAMES: QuirkInfo("OCPP-J 4.2.3", (Param("every", 10, 1, 1_000_000, kind=int),)),
    Quirk.IGNORES_LIMIT: QuirkInfo("P8"),
    Quirk.REJECTS_ZERO: QuirkInfo("P9"),
    Quirk.NO_CURRENT_OFFERED: QuirkInfo("P18"),
    Quirk.REJECTS_MAX_PROFILE: QuirkInfo("P2"),
    Quirk.RELATIVE_ONLY: QuirkInfo("P5"),
    Quirk.NO_SMART_CHARGING: QuirkInfo("P17"),
    Quirk.NO_SUBPROTOCOL: QuirkInfo("P24"),
}
"""Each quirk's source and parameters; docs/simulator.md "Quirks" describes each in one line."""

Quirks = Mapping[Quirk, Mapping[str, float]]
"""A charger's quirks: each switched-on quirk with every parameter (defaults filled in)."""


def parse_quirks(value: Any, key: str, rep: Reporter) -> Any:
    """``["watts_only", { name = "apply_delay", apply_delay_s = 45 }]`` → ``{Quirk: {param: value}}``."""
    if not isinstance(value, list):
        rep.error(key, 'must be a list of quirk names or { name = "…", parameter = … } tables', value)
        return INVALID
    out: dict[Quirk, dict[str, float]] = {}
    ok = True
    for index, item in enumerate(value, start=1):
        where = f"{key}[{index}]"
        parsed = _one(item, where, rep)
        if parsed is None:
            ok = False
            continue
        quirk, params = parsed
        if quirk in out:
            rep.error(where, "quirk listed twice", str(quirk))
            ok = False
        out[quirk] = params
    return out if ok else INVALID


def _one(item: Any, where: str, rep: Reporter) -> tuple[Quirk, dict[str, float]] | None:
    given: Mapping[str, Any] = {}
    if isinstance(item, dict):
        given = {k: v for k, v in item.items() if k != "name"}
        item = item.get("name")
        if item is None:
            rep.error(f"{where}.name", "required key missing (the quirk's name)")
            return None
    if not isinstance(item, str):
        rep.error(where, "must be a quirk name (a string) or a table with name = …", item)
        return None
    names = tuple(q.value for q in Quirk)
    if item not in names:
        rep.error(where, f"unknown quirk{suggest(item, names)}; see docs/simulator.md, Quirks", item)
        return None
    quirk = Quirk(item)
    params = {p.name: p for p in QUIRKS[quirk].params}
    values = {p.name: p.default for p in params.values()}
    ok = True
    for name, raw in given.items():
        if name not in params:
            what = f"parameter of {quirk}" if params else f"parameter ({quirk} takes none)"
            unknown_key(rep, f"{where}.{name}", name, tuple(params), what)
            ok = False
            continue
        param = params[name]
        number = convert_scalar(raw, param.kind, f"{where}.{name}", "", rep)
        if number is INVALID:
            ok = False
        elif not param.low <= number <= param.high:
            rep.error(
                f"{where}.{name}",
                f"must be between {show_value(param.low)} and {show_value(param.high)}{param.unit}",
                number,
            )
            ok = False
        else:
            values[name] = number
    return (quirk, values) if ok else None
