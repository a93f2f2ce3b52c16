"""Operator commands against a scripted charger: the answer verbatim, or a typed error."""

from __future__ import annotations

import dataclasses

import pytest
import trio

from balanz.clock import SiteClock
from balanz.config.schema import FirmwareConfig
from balanz.csms.operator import ChargerFailed, ChargerOffline, ChargerTimeout, CommandRefused

from .csms_charger import T0, scripted_charger, site_config, start_daemon

FIRMWARE = (
    FirmwareConfig(firmware_id="wb-2", url="https://fw.example/wb-2.bin", charge_point_vendor="AC.*",
                   charge_point_model="Wallbox", firmware_version="2.0", upgrade_from_versions="1\\..*"),
    FirmwareConfig(firmware_id="other", url="https://fw.example/o.bin", charge_point_vendor="Other"),
)  # fmt: skip


@pytest.fixture
async def site(nursery, tmp_path):
    config = site_config(tmp_path)
    config = dataclasses.replace(
        config,
        firmware=FIRMWARE,
        server=dataclasses.replace(config.server, ping_interval_s=0, call_timeout_s=30),
    )
    clock = SiteClock(T0)
    daemon = await start_daemon(nursery, config, clock)
    return daemon, clock


async def test_each_command_returns_the_charger_answer(autojump_clock, site):
    daemon, clock = site
    op = daemon.csms.operator
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        await cp1.boot()
        assert (await op.unlock("CP1", 2)).answer == {"status": "Unlocked"}
        assert (await op.change_availability("CP1", 0, operative=False)).status == "Accepted"
        assert (await op.trigger("CP1", "StatusNotification", 1)).status == "Accepted"
        config = await op.get_configuration("CP1", ["HeartbeatInterval"])
        assert config.answer["configurationKey"][0]["value"] == "120"
        assert (await op.change_configuration("CP1", "MeterValueSampleInterval", "60")).status == "Accepted"
        assert (await op.clear_cache("CP1")).status == "Accepted"
        assert (await op.reset("CP1", "soft")).status == "Accepted"
        assert [f.firmware_id for f in op.firmware_options("CP1")] == ["wb-2"]
        assert (await op.update_firmware("CP1", "wb-2", retries=3)).answer == {}
        assert [a for a, _ in cp1.received] == [
            "UnlockConnector",
            "ChangeAvailability",
            "TriggerMessage",
            "GetConfiguration",
            "ChangeConfiguration",
            "ClearCache",
            "Reset",
            "UpdateFirmware",
        ]
        assert cp1.received[-1][1] == {
            "location": "https://fw.example/wb-2.bin",
            "retrieve_date": cp1.received[-1][1]["retrieve_date"],
            "retries": 3,
        }
        assert cp1.received[-1][1]["retrieve_date"].endswith("Z")


async def test_invalid_requests_are_refused_before_sending(autojump_clock, site):
    daemon, clock = site
    op = daemon.csms.operator
    async with scripted_charger(daemon.url, "CP1", clock) as cp1:
        await cp1.boot()
        with pytest.raises(CommandRefused, match="AuthorizationKey"):
            await op.change_configuration("CP1", "AuthorizationKey", "secret")
        with pytest.raises(CommandRefused, match="errata"):
            await op.trigger("CP1", "BootNotification")
        with pytest.raises(CommandRefused, match="connector 7"):
            await op.unlock("CP1", 7)
        with pytest.raises(CommandRefused, match="0 open transactions"):
            await op.remote_stop("CP1", 1)
        with pytest.raises(CommandRefused, match="does not fit"):
            await op.update_firmware("CP1", "other")
        with pytest.raises(CommandRefused, match="unknown charger"):
            await op.reset("NOPE")
        with pytest.raises(CommandRefused, match="soft or hard"):
            await op.reset("CP1", "gentle")
        assert cp1.received == []


async def test_offline_timeout_and_call_error_are_typed(autojump_clock, site):
    daemon, clock = site
    op = daemon.csms.operator
    with pytest.raises(ChargerOffline):
        await op.reset("CP2")
    async with scripted_charger(daemon.url, "CP2", clock, Reset="hang", ClearCache="unsupported") as cp2:
        await cp2.boot()
        with pytest.raises(ChargerFailed) as failed:
            await op.clear_cache("CP2")
        assert failed.value.code == "NotSupported"
        assert (await op.remote_start("CP2", "alice")).status == "Accepted"
        sent = trio.current_time()
        with pytest.raises(ChargerTimeout, match="30 s"):
            await op.reset("CP2", "hard")
        assert trio.current_time() - sent == pytest.approx(30, abs=0.1)
