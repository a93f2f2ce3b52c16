"""A small scripted charger and a daemon-on-a-store harness for the CSMS end-to-end tests.

The charger sends exactly what a test tells it to and answers the central system's commands from a table
(``answers``), recording every command it received. Its clock is a ``SiteClock`` on the same virtual
instant as the daemon's, so timestamps in assertions are exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from balanz.clock import SiteClock
from balanz.config.schema import ChargerConfig, Config, CsmsConfig, ServerConfig, StoreConfig, TagConfig
from balanz.csms.tags import format_time
from balanz.daemon import Daemon, build_daemon
from balanz.store import Store
from balanz.wire import OcppConnection, Registry
from balanz.wire.client import open_charger_connection

T0 = datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
COMMANDS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "TriggerMessage",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "UpdateFirmware",
)
DEFAULT_ANSWERS: dict[str, dict[str, Any]] = {
    "UnlockConnector": {"status": "Unlocked"},
    "GetConfiguration": {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "120"}]
    },
    "UpdateFirmware": {},
}


def site_config(tmp_path: Path, **csms: Any) -> Config:
    chargers = (
        ChargerConfig(id="CP1", group="site", alias="Garage", connectors=2),
        ChargerConfig(id="CP2", group="site", alias="Yard"),
        ChargerConfig(id="CP3", group="site", priority=3),
    )
    tags = (
        TagConfig(id="alice", user="Alice", parent="FLEET"),
        TagConfig(id="BOB", user="Bob", parent="fleet", priority=2),
        TagConfig(id="FLEET", user="Fleet card"),
        TagConfig(id="CAROL", user="Carol", status="Blocked"),
        TagConfig(id="DAVE", user="Dave", expires=datetime(2025, 3, 4, 12, 0, tzinfo=UTC)),
    )
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0, charger_stale_s=500, watchdog_interval_s=100),
        csms=dataclasses.replace(CsmsConfig(), **csms),
        store=StoreConfig(path=str(tmp_path / "state" / "balanz.sqlite")),
        charger=chargers,
        tag=tags,
    )


@dataclass
class RunningDaemon:
    daemon: Daemon
    store: Store
    done: trio.Event

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.daemon.server.port}"

    @property
    def csms(self) -> Any:
        assert self.daemon.csms is not None
        return self.daemon.csms

    async def stop(self) -> None:
        self.daemon.request_shutdown()
        await self.done.wait()


async def start_daemon(
    nursery: trio.Nursery, config: Config, clock: SiteClock, *, follow_wall_clock: bool = False
) -> RunningDaemon:
    store = Store(config.store.path)
    daemon = build_daemon(config, store=store, clock=clock, follow_wall_clock=follow_wall_clock)
    done = trio.Event()

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await daemon.run(task_status=task_status)
        finally:
            done.set()

    await nursery.start(run)
    return RunningDaemon(daemon, store, done)


@dataclass
class ScriptedCharger:
    conn: OcppConnection
    clock: SiteClock
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def stamp(self, at: datetime | None = None) -> str:
        return format_time(at or self.clock.now())

    async def send(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.conn.call_raw(action, payload)

    async def boot(
        self, vendor: str = "ACME", model: str = "Wallbox", firmware: str = "1.0"
    ) -> dict[str, Any]:
        return await self.send(
            "BootNotification",
            {"chargePointVendor": vendor, "chargePointModel": model, "firmwareVersion": firmware},
        )

    async def status(self, connector: int, status: str, error: str = "NoError") -> dict[str, Any]:
        return await self.send(
            "StatusNotification",
            {"connectorId": connector, "status": status, "errorCode": error, "timestamp": self.stamp()},
        )

    async def authorize(self, tag: str) -> dict[str, Any]:
        return (await self.send("Authorize", {"idTag": tag}))["idTagInfo"]

    async def start(
        self, connector: int, tag: str, meter_start: int, at: datetime | None = None
    ) -> dict[str, Any]:
        return await self.send(
            "StartTransaction",
            {"connectorId": connector, "idTag": tag, "meterStart": meter_start, "timestamp": self.stamp(at)},
        )

    async def meter(
        self, connector: int, transaction_id: int | None, register_wh: float, amps: float, offered: float = 16
    ) -> dict[str, Any]:
        sampled = [
            {"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            *(
                {"value": str(amps), "measurand": "Current.Import", "phase": p, "unit": "A"}
                for p in ("L1", "L2", "L3")
            ),
            {"value": str(offered), "measurand": "Current.Offered", "unit": "A"},
        ]
        payload: dict[str, Any] = {
            "connectorId": connector,
            "meterValue": [{"timestamp": self.stamp(), "sampledValue": sampled}],
        }
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        return await self.send("MeterValues", payload)

    async def stop(
        self,
        transaction_id: int,
        meter_stop: int,
        reason: str = "Local",
        tag: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        payload = {
            "transactionId": transaction_id,
            "meterStop": meter_stop,
            "timestamp": self.stamp(),
            "reason": reason,
        }
        if tag is not None:
            payload["idTag"] = tag
        return await self.send("StopTransaction", {**payload, **extra})


def charger_registry(received: list[tuple[str, dict[str, Any]]], answers: dict[str, Any]) -> Registry:
    registry = Registry()

    def answer(action: str) -> Callable[..., Any]:
        async def handle(conn: OcppConnection, **payload: Any) -> dict[str, Any]:
            received.append((action, payload))
            reply = answers.get(action, DEFAULT_ANSWERS.get(action, {"status": "Accepted"}))
            if reply == "hang":
                await trio.sleep_forever()
            return reply

        return handle

    for action in COMMANDS:
        if answers.get(action) != "unsupported":
            registry.add(action, answer(action))
    return registry


@asynccontextmanager
async def scripted_charger(
    url: str, charger_id: str, clock: SiteClock, *, password: str | None = None, **answers: Any
) -> AsyncIterator[ScriptedCharger]:
    """Connect as ``charger_id``; ``answers`` overrides what it answers per command (``"hang"``: never,
    ``"unsupported"``: no handler, so the wire layer answers NotSupported)."""
    received: list[tuple[str, dict[str, Any]]] = []
    async with open_charger_connection(
        url, charger_id, charger_registry(received, answers), password=password
    ) as conn:
        yield ScriptedCharger(conn, clock, received)
