"""A scenario's charger (`ChargerSpec`, what the file says) as the simulator's `SimChargerSpec` (what runs).

This is the only place the two meet, so a scenario key has exactly one effect on the running charger.
Quirks go through `QuirkFlags.from_quirks` (the scenario's closed list is the vocabulary, the flags are
derived). Configuration keys the scenario accepts but the simulated charger does not implement are left
out, and said so once: a charger answering GetConfiguration with a key it then ignores would mislead the
central system under test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from types import MappingProxyType

from balanz.sim.quirk_flags import QuirkFlags
from balanz.sim.scenario_chargers import ChargerSpec
from balanz.sim.spec import SimChargerSpec, key_definitions

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MappedCharger:
    spec: SimChargerSpec
    ignored_keys: tuple[str, ...]
    """Configuration keys of the scenario the simulated charger has no behaviour for."""


def sim_spec(charger: ChargerSpec) -> MappedCharger:
    base = SimChargerSpec(
        id=charger.id,
        connectors=charger.connectors,
        phases=charger.phases,
        max_current_a=float(charger.max_current_a),
        vendor=charger.vendor,
        model=charger.model,
        firmware=charger.firmware,
        serial=charger.serial or None,
        password=charger.password or None,
        quirks=QuirkFlags.from_quirks(charger.quirks),
    )
    known = key_definitions(base)
    kept = {k: v for k, v in charger.configuration.items() if k in known}
    ignored = tuple(sorted(k for k in charger.configuration if k not in known))
    return MappedCharger(replace(base, configuration=MappingProxyType(kept)), ignored)
