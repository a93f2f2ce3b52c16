"""config.md §3.1: included files, and paths resolved against the file that names them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

RR1 = """
[[group]]
id = "RR1"
max_allocation = "00:00-23:59>0=24:3=40:5=48"

[[charger]]
id = "TACW224377G584"
alias = "RR1-01"
group = "RR1"
"""


def test_include_globs_are_relative_to_the_main_file(site):
    site.write("conf/sites/rr1.toml", RR1)
    site.write("conf/sites/rr2.toml", '[[group]]\nid = "RR2"\nmax_allocation = "48"')
    site.write("conf/balanz.toml", '[model]\ninclude = ["sites/*.toml"]')
    from balanz.config.loader import load_config

    config = load_config("conf/balanz.toml").config
    assert [g.id for g in config.group] == ["RR1", "RR2"]
    assert config.charger[0].group == "RR1"


def test_include_may_hold_only_entity_arrays(site):
    site.write("sites/rr1.toml", "[server]\nport = 1\n" + RR1)
    errors = site.errors('[model]\ninclude = ["sites/*.toml"]')
    assert errors == [
        "sites/rr1.toml: server: settings sections are allowed only in the main file; an included file holds "
        "only group, charger, tag and firmware arrays"
    ]


def test_problems_in_an_included_file_name_that_file(site):
    site.write("sites/rr1.toml", RR1.replace('group = "RR1"', 'group = "RR9"'))
    errors = site.errors('[model]\ninclude = ["sites/*.toml"]\n[[group]]\nid = "Default"')
    assert errors == [
        'sites/rr1.toml: charger[1] "TACW224377G584".group: unknown group "RR9" (known: Default, RR1)'
    ]


def test_duplicate_ids_across_files_name_both_files(site):
    site.write("sites/rr1.toml", RR1)
    errors = site.errors('[model]\ninclude = ["sites/*.toml"]\n[[group]]\nid = "RR1"\nmax_allocation = "32"')
    assert errors == [
        'sites/rr1.toml: group "RR1".id: duplicate group id; first defined in balanz.toml (group[1])'
    ]


def test_include_pattern_matching_nothing_is_a_warning(site):
    assert site.warnings('[model]\ninclude = ["sites/*.toml"]') == [
        'balanz.toml: model.include: warning: pattern matches no file; got "sites/*.toml"'
    ]


def test_syntax_error_in_include_names_the_include(site):
    site.write("sites/bad.toml", "[[group]\nid = 1")
    errors = site.errors('[model]\ninclude = ["sites/*.toml"]')
    assert len(errors) == 1
    assert errors[0].startswith("sites/bad.toml: line 1, column ")


def test_a_file_matched_twice_is_read_once(site):
    site.write("sites/rr1.toml", RR1)
    config = site.load('[model]\ninclude = ["sites/*.toml", "sites/rr1.toml"]').config
    assert len(config.group) == 1


@pytest.mark.all_keys_supported
def test_paths_are_relative_to_the_file_naming_them(site):
    site.write(
        "conf/balanz.toml",
        '[store]\npath = "state/b.sqlite"\n[logging]\nfile = "../log/balanz.log"\n'
        '[monitor]\nreadonly_socket = "ro.sock"',
    )
    from balanz.config.loader import load_config

    config = load_config("conf/balanz.toml").config
    conf = os.path.join(site.root, "conf")
    assert config.store.path == os.path.join(conf, "state", "b.sqlite")
    assert config.logging.file == os.path.join(site.root, "log", "balanz.log")
    assert config.monitor.readonly_socket == os.path.join(conf, "ro.sock")


def test_empty_monitor_socket_is_next_to_the_store(site):
    config = site.load('[store]\npath = "data/x.sqlite"').config
    assert config.monitor.socket == os.path.join(site.root, "data", "balanz.sock")


def test_empty_paths_stay_empty(site):
    config = site.load("").config
    assert (config.logging.file, config.server.tls_key, config.lc.upstream_ca_file) == ("", "", "")


@pytest.mark.all_keys_supported
def test_upstream_ca_file_must_exist(site):
    assert site.errors('[lc]\nupstream_ca_file = "ca.pem"') == [
        f'balanz.toml: lc.upstream_ca_file: file not found; got "{os.path.join(site.root, "ca.pem")}"'
    ]


@pytest.mark.all_keys_supported
def test_upstream_ca_file_must_hold_certificates(site):
    site.write("ca.pem", "not a certificate")
    errors = site.errors('[lc]\nupstream_ca_file = "ca.pem"')
    assert len(errors) == 1
    assert errors[0].startswith("balanz.toml: lc.upstream_ca_file: does not load as PEM CA certificates")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test key")
def test_tls_pair_must_load_as_key_and_certificate(site):
    for name in ("a", "b"):
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                f"{name}.key",
                "-out",
                f"{name}.pem",
            ],
            cwd=site.root,
            check=True,
            capture_output=True,
        )
    assert site.errors('[server]\ntls_cert_chain = "a.pem"\ntls_key = "a.key"') == []
    errors = site.errors('[server]\ntls_cert_chain = "a.pem"\ntls_key = "b.key"')
    assert len(errors) == 1
    assert errors[0].startswith(
        "balanz.toml: server.tls_key: the certificate chain and key do not load as a pair"
    )
