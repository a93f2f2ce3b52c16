"""The allocation core: pure decisions about how many amperes each connector may offer (allocation.md).

Nothing here performs I/O, reads a clock or imports trio/ocpp; ``now`` is always an argument. The shell
builds a ``Site`` and ``Params`` from the configuration, keeps a ``State`` updated with the transitions of
``events``, calls ``plan()`` and sends what the ``Plan`` says. docs/allocation-core.md has the walkthrough.
"""

from balanz.allocation import events
from balanz.allocation.invariant import Violation, violations, window_violations
from balanz.allocation.model import Charger, Connector, Group, Key, Params, Site
from balanz.allocation.planner import Change, Plan, plan
from balanz.allocation.schedule import Schedule, ScheduleError, Slot, parse_schedule, schedule_from_slots
from balanz.allocation.state import (
    ChargerState,
    ConnectorState,
    ExternalLimit,
    GroupOverride,
    GroupState,
    InFlight,
    Sample,
    Session,
    State,
)

__all__ = [
    "Change",
    "Charger",
    "ChargerState",
    "Connector",
    "ConnectorState",
    "ExternalLimit",
    "Group",
    "GroupOverride",
    "GroupState",
    "InFlight",
    "Key",
    "Params",
    "Plan",
    "Sample",
    "Schedule",
    "ScheduleError",
    "Session",
    "Site",
    "Slot",
    "State",
    "Violation",
    "events",
    "parse_schedule",
    "plan",
    "schedule_from_slots",
    "violations",
    "window_violations",
]
