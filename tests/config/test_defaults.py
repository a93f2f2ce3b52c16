"""The built-in configuration (`balanz run` without -c) and the --host/--port/--data-dir overrides."""

from __future__ import annotations

import os

import pytest

from balanz.config.dump import dump_config
from balanz.config.errors import ConfigError
from balanz.config.loader import apply_overrides, default_config, load_config


def test_default_config_is_a_loopback_csms_with_one_controlled_group(tmp_path):
    config = default_config(tmp_path)
    assert (config.mode.kind, config.mode.smart_charging) == ("csms", True)
    assert (config.server.host, config.server.port, config.auth.http_basic) == ("127.0.0.1", 9999, False)
    assert [(g.id, g.max_allocation) for g in config.group] == [("site", "32")]
    assert (config.model.charger_autoregister, config.model.charger_autoregister_group) == (True, "site")
    assert config.csms.unknown_tags == "accept_and_register"
    assert config.store.path == os.path.join(tmp_path, "balanz-data", "balanz.sqlite")
    assert config.monitor.socket == os.path.join(tmp_path, "balanz-data", "balanz.sock")


def test_default_config_passes_validation_as_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "default.toml"
    path.write_text(dump_config(default_config()))
    loaded = load_config(path)
    assert loaded.warnings == ()
    assert loaded.config.group == default_config().group


def test_default_config_refuses_an_unusable_data_directory(tmp_path):
    (tmp_path / "balanz-data").write_text("a file where the directory should be")
    with pytest.raises(ConfigError) as exc:
        default_config(tmp_path)
    assert str(exc.value.problems[0]).startswith("<built-in default>: store.path: the store's directory")


def test_overrides_replace_host_port_and_data_dir(tmp_path):
    config = apply_overrides(default_config(tmp_path), host="0.0.0.0", port=0, data_dir=tmp_path / "d")
    assert (config.server.host, config.server.port) == ("0.0.0.0", 0)
    assert config.store.path == os.path.join(tmp_path, "d", "balanz.sqlite")
    assert config.monitor.socket == os.path.join(tmp_path, "d", "balanz.sock")


def test_data_dir_keeps_an_explicit_socket(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_text('[monitor]\nsocket = "/run/balanz/ctl.sock"')
    config = apply_overrides(load_config(tmp_path / "b.toml").config, data_dir=tmp_path / "d")
    assert config.monitor.socket == "/run/balanz/ctl.sock"
    assert config.store.path == os.path.join(tmp_path, "d", "balanz.sqlite")


def test_no_overrides_change_nothing(tmp_path):
    config = default_config(tmp_path)
    assert apply_overrides(config) == config


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"port": 70000}, "balanz run: --port: must be between 0 and 65535; got 70000"),
        (
            {"data_dir": "/" + "d" * 120},
            "balanz run: --data-dir: the monitor socket path would exceed 107 bytes",
        ),
    ],
)
def test_bad_overrides_are_config_errors(tmp_path, kwargs, expected):
    with pytest.raises(ConfigError) as exc:
        apply_overrides(default_config(tmp_path), **kwargs)
    assert str(exc.value.problems[0]).startswith(expected)
