"""The one place where OCPP actions meet the code that answers them.

The server is given a ``Registry``; each feature (core CSMS handlers, transactions, LC relay, smart
charging) registers its actions on it at start-up, so adding a feature never means editing the wire
layer. Two spellings are accepted: ``@registry.on("Heartbeat")`` on a plain function, or the ``ocpp``
library's own ``@on``/``@after`` decorators on methods of an object passed to ``include``.

Every handler and hook is called as ``fn(connection, **payload_in_snake_case)``: the connection says which
charger is talking and lets an ``@after`` hook call the charger back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ocpp.routing import create_route_map

Handler = Callable[..., Any]
F = TypeVar("F", bound=Handler)


@dataclass(slots=True)
class Route:
    action: str
    handler: Handler | None = None
    after: list[Handler] = field(default_factory=list)
    skip_schema_validation: bool = False


class Registry:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def add(
        self, action: str, handler: Handler, *, replace: bool = False, skip_schema_validation: bool = False
    ) -> None:
        """Answer ``action`` with ``handler``; ``replace=True`` lets a fuller feature take over an action."""
        route = self._routes.setdefault(str(action), Route(str(action)))
        if route.handler is not None and not replace:
            raise ValueError(
                f"action {action} already has a handler ({route.handler.__qualname__}); "
                "pass replace=True to take it over"
            )
        route.handler = handler
        route.skip_schema_validation = skip_schema_validation

    def add_after(self, action: str, hook: Handler) -> None:
        """Run ``hook`` after ``action`` is answered, as a task in the connection's nursery."""
        self._routes.setdefault(str(action), Route(str(action))).after.append(hook)

    def on(
        self, action: str, *, replace: bool = False, skip_schema_validation: bool = False
    ) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            self.add(action, fn, replace=replace, skip_schema_validation=skip_schema_validation)
            return fn

        return decorate

    def after(self, action: str) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            self.add_after(action, fn)
            return fn

        return decorate

    def include(self, obj: object, *, replace: bool = False) -> None:
        """Register the methods of ``obj`` decorated with ``ocpp.routing.on`` / ``ocpp.routing.after``."""
        for action, entry in create_route_map(obj).items():
            if "_on_action" in entry:
                self.add(
                    action,
                    entry["_on_action"],
                    replace=replace,
                    skip_schema_validation=bool(entry.get("_skip_schema_validation", False)),
                )
            if "_after_action" in entry:
                self.add_after(action, entry["_after_action"])

    def route(self, action: str) -> Route | None:
        return self._routes.get(action)

    def actions(self) -> frozenset[str]:
        return frozenset(a for a, r in self._routes.items() if r.handler is not None)
