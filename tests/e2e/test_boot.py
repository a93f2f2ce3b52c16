"""A charger boots, heartbeats and reports status over a real socket."""

from __future__ import annotations

import trio
from ocpp.v16 import call
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, RegistrationStatus

from balanz.wire.client import open_charger_connection


async def test_boot_heartbeat_status_round_trip(site, autojump_clock):
    async with open_charger_connection(site.url, "CP1") as conn:
        boot = await conn.call(
            call.BootNotification(
                charge_point_vendor="Acme",
                charge_point_model="Wallbox 22",
                charge_point_serial_number="SN-7",
                firmware_version="1.2.3",
            )
        )
        assert boot.status == RegistrationStatus.accepted
        assert boot.interval == site.server.config.csms.heartbeat_interval_s
        await trio.sleep(boot.interval)
        beat = await conn.call(call.Heartbeat())
        assert beat.current_time.endswith("Z")
        await conn.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=ChargePointStatus.charging
            )
        )
    identity = site.core.chargers["CP1"]
    assert (identity.vendor, identity.model, identity.serial, identity.firmware) == (
        "Acme",
        "Wallbox 22",
        "SN-7",
        "1.2.3",
    )
    assert site.core.statuses[("CP1", 1)].status == "Charging"


async def test_charger_may_skip_boot_on_reconnect(site, autojump_clock):
    async with open_charger_connection(site.url, "CP2") as conn:
        beat = await conn.call(call.Heartbeat())
    assert beat.current_time
    assert "CP2" not in site.core.chargers
