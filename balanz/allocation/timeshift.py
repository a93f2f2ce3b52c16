"""Moving the allocator's remembered instants when the site clock is stepped.

Every instant in ``State`` measures a duration from an event: a reduction settling for
``wait_after_reduce_s``, a ramp interval, a suspension until a retry, an external limit valid for so
long. When the host clock is stepped those durations have not changed, only the clock's reading: shifting
every instant by the step keeps each of them exactly as long as it was, so a forward step cannot cut a
settling window short (an increase before a reduction took effect) and a backward step cannot stretch it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any, TypeVar

from balanz.allocation.state import State

logger = logging.getLogger(__name__)

T = TypeVar("T")


def shifted(state: State, step: timedelta) -> State:
    """``state`` with every instant moved by ``step``; every connector counts as changed."""
    moved = _shift(state, step)
    return dataclasses.replace(moved, changed=frozenset(moved.connectors), changed_all=True)


def _shift(value: T, step: timedelta) -> T:
    result: Any = value
    if isinstance(value, datetime):
        result = value + step
    elif isinstance(value, tuple):
        result = tuple(_shift(item, step) for item in value)
    elif isinstance(value, dict):
        result = {key: _shift(item, step) for key, item in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = _shift(old, step)
            if new is not old:
                changes[f.name] = new
        result = dataclasses.replace(value, **changes) if changes else value
    return result
