import pytest

from balanz.tui.format import set_zone


@pytest.fixture(autouse=True)
def times_as_sent():
    """The display zone is module state set by each app from its snapshot: start every test without one."""
    set_zone("")
    yield
    set_zone("")
