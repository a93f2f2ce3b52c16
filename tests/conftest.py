"""Suite-wide settings: virtual time for every trio test, and the Hypothesis profiles.

THE CLOCK RULE — read this before writing an `async def test_...`
=================================================================
Every trio test (pytest-trio's `trio_mode` claims every `async def test_...`) runs on
`trio.testing.MockClock(autojump_threshold=0)`: whenever all tasks are blocked, virtual time jumps to the
next deadline, so `await trio.sleep(3600)` costs nothing and a timeout is a statement about virtual time.
You do not need to ask for it; this file enforces it because pytest-trio alone only hands `trio.run` a
clock that is a parameter *of the test function itself* — a clock requested only by a fixture used to be
silently ignored, and the test then ran in real time.

- Naming `autojump_clock` (or `mock_clock`) in the test's signature still works; do it when the test uses
  the clock object (`.jump()`, `.current_time()`), and that clock is the one the test runs on.
- A fixture that requests `autojump_clock` gets the very clock the test runs on, also when the test does
  not name it.
- Async fixtures and every `trio.run` pytest-trio makes for a Hypothesis example run on that clock too.
- A trio test that genuinely needs the wall clock (it waits for another *process*) says so and why:
  `@pytest.mark.real_clock(reason="...")`; the reason is mandatory. It still must not assert durations and
  must be bounded by its own logic (a deadline on the thing it waits for), never by a fixed sleep.
- Outside trio's reach, the rule is the same by convention: sync tests never `time.sleep`; asyncio/Textual
  tests wait on conditions (`pilot.pause()` in a loop that checks the state), never on a fixed delay.
- Threads let virtual time run ahead of the work they do (stack.md pitfall 3): no threads in trio tests.

tests/test_clock_guard.py proves the mechanism (a 10,000 s sleep on no requested clock, Hypothesis examples,
clocks requested by fixtures) — if a pytest or pytest-trio upgrade breaks it, those tests fail.

How it works: pytest-trio picks the clock out of the keyword arguments pytest passes to the test. So
around pytest-trio's own `pytest_runtest_call` wrapper we add two thin layers: the outer one (runs first)
lets the test function accept and drop one extra keyword argument; the inner one (runs after pytest-trio
has wrapped the test) adds that argument, holding the clock.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from trio.abc import Clock
from trio.testing import MockClock

settings.register_profile(
    "default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "soak", deadline=None, max_examples=20_000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("BALANZ_HYPOTHESIS_PROFILE", "default"))

REAL_CLOCK = "real_clock"
_CLOCK_ARGUMENT = "_balanz_virtual_clock"
_running: list[pytest.Item] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker(REAL_CLOCK)
        if marker is not None and not marker.kwargs.get("reason"):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.real_clock needs reason='why this test must wait on the wall "
                "clock' (see the top of tests/conftest.py)"
            )


def _needs_virtual_clock(item: pytest.Item) -> bool:
    """A trio test that does not already hand pytest-trio a clock of its own and is not marked real_clock."""
    if not isinstance(item, pytest.Function) or item.get_closest_marker("trio") is None:
        return False
    if item.get_closest_marker(REAL_CLOCK) is not None:
        return False
    return not any(isinstance(item.funcargs.get(name), Clock) for name in item._fixtureinfo.argnames)


def _clock_for(item: pytest.Item) -> Clock:
    """The clock a fixture of this test requested (so fixture and test share it), else a fresh one."""
    for value in item.funcargs.values():
        if isinstance(value, Clock):
            return value
    return MockClock(autojump_threshold=0)


def _accepting_the_clock(test: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(test)
    async def accepting(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop(_CLOCK_ARGUMENT)
        return await test(*args, **kwargs)

    return accepting


def _passing_the_clock(runner: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(runner)
    def passing(*args: Any, **kwargs: Any) -> Any:
        return runner(*args, **kwargs, **{_CLOCK_ARGUMENT: _clock_for(_running[-1])})

    passing._balanz_clock_passed = True  # type: ignore[attr-defined]
    return passing


def _test_slot(item: pytest.Function) -> tuple[Any, str]:
    """Where pytest-trio finds the coroutine function to run: Hypothesis tests are wrapped one layer in."""
    if hasattr(item.obj, "hypothesis"):
        return item.obj.hypothesis, "inner_test"
    return item, "obj"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Outer layer, before pytest-trio wraps the test: let the test function take the clock argument."""
    wrap = _needs_virtual_clock(item)
    if wrap:
        holder, name = _test_slot(item)
        # Hypothesis keeps inner_test on the function object shared by all parametrized cases: once is enough.
        if not getattr(getattr(holder, name), "_balanz_clock_passed", False):
            setattr(holder, name, _accepting_the_clock(getattr(holder, name)))
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


@pytest.hookimpl(hookwrapper=True, trylast=True, specname="pytest_runtest_call")
def pytest_runtest_call_after_pytest_trio(item: pytest.Item) -> Generator[None, None, None]:
    """Inner layer, after pytest-trio wrapped the test in its `trio.run`: pass the clock it will pick up."""
    if _needs_virtual_clock(item):
        holder, name = _test_slot(item)
        if not getattr(getattr(holder, name), "_balanz_clock_passed", False):
            setattr(holder, name, _passing_the_clock(getattr(holder, name)))
    yield
