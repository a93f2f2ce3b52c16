"""A scripted central system for simulator tests and the simulator benchmark.

It answers what a charger sends (Accepted, increasing transaction ids from 1) and records every request per
charger, so a test can check exactly what the simulated charger reported. It runs on balanz's own
`OcppServer`, so the simulator is exercised against the real listener, handshake and framing; it exists
because balanz's transaction handlers are built elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from ocpp.charge_point import snake_to_camel_case

from balanz.config.schema import Config, ModelConfig, ServerConfig
from balanz.profiles.model import format_time
from balanz.server import OcppServer
from balanz.wire import OcppConnection, Registry

logger = logging.getLogger(__name__)

ANSWERED = ("Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
            "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
            "StatusNotification", "StopTransaction")  # fmt: skip


@dataclass
class Received:
    charger: str
    action: str
    payload: dict[str, Any]


@dataclass
class ScriptedCsms:
    """`now` gives the time put in answers; `tag_status` decides Authorize/StartTransaction per tag."""

    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    heartbeat_interval_s: int = 300
    tag_status: Callable[[str], str] = lambda _tag: "Accepted"
    keep: bool = True
    received: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    _ids: count[int] = field(default_factory=lambda: count(1))

    def registry(self) -> Registry:
        registry = Registry()
        for action in ANSWERED:
            registry.add(action, self._handler(action))
        return registry

    def of(self, action: str, charger: str | None = None) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.action == action and charger in (None, r.charger)]

    def _handler(self, action: str) -> Callable[..., dict[str, Any]]:
        def handle(conn: OcppConnection, **kwargs: Any) -> dict[str, Any]:
            self.counts[action] = self.counts.get(action, 0) + 1
            payload = snake_to_camel_case(kwargs)
            if self.keep:
                self.received.append(Received(conn.charger_id, action, payload))
            return self.answer(action, payload)

        return handle

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": format_time(self.now()),
                    "interval": self.heartbeat_interval_s}  # fmt: skip
        if action == "Heartbeat":
            return {"currentTime": format_time(self.now())}
        if action == "Authorize":
            return {"idTagInfo": {"status": self.tag_status(payload["idTag"])}}
        if action == "StartTransaction":
            return {
                "transactionId": next(self._ids),
                "idTagInfo": {"status": self.tag_status(payload["idTag"])},
            }
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}} if "idTag" in payload else {}
        if action == "DataTransfer":
            return {"status": "Accepted"}
        return {}


def csms_config(host: str = "127.0.0.1", port: int = 0, **server: Any) -> Config:
    """Any charger id is welcome (autoregistration), no stored passwords (Basic auth is not checked)."""
    return Config(
        server=ServerConfig(host=host, port=port, **server),
        model=ModelConfig(charger_autoregister=True),
    )


def scripted_server(csms: ScriptedCsms, config: Config | None = None) -> OcppServer:
    return OcppServer(config or csms_config(), csms.registry())
