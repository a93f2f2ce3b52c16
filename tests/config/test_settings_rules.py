"""config.md §3.2: one case per rule of the ranges and cross-field table, each with the message it gives."""

from __future__ import annotations

import pytest

E, W = "error", "warning"

# (rule, TOML text, severity, expected text of the problem after the file name)
CASES = [
    ("port range", "[server]\nport = 70000", E, "server.port: must be between 0 and 65535; got 70000"),
    ("port negative", "[server]\nport = -1", E, "server.port: must be between 0 and 65535; got -1"),
    (
        "tls pair: key missing",
        '[server]\ntls_cert_chain = "c.pem"',
        E,
        "server.tls_key: server.tls_cert_chain and server.tls_key must be set together",
    ),
    (
        "tls pair: chain missing",
        '[server]\ntls_key = "k.pem"',
        E,
        "server.tls_cert_chain: server.tls_cert_chain and server.tls_key must be set together",
    ),
    (
        "tls files must exist",
        '[server]\ntls_cert_chain = "c.pem"\ntls_key = "k.pem"',
        E,
        "server.tls_cert_chain: file not found",
    ),
    (
        "ping interval low",
        "[server]\nping_interval_s = 0",
        E,
        "server.ping_interval_s: must be between 1 and 600 s; got 0",
    ),
    (
        "ping timeout high",
        "[server]\nping_timeout_s = 601",
        E,
        "server.ping_timeout_s: must be between 1 and 600 s; got 601",
    ),
    (
        "stale vs heartbeat (csms)",
        "[server]\ncharger_stale_s = 120",
        E,
        "server.charger_stale_s: must be > csms.heartbeat_interval_s (120)",
    ),
    (
        "stale vs heartbeat (lc warns)",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "wss://up.example/ocpp/"\n'
        "[server]\ncharger_stale_s = 110\n"
        "watchdog_interval_s = 100\n[csms]\ntransaction_timeout_s = 3600",
        W,
        "server.charger_stale_s: must be > csms.heartbeat_interval_s (120)",
    ),
    (
        "watchdog within stale",
        "[server]\nwatchdog_interval_s = 600",
        E,
        "server.watchdog_interval_s: must be between 1 and server.charger_stale_s (500); got 600",
    ),
    (
        "watchdog positive",
        "[server]\nwatchdog_interval_s = 0",
        E,
        "server.watchdog_interval_s: must be between 1",
    ),
    (
        "call timeout",
        "[server]\ncall_timeout_s = 301",
        E,
        "server.call_timeout_s: must be between 1 and 300 s",
    ),
    (
        "heartbeat range",
        "[csms]\nheartbeat_interval_s = 5",
        E,
        "csms.heartbeat_interval_s: must be between 10 and 86400 s; got 5",
    ),
    (
        "transaction timeout vs stale",
        "[csms]\ntransaction_timeout_s = 400",
        E,
        "csms.transaction_timeout_s: must be ≥ server.charger_stale_s (500); got 400",
    ),
    (
        "transaction check interval",
        "[csms]\ntransaction_check_interval_s = 0",
        E,
        "csms.transaction_check_interval_s: must be between 1 and csms.transaction_timeout_s (3600); got 0",
    ),
    (
        "transaction id start",
        "[csms]\ntransaction_id_start = 0",
        E,
        "csms.transaction_id_start: must be between 1 and 2147483647; got 0",
    ),
    (
        "provision delay",
        "[auth]\nprovision_delay_s = 3601",
        E,
        "auth.provision_delay_s: must be between 0 and 3600 s; got 3601",
    ),
    (
        "key format enum",
        '[auth]\nkey_format = "base64"',
        E,
        'auth.key_format: must be one of "hex", "plain"; got "base64"',
    ),
    ("lc needs upstream url", '[mode]\nkind = "lc"', E, 'lc.upstream_url: required when mode.kind = "lc"'),
    (
        "lc url scheme",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "https://up.example/"',
        E,
        'lc.upstream_url: must be a ws:// or wss:// URL with a host; got "https://up.example/"',
    ),
    (
        "lc url without query",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "wss://up.example/ocpp?x=1"',
        E,
        "lc.upstream_url: must not have a query",
    ),
    (
        "lc keys in csms mode",
        '[lc]\nupstream_down = "disconnect"',
        W,
        'lc: ignored: mode.kind is "csms" (keys set: upstream_down)',
    ),
    (
        "local transaction id base",
        "[lc]\nlocal_transaction_id_base = 2100000000",
        E,
        "lc.local_transaction_id_base: must be ≥ 1 and leave room for 10^8 ids below 2^31",
    ),
    (
        "forward policy warns",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "ws://up.example/"\nserver_charging_call = "forward"',
        W,
        "lc.server_charging_call: upstream profiles reach the chargers",
    ),
    (
        "disconnect policy warns",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "ws://up.example/"\nupstream_down = "disconnect"',
        W,
        "lc.upstream_down: no smart charging while the upstream is down",
    ),
    (
        "reconnect order",
        "[lc]\nreconnect_initial_s = 400",
        E,
        "lc.reconnect_initial_s: must be > 0 and ≤ lc.reconnect_max_s (300); got 400",
    ),
    ("run interval ≥ 1", "[allocator]\nrun_interval_s = 0.5", E, "allocator.run_interval_s: must be ≥ 1 s"),
    (
        "run interval 0 warns",
        "[allocator]\nrun_interval_s = 0\nmin_offer_increase_interval_s = 115",
        W,
        "allocator.run_interval_s: 0 turns periodic allocator runs off",
    ),
    ("debounce > 0", "[allocator]\ndebounce_s = 0", E, "allocator.debounce_s: must be > 0 and ≤ 2 s; got 0"),
    (
        "debounce ≤ 2",
        "[allocator]\ndebounce_s = 2.5",
        E,
        "allocator.debounce_s: must be > 0 and ≤ 2 s; got 2.5",
    ),
    (
        "min allocation range",
        "[allocator]\nmin_allocation_a = 81",
        E,
        "allocator.min_allocation_a: must be between 1 and 80 A; got 81",
    ),
    (
        "min allocation ≠ 6 warns",
        "[allocator]\nmin_allocation_a = 8",
        W,
        "allocator.min_allocation_a: IEC 61851 sets 6 A as the lowest current a car must accept; got 8",
    ),
    (
        "default max ≥ min",
        "[allocator]\ndefault_max_allocation_a = 5",
        E,
        "allocator.default_max_allocation_a: must be ≥ allocator.min_allocation_a (6); got 5",
    ),
    (
        "max offer increase ≥ 1",
        "[allocator]\nmax_offer_increase_a = 0",
        E,
        "allocator.max_offer_increase_a: must be ≥ 1 A; got 0",
    ),
    (
        "margin increase > 0",
        "[allocator]\nmargin_increase_a = 0",
        E,
        "allocator.margin_increase_a: must be > 0",
    ),
    (
        "margin increase ≤ lower",
        "[allocator]\nmargin_increase_a = 0.9",
        E,
        "allocator.margin_increase_a: must be ≤ allocator.margin_lower_a (0.8); got 0.9",
    ),
    (
        "margin lower < min",
        "[allocator]\nmargin_lower_a = 6",
        E,
        "allocator.margin_lower_a: must be < allocator.min_allocation_a (6); got 6",
    ),
    (
        "usage threshold range",
        "[allocator]\nusage_threshold_a = 6",
        E,
        "allocator.usage_threshold_a: must be > 0 and < allocator.min_allocation_a (6); got 6",
    ),
    (
        "offer interval ≥ run interval",
        "[allocator]\nrun_interval_s = 10\nmin_offer_increase_interval_s = 8\n"
        "wait_after_reduce_s = 5\nschedule_lead_s = 60",
        E,
        "allocator.min_offer_increase_interval_s: must be ≥ allocator.run_interval_s (10); got 8",
    ),
    (
        "usage monitoring ≥ 60",
        "[allocator]\nusage_monitoring_interval_s = 59",
        E,
        "allocator.usage_monitoring_interval_s: must be ≥ 60 s; got 59",
    ),
    (
        "suspended timeout ≥ 60",
        "[allocator]\nsuspended_allocation_timeout_s = 59",
        E,
        "allocator.suspended_allocation_timeout_s: must be ≥ 60 s; got 59",
    ),
    (
        "suspended delayed > timeout",
        "[allocator]\nsuspended_delayed_time_s = 300",
        E,
        "allocator.suspended_delayed_time_s: must be > allocator.suspended_allocation_timeout_s (300); "
        "got 300",
    ),
    (
        "suspended delayed not first > timeout",
        "[allocator]\nsuspended_delayed_time_not_first_s = 100",
        E,
        "allocator.suspended_delayed_time_not_first_s: must be > allocator.suspended_allocation_timeout_s",
    ),
    (
        "wait after reduce ≤ 60",
        "[allocator]\nwait_after_reduce_s = 61",
        E,
        "allocator.wait_after_reduce_s: must be between 0 and 60 s and < "
        "allocator.min_offer_increase_interval_s",
    ),
    (
        "wait after reduce < offer interval",
        "[allocator]\nwait_after_reduce_s = 20\nmin_offer_increase_interval_s = 20",
        E,
        "allocator.wait_after_reduce_s: must be between 0 and 60 s and < "
        "allocator.min_offer_increase_interval_s"
        " (20); got 20",
    ),
    (
        "schedule lead ≥ run interval",
        "[allocator]\nschedule_lead_s = 4",
        E,
        "allocator.schedule_lead_s: must be ≥ allocator.run_interval_s (5); got 4",
    ),
    (
        "schedule lead short warns",
        "[allocator]\nschedule_lead_s = 30",
        W,
        "allocator.schedule_lead_s: below allocator.run_interval_s + server.call_timeout_s (35)",
    ),
    (
        "energy threshold ≥ 0",
        "[allocator]\nenergy_threshold_wh = -1",
        E,
        "allocator.energy_threshold_wh: must be ≥ 0 Wh; got -1",
    ),
    ("first wait ≥ 0", "[allocator]\nfirst_wait_s = -1", E, "allocator.first_wait_s: must be ≥ 0 s; got -1"),
    (
        "energy quantum ≥ 1",
        "[allocator]\nfair_share_energy_quantum_wh = 0",
        E,
        "allocator.fair_share_energy_quantum_wh: must be ≥ 1 Wh; got 0",
    ),
    (
        "usage samples ≥ 1",
        "[allocator]\nusage_min_samples = 0",
        E,
        "allocator.usage_min_samples: must be ≥ 1; got 0",
    ),
    (
        "ev cap reprobe ≥ 0",
        "[allocator]\nev_cap_reprobe_s = -5",
        E,
        "allocator.ev_cap_reprobe_s: must be ≥ 0 s; got -5",
    ),
    (
        "offline release warns",
        "[allocator]\noffline_release_after_s = 600",
        W,
        "allocator.offline_release_after_s: assumes that a charger which lost balanz falls back to at most",
    ),
    (
        "offline fallback 0 or ≥ min",
        "[allocator]\noffline_fallback_a = 3",
        E,
        "allocator.offline_fallback_a: must be 0 or ≥ allocator.min_allocation_a (6); got 3",
    ),
    (
        "timezone IANA",
        '[allocator]\ntimezone = "Mars/Olympus"',
        E,
        'allocator.timezone: not a known IANA time zone (e.g. "Europe/Copenhagen"); empty = host zone; '
        'got "Mars/Olympus"',
    ),
    (
        "quota mode enum",
        '[allocator]\nquota_mode = "shared"',
        E,
        'allocator.quota_mode: must be one of "cumulative", "band"; got "shared"',
    ),
    ("profile kind enum", '[profiles]\nkind = "recurring"', E, "profiles.kind: must be one of"),
    (
        "rate unit enum",
        '[profiles]\nrate_unit = "kW"',
        E,
        'profiles.rate_unit: must be one of "auto", "A", "W"',
    ),
    ("strategy enum", '[profiles]\nstrategy = "magic"', E, "profiles.strategy: must be one of"),
    ("station cap enum", '[profiles]\nstation_cap = "on"', E, "profiles.station_cap: must be one of"),
    (
        "id base low",
        "[profiles]\nid_base = 0",
        E,
        "profiles.id_base: must be between 1 and 2147483348; got 0",
    ),
    (
        "id base high",
        "[profiles]\nid_base = 2147483349",
        E,
        "profiles.id_base: must be between 1 and 2147483348",
    ),
    (
        "stack level",
        "[profiles]\nstack_level = 101",
        E,
        "profiles.stack_level: must be between 0 and 100; got 101",
    ),
    (
        "start backdate",
        "[profiles]\nstart_backdate_s = 86401",
        E,
        "profiles.start_backdate_s: must be between 0 and 86400 s",
    ),
    ("voltage", "[profiles]\nvoltage_v = 99", E, "profiles.voltage_v: must be between 100 and 480 V; got 99"),
    (
        "idle limit 0 or ≥ min",
        "[profiles]\nidle_limit_a = 3",
        E,
        "profiles.idle_limit_a: must be 0 or ≥ allocator.min_allocation_a (6); got 3",
    ),
    (
        "verify tolerance > 0",
        "[profiles]\nverify_tolerance_a = 0",
        E,
        "profiles.verify_tolerance_a: must be > 0",
    ),
    (
        "verify failures ≥ 1",
        "[profiles]\nverify_failures_max = 0",
        E,
        "profiles.verify_failures_max: must be ≥ 1; got 0",
    ),
    (
        "retry order",
        "[profiles]\nretry_initial_s = 400",
        E,
        "profiles.retry_initial_s: must be > 0 and ≤ retry_max_s (300); got 400",
    ),
    (
        "min interval ≥ 0",
        "[profiles]\nmin_interval_s = -1",
        E,
        "profiles.min_interval_s: must be ≥ 0 s; got -1",
    ),
    (
        "autoregister group exists",
        "[model]\ncharger_autoregister = true",
        E,
        'model.charger_autoregister_group: no such group; add a [[group]] with this id; got "Default"',
    ),
    (
        "autoregister group not controlled warns",
        '[model]\ncharger_autoregister = true\n[[group]]\nid = "Default"',
        W,
        "model.charger_autoregister_group: group is not controlled",
    ),
    (
        "readonly socket differs",
        '[monitor]\nsocket = "a.sock"\nreadonly_socket = "a.sock"',
        E,
        "monitor.readonly_socket: must differ from monitor.socket",
    ),
    (
        "socket path length",
        f'[monitor]\nsocket = "{"s" * 110}.sock"',
        E,
        "monitor.socket: a Unix socket path may have at most 107 bytes",
    ),
    (
        "log level enum",
        '[logging]\nlevel = "VERBOSE"',
        E,
        'logging.level: must be one of "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"; got "VERBOSE"',
    ),
    (
        "per-logger level enum",
        '[logging.levels]\n"balanz.wire" = "LOUD"',
        E,
        'logging.levels."balanz.wire": must be one of "DEBUG"',
    ),
    (
        "store directory writable",
        '[store]\npath = "afile/balanz.sqlite"',
        E,
        "store.path: the store's directory",
    ),
]


@pytest.mark.parametrize(("rule", "text", "severity", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.all_keys_supported
def test_rule(site, rule, text, severity, expected):
    site.write("afile", "not a directory")
    assert site.reports(text, severity, expected), (rule, site.problems(text))


def test_every_rule_has_a_passing_neighbour(site):
    """The defaults pass every rule: an empty file loads with no problem at all."""
    assert site.problems("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "[server]\nport = 0",
        "[server]\nport = 65535",
        '[allocator]\ntimezone = "Europe/Copenhagen"',
        "[allocator]\nmargin_increase_a = 0.8",
        "[profiles]\nidle_limit_a = 6",
        '[mode]\nkind = "lc"\n[lc]\nupstream_url = "wss://up.example:9043/ocpp/"',
        "[allocator]\nschedule_lead_s = 35",
    ],
)
@pytest.mark.all_keys_supported
def test_boundary_values_are_accepted(site, text):
    assert site.errors(text) == []


def test_error_lists_every_problem_not_only_the_first(site):
    errors = site.errors("[server]\nport = 70000\nping_interval_s = 0\n[allocator]\ndebounce_s = 0")
    assert len(errors) == 3
