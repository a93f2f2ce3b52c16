"""What a scenario's timeline or a person at the console does to a running simulated charger.

Both drive the charger through these functions, so `arrive` in a scenario file and `plug` typed at the
console are the same act. Changes to a car that is already plugged in (pause, full, a lower maximum)
replace its `EvSpec`: the charger first books the energy drawn under the old one (`SimCharger.limit`
advances it to now), then the engine is poked to re-step the car under the new one. Each function returns
the one line the console prints and the event log records; a request that cannot apply raises
`OperateError` naming the charger and connector.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from balanz.sim.charger import Plugged, SimCharger
from balanz.sim.ev import EvSpec

logger = logging.getLogger(__name__)

FOREVER = timedelta(days=3650)
"""How long a console `suspend` pauses the car: until `resume` (or it leaves)."""


class OperateError(Exception):
    """The act does not apply to the charger as it is now (no such connector, no car, already paused)."""


def _connector(cp: SimCharger, connector: int) -> int:
    if connector not in cp.connectors:
        raise OperateError(f"charger {cp.id} has no connector {connector} (it has 1..{cp.spec.connectors})")
    return connector


def _car(cp: SimCharger, connector: int) -> Plugged:
    plugged = cp.evs.get(_connector(cp, connector))
    if plugged is None:
        raise OperateError(f"no car is plugged into {cp.id}:{connector}")
    return plugged


def _change_car(cp: SimCharger, connector: int, spec: EvSpec) -> None:
    plugged = _car(cp, connector)
    cp.limit(connector)
    plugged.spec = spec
    cp.poke()


def describe(car: EvSpec) -> str:
    return f"{car.max_current_a:g} A on {car.phases} phase(s), {car.target_wh / 1000:g} kWh wanted"


def plug(cp: SimCharger, connector: int, car: EvSpec, tag: str | None) -> str:
    if _connector(cp, connector) in cp.evs:
        raise OperateError(f"{cp.id}:{connector} already has a car plugged in; unplug it first")
    cp.plug(connector, car, tag)
    return f"plugged into {cp.id}:{connector}: {describe(car)}" + (f", tag {tag}" if tag else "")


def unplug(cp: SimCharger, connector: int) -> str:
    _car(cp, connector)
    cp.unplug(connector)
    return f"unplugged {cp.id}:{connector}"


def present_tag(cp: SimCharger, connector: int, tag: str) -> str:
    cp.swipe(tag, _connector(cp, connector))
    return f"tag {tag} presented at {cp.id}:{connector}"


def suspend(cp: SimCharger, connector: int, now: datetime) -> str:
    car = _car(cp, connector).spec
    if any(start <= now < end for start, end in car.pauses):
        raise OperateError(f"the car at {cp.id}:{connector} is already paused")
    _change_car(cp, connector, replace(car, pauses=(*car.pauses, (now, now + FOREVER))))
    return f"the car at {cp.id}:{connector} pauses (SuspendedEV) until resumed"


def resume(cp: SimCharger, connector: int, now: datetime) -> str:
    car = _car(cp, connector).spec
    if not any(start <= now < end for start, end in car.pauses):
        raise OperateError(f"the car at {cp.id}:{connector} is not paused")
    pauses = tuple((start, now if start <= now < end else end) for start, end in car.pauses)
    _change_car(cp, connector, replace(car, pauses=pauses))
    return f"the car at {cp.id}:{connector} resumes"


def full(cp: SimCharger, connector: int) -> str:
    plugged = _car(cp, connector)
    cp.limit(connector)
    _change_car(cp, connector, replace(plugged.spec, target_wh=plugged.state.energy_wh))
    return f"the car at {cp.id}:{connector} is full after {plugged.state.energy_wh / 1000:.2f} kWh"


def max_current(cp: SimCharger, connector: int, amps: float) -> str:
    car = _car(cp, connector).spec
    _change_car(cp, connector, replace(car, max_current_a=amps))
    note = (
        f" (below its minimum {car.min_current_a:g} A: it will not charge)"
        if amps < car.min_current_a
        else ""
    )
    return f"the car at {cp.id}:{connector} now takes at most {amps:g} A{note}"


def reboot(cp: SimCharger, offline_s: float) -> str:
    """The charger restarts and stays off `offline_s` simulated seconds before it connects again."""
    cp.spec = replace(cp.spec, boot_delay_s=offline_s)
    cp.reboot("Reboot")
    return f"{cp.id} reboots (offline {offline_s:g} s)"


def drop(cp: SimCharger, seconds: float) -> str:
    cp.drop_network(seconds)
    return f"{cp.id} loses the network for {seconds:g} s"


def fault(cp: SimCharger, connector: int, error_code: str) -> str:
    """Connector 0 faults the whole charger, i.e. every connector."""
    targets = list(cp.connectors) if connector == 0 else [_connector(cp, connector)]
    for n in targets:
        cp.fault(n, error_code)
    return f"{cp.id}:{connector} faulted ({error_code})"


def clear_fault(cp: SimCharger, connector: int) -> str:
    targets = list(cp.connectors) if connector == 0 else [_connector(cp, connector)]
    for n in targets:
        cp.clear_fault(n)
    return f"{cp.id}:{connector} fault cleared"
