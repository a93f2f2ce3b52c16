"""plan_reload (config.md §4): errors change nothing, restart-only keys wait, and the diff reads well."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.config.errors import ConfigError, show_value
from balanz.config.loader import LoadedConfig, load_config
from balanz.config.reload import ChargerMove, EntityChange, SettingChange, plan_reload

BASE = """
[server]
port = 9000

[allocator]
run_interval_s = 5

[[group]]
id = "Site"
max_allocation = "63"

[[group]]
id = "Staff"
parent = "Site"
max_allocation = "32"

[[charger]]
id = "CP1"
group = "Staff"

[[charger]]
id = "CP2"
group = "Staff"

[[tag]]
id = "ANNA"
priority = 3
"""

LC = """
[mode]
kind = "lc"

[lc]
upstream_url = "ws://upstream.example/ocpp/"
charger_auth = "passthrough"

[[group]]
id = "Site"
max_allocation = "63"

[[charger]]
id = "CP1"
group = "Site"
"""


def result(site, text: str) -> LoadedConfig | ConfigError:
    try:
        return site.load(text)
    except ConfigError as exc:
        return exc


def plan_for(site, old: str, new: str):
    running = site.load(old).config
    return running, plan_reload(running, result(site, new))


def test_errors_change_nothing(site):
    running, plan = plan_for(site, BASE, BASE.replace('max_allocation = "32"', 'max_allocation = "lots"'))
    assert not plan.applied
    assert plan.config is running
    assert plan.errors
    assert all(p.is_error for p in plan.errors)
    assert plan.describe()[0].startswith('balanz.toml: group "Staff".max_allocation')
    assert (plan.settings, plan.entities, plan.removed_chargers, plan.moved_chargers) == ((), (), (), ())
    assert not plan.changed


def test_errors_keep_their_warnings_apart(site):
    text = BASE.replace("[server]", '[model]\ninclude = ["none/*.toml"]\n\n[server]').replace(
        "port = 9000", "port = -1"
    )
    _, plan = plan_for(site, BASE, text)
    assert not plan.applied
    assert [p.key for p in plan.errors] == ["server.port"]
    assert [p.key for p in plan.warnings] == ["model.include"]
    assert plan.describe() == [str(plan.errors[0])]


def test_unreadable_file_changes_nothing(site):
    running = site.load(BASE).config
    plan = plan_reload(running, result(site, "[server\n"))
    assert not plan.applied
    assert plan.config is running
    assert "invalid TOML" in plan.describe()[0]


def test_same_file_no_changes(site):
    running, plan = plan_for(site, BASE, BASE)
    assert plan.applied
    assert not plan.changed
    assert plan.config == running
    assert plan.describe() == ["no changes"]


def test_live_setting_applies(site):
    _, plan = plan_for(site, BASE, BASE.replace("run_interval_s = 5", "run_interval_s = 10"))
    assert plan.applied
    assert plan.changed
    assert plan.config.allocator.run_interval_s == 10
    assert plan.settings == (SettingChange("allocator.run_interval_s", 5, 10),)
    assert plan.describe() == ["allocator.run_interval_s: 5 → 10"]


@pytest.mark.parametrize(
    ("edit", "key", "old", "new"),
    [
        (("[server]\n", "[mode]\nsmart_charging = false\n\n[server]\n"), "mode.smart_charging", True, False),
        (("port = 9000", "port = 9001"), "server.port", 9000, 9001),
        (
            ("[allocator]", '[monitor]\nreadonly_group = "ops"\n\n[allocator]'),
            "monitor.readonly_group",
            "",
            "ops",
        ),
    ],
)
def test_restart_only_keys_keep_running_values(site, edit, key, old, new):
    _, plan = plan_for(site, BASE, BASE.replace(*edit).replace("run_interval_s = 5", "run_interval_s = 7"))
    assert plan.applied
    section, name = key.split(".")
    assert getattr(getattr(plan.config, section), name) == old
    assert plan.config.allocator.run_interval_s == 7
    assert plan.restart_pending == (SettingChange(key, old, new, needs_restart=True),)
    assert plan.describe() == [
        "allocator.run_interval_s: 5 → 7",
        f"{key}: {show_value(old)} → {show_value(new)} (changed, takes effect after restart)",
    ]


def test_store_path_change_waits_with_its_derived_socket(site):
    running, plan = plan_for(site, BASE, BASE + '\n[store]\npath = "other/balanz.sqlite"\n')
    assert plan.config.store == running.store
    assert plan.config.monitor == running.monitor
    assert {c.key for c in plan.restart_pending} == {"store.path", "monitor.socket"}
    assert not plan.changed


def test_only_restart_changes_is_not_a_change(site):
    _, plan = plan_for(site, BASE, BASE.replace("port = 9000", "port = 9001"))
    assert plan.applied
    assert not plan.changed
    assert plan.describe() == ["server.port: 9000 → 9001 (changed, takes effect after restart)"]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (('"ws://upstream.example/ocpp/"', '"wss://other.example/ocpp/"'), "lc.upstream_url"),
        (('kind = "lc"', 'kind = "csms"'), "mode.kind"),
    ],
)
def test_lc_restart_keys(site, edit, key):
    running, plan = plan_for(site, LC, LC.replace(*edit).replace("[lc]", "[lc]\nconnect_timeout_s = 20"))
    assert plan.applied
    assert plan.config.lc.upstream_url == running.lc.upstream_url
    assert plan.config.mode == running.mode
    assert plan.config.lc.connect_timeout_s == 20
    assert [c.key for c in plan.restart_pending] == [key]


def test_charger_auth_is_restart_only_and_the_combination_is_checked(site):
    new = LC.replace('charger_auth = "passthrough"', 'charger_auth = "local"') + (
        'lc = { upstream_password = "0123456789abcdef" }\n'
    )
    running, plan = plan_for(site, LC, new)
    assert not plan.applied
    assert plan.config is running
    (error,) = plan.errors
    assert error.file == str(site.root / "balanz.toml")
    assert str(error).endswith(
        ': charger[1] "CP1".lc.upstream_password: with the restart-only keys kept at their running values: '
        'only used with lc.charger_auth = "local"; remove it or set that'
    )
    _, plan = plan_for(site, LC, LC.replace('charger_auth = "passthrough"', 'charger_auth = "local"'))
    assert plan.applied
    assert plan.config.lc.charger_auth == "passthrough"
    assert [str(c) for c in plan.restart_pending] == [
        'lc.charger_auth: "passthrough" → "local" (changed, takes effect after restart)'
    ]


def test_entity_diff_removed_moved_added_changed(site):
    new = (
        BASE.replace('[[charger]]\nid = "CP2"\ngroup = "Staff"\n', "")
        .replace('id = "CP1"\ngroup = "Staff"', 'id = "CP1"\ngroup = "Site"\nmax_current_a = 16')
        .replace("priority = 3", "priority = 5")
        .replace('max_allocation = "32"', 'max_allocation = "Mon-Fri 07:00-17:59>0=16; *>0=32"')
        + '\n[[charger]]\nid = "CP3"\ngroup = "Staff"\n\n[[tag]]\nid = "ben"\n'
        + '\n[[firmware]]\nfirmware_id = "fw1"\nurl = "https://example.org/fw1.bin"\n'
    )
    _, plan = plan_for(site, BASE, new)
    assert plan.applied
    assert plan.removed_chargers == ("CP2",)
    assert plan.moved_chargers == (ChargerMove("CP1", "Staff", "Site"),)
    assert plan.entities == (
        EntityChange(
            "group",
            "Staff",
            "changed",
            (SettingChange("max_allocation", "32", "Mon-Fri 07:00-17:59>0=16; *>0=32"),),
        ),
        EntityChange("charger", "CP2", "removed"),
        EntityChange("charger", "CP3", "added"),
        EntityChange(
            "charger",
            "CP1",
            "changed",
            (SettingChange("group", "Staff", "Site"), SettingChange("max_current_a", None, 16)),
        ),
        EntityChange("tag", "BEN", "added"),
        EntityChange("tag", "ANNA", "changed", (SettingChange("priority", 3, 5),)),
        EntityChange("firmware", "fw1", "added"),
    )
    assert plan.describe() == [
        'group "Staff": max_allocation: "32" → "Mon-Fri 07:00-17:59>0=16; *>0=32"',
        'charger "CP2": removed',
        'charger "CP3": added',
        'charger "CP1": group: "Staff" → "Site"; max_current_a: (unset) → 16',
        'tag "BEN": added',
        'tag "ANNA": priority: 3 → 5',
        'firmware "fw1": added',
    ]
    assert plan.config.charger[0].group == "Site"


def test_removed_group_and_nested_tables(site):
    new = (
        BASE.replace('parent = "Site"\n', "").replace('[[group]]\nid = "Site"\nmax_allocation = "63"\n', "")
        + '\n[[group.slot]]\ntime = "*"\nquotas = { 0 = 20 }\n'
    )
    new = new.replace('max_allocation = "32"\n', "")
    _, plan = plan_for(site, BASE, new)
    assert plan.applied, plan.describe()
    assert EntityChange("group", "Site", "removed") in plan.entities
    (staff,) = [e for e in plan.entities if e.id == "Staff"]
    assert str(staff) == (
        'group "Staff": parent: "Site" → (unset); max_allocation: "32" → (unset); '
        'slot: (unset) → [{ time = "*", quotas = { 0 = 20 }, days = "" }]'
    )


def test_logger_levels_are_quoted_and_passwords_hidden(site):
    old = LC.replace('charger_auth = "passthrough"', 'charger_auth = "local"') + (
        'lc = { upstream_password = "0123456789abcdef" }\n'
    )
    new = (
        old.replace("0123456789abcdef", "fedcba9876543210") + '\n[logging.levels]\n"balanz.wire" = "DEBUG"\n'
    )
    _, plan = plan_for(site, old, new)
    assert plan.applied
    assert plan.describe() == [
        'logging.levels.ocpp: "WARNING" → (unset)',
        'logging.levels."balanz.wire": (unset) → "DEBUG"',
        'charger "CP1": lc.upstream_password: changed (value not shown)',
    ]
    assert "fedcba" not in " ".join(plan.describe())


def test_include_patterns_and_warnings_are_reported(site):
    site.write("more.toml", '[[tag]]\nid = "EXTRA"\n')
    new = BASE.replace("[server]", '[model]\ninclude = ["more.toml", "none/*.toml"]\n\n[server]')
    _, plan = plan_for(site, BASE, new)
    assert plan.applied
    assert plan.settings == (SettingChange("model.include", [], ["more.toml", "none/*.toml"]),)
    assert plan.entities == (EntityChange("tag", "EXTRA", "added"),)
    assert plan.warnings
    assert plan.describe()[-1] == (
        'balanz.toml: model.include: warning: pattern matches no file; got "none/*.toml"'
    )


def test_reload_from_the_file_loader_directly(site):
    path = site.write("balanz.toml", BASE)
    running = load_config(path).config
    path.write_text(BASE.replace("priority = 3", "priority = 4"), encoding="utf-8")
    plan = plan_reload(running, load_config(path))
    assert plan.describe() == ['tag "ANNA": priority: 3 → 4']


EDITS = [
    ("port = 9000", "port = 9100"),
    ("run_interval_s = 5", "run_interval_s = 9"),
    ('id = "CP2"\ngroup = "Staff"', 'id = "CP2"\ngroup = "Site"'),
    ('[[charger]]\nid = "CP1"\ngroup = "Staff"\n', ""),
    ("priority = 3", "priority = 0"),
    ('max_allocation = "63"', 'max_allocation = "50"'),
    ("[allocator]", '[store]\npath = "elsewhere/b.sqlite"\n\n[allocator]'),
    ("[allocator]", "[mode]\nsmart_charging = false\n\n[allocator]"),
    ("[allocator]", '[logging]\nlevel = "DEBUG"\n\n[allocator]'),
    ("[allocator]", '[lc]\nupstream_url = "ws://x.example/"\n\n[allocator]'),
]


def edited(chosen: set[int], base: str = BASE) -> str:
    for index in sorted(chosen):
        base = base.replace(*EDITS[index])
    return base


@settings(max_examples=150)
@given(st.sets(st.integers(0, len(EDITS) - 1)), st.sets(st.integers(0, len(EDITS) - 1)))
def test_plan_invariants(before, after):
    with tempfile.TemporaryDirectory() as directory:
        old_file, new_file = Path(directory, "old.toml"), Path(directory, "new.toml")
        old_file.write_text(edited(before), encoding="utf-8")
        new_file.write_text(edited(after), encoding="utf-8")
        running = load_config(old_file).config
        loaded = load_config(new_file)
    plan = plan_reload(running, loaded)
    assert plan.applied
    new = loaded.config
    for name in ("mode", "server", "store", "monitor"):
        assert getattr(plan.config, name) == getattr(running, name)
    assert (plan.config.lc.upstream_url, plan.config.lc.charger_auth) == (
        running.lc.upstream_url,
        running.lc.charger_auth,
    )
    for name in ("allocator", "profiles", "logging", "csms", "auth", "history", "group", "charger", "tag"):
        assert getattr(plan.config, name) == getattr(new, name)
    assert set(plan.removed_chargers) == {c.id for c in running.charger} - {c.id for c in new.charger}
    assert plan.changed == (
        any(
            getattr(running, n) != getattr(new, n)
            for n in ("allocator", "logging", "group", "charger", "tag")
        )
        or running.lc != dataclasses.replace(new.lc, upstream_url=running.lc.upstream_url)
    )
    # Reloading the same file again changes nothing more; what waits for a restart still waits.
    again = plan_reload(plan.config, loaded)
    assert not again.changed
    assert again.config == plan.config
    assert again.restart_pending == plan.restart_pending
