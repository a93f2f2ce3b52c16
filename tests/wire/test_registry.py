"""One registry per daemon; features add actions without touching the wire layer."""

from __future__ import annotations

import pytest
from ocpp.routing import after, on
from ocpp.v16.enums import Action

from balanz.wire import Registry


def test_decorators_and_duplicate_guard():
    registry = Registry()

    @registry.on(Action.heartbeat)
    def first(conn, **_):
        return None

    with pytest.raises(ValueError, match="Heartbeat already has a handler"):
        registry.add("Heartbeat", lambda conn: None)

    def second(conn, **_):
        return None

    registry.add("Heartbeat", second, replace=True)
    assert registry.route("Heartbeat").handler is second
    assert registry.actions() == {"Heartbeat"}


def test_after_hooks_without_handler_do_not_count_as_support():
    registry = Registry()
    registry.add_after("BootNotification", lambda conn, **_: None)
    assert registry.actions() == frozenset()
    assert len(registry.route("BootNotification").after) == 1


def test_include_reads_ocpp_library_decorators():
    class Feature:
        @on(Action.authorize, skip_schema_validation=True)
        def on_authorize(self, conn, id_tag):
            return {"idTagInfo": {"status": "Accepted"}}

        @after(Action.authorize)
        def after_authorize(self, conn, id_tag):
            return None

    feature = Feature()
    registry = Registry()
    registry.include(feature)
    route = registry.route("Authorize")
    assert route.handler == feature.on_authorize
    assert route.after == [feature.after_authorize]
    assert route.skip_schema_validation is True
