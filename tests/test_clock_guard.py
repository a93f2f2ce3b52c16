"""The clock rule of tests/conftest.py holds: trio tests run on virtual time unless marked real_clock.

Each test would fail at its first assertion if the test ran on trio's wall clock, before any sleep; the
10,000 s sleeps then cost no wall time (see `pytest --durations`) because autojump skips them.
"""

from dataclasses import dataclass

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

LONG_S = 10_000


def running_clock() -> trio.abc.Clock:
    return trio.lowlevel.current_clock()


def assert_autojumping() -> MockClock:
    clock = running_clock()
    assert isinstance(clock, MockClock), f"this trio test runs on {clock!r}, not virtual time"
    assert clock.autojump_threshold == 0
    return clock


async def test_a_long_sleep_without_asking_for_a_clock_is_virtual() -> None:
    assert_autojumping()
    start = trio.current_time()
    await trio.sleep(LONG_S)
    assert trio.current_time() - start == pytest.approx(LONG_S)


async def test_a_timeout_fires_on_virtual_time() -> None:
    assert_autojumping()
    with trio.move_on_after(LONG_S) as scope:
        await trio.sleep_forever()
    assert scope.cancelled_caught


@dataclass
class NeedsTime:
    """Stands for a fixture's product that keeps the clock inside (pytest-trio alone never saw it)."""

    clock: MockClock


@pytest.fixture
def needs_time(autojump_clock: MockClock) -> NeedsTime:
    return NeedsTime(autojump_clock)


async def test_a_clock_requested_only_by_a_fixture_is_the_one_the_test_runs_on(needs_time: NeedsTime) -> None:
    assert running_clock() is needs_time.clock
    await trio.sleep(LONG_S)


@pytest.fixture
async def slept_in_setup() -> float:
    assert_autojumping()
    start = trio.current_time()
    await trio.sleep(LONG_S)
    return trio.current_time() - start


async def test_an_async_fixture_sleeps_on_the_same_virtual_clock(slept_in_setup: float) -> None:
    assert slept_in_setup == pytest.approx(LONG_S)


async def test_a_clock_named_by_the_test_is_used_as_before(autojump_clock: MockClock) -> None:
    assert running_clock() is autojump_clock


async def test_a_mock_clock_named_by_the_test_is_respected(mock_clock: MockClock) -> None:
    assert running_clock() is mock_clock
    assert mock_clock.autojump_threshold == float("inf")


@settings(max_examples=5)
@given(st.integers(min_value=1, max_value=LONG_S))
async def test_every_hypothesis_example_runs_on_virtual_time(seconds: int) -> None:
    assert_autojumping()
    start = trio.current_time()
    await trio.sleep(seconds)
    assert trio.current_time() - start == pytest.approx(seconds)


@pytest.mark.parametrize("case", ["first", "second", "third"])
@settings(max_examples=3)
@given(st.integers(min_value=1, max_value=LONG_S))
async def test_parametrized_hypothesis_cases_all_run_on_virtual_time(case: str, seconds: int) -> None:
    assert_autojumping()
    await trio.sleep(seconds)


@pytest.mark.parametrize("case", ["first", "second"])
async def test_parametrized_cases_all_run_on_virtual_time(case: str) -> None:
    assert_autojumping()
    await trio.sleep(LONG_S)


@pytest.mark.real_clock(reason="proves the opt-out: this test must see trio's default clock")
async def test_real_clock_marker_opts_out() -> None:
    assert not isinstance(running_clock(), MockClock)


class MarkedWithoutReason:
    nodeid = "tests/test_x.py::test_x"

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return pytest.mark.real_clock().mark if name == "real_clock" else None


def test_real_clock_without_a_reason_is_refused_at_collection() -> None:
    from tests.conftest import pytest_collection_modifyitems

    with pytest.raises(
        pytest.UsageError, match=r"tests/test_x\.py::test_x: @pytest.mark.real_clock needs reason="
    ):
        pytest_collection_modifyitems([MarkedWithoutReason()])
