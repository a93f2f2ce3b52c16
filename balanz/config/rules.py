"""Range and cross-field rules of the settings sections (config.md §3.2).

Each rule is one ``if`` that names the key and what would be acceptable, because the person reading the
message is editing that key right now.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import urllib.parse
import zoneinfo
from collections.abc import Callable
from typing import Any

from balanz.config import schema
from balanz.config.convert import Reporter
from balanz.config.errors import show_value

INT31 = 2**31 - 1
UNIX_SOCKET_MAX = 107

Report = Callable[..., None]


def between(report: Report, key: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:
        report(key, f"must be between {show_value(low)} and {show_value(high)}{unit}", value)


def at_least(report: Report, key: str, value: float, low: float, unit: str = "") -> None:
    if value < low:
        report(key, f"must be ≥ {show_value(low)}{unit}", value)


def ws_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an upstream CSMS address, or None when it can."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return "must be a ws:// or wss:// URL with a host"
    if parts.query or parts.fragment:
        return "must not have a query (?…) or fragment (#…); the charger id is appended to the path"
    return None


def check_settings(config: schema.Config, rep: Reporter) -> None:
    _server(config, rep)
    _csms_auth(config, rep)
    _lc(config, rep)
    _allocator(config, rep)
    check_profile(config.profiles, config.allocator.min_allocation_a, "profiles", rep.error, set())
    _store_monitor(config, rep)


def _server(config: schema.Config, rep: Reporter) -> None:
    s, err = config.server, rep.error
    between(err, "server.port", s.port, 0, 65535)
    if bool(s.tls_cert_chain) != bool(s.tls_key):
        missing = "server.tls_key" if s.tls_cert_chain else "server.tls_cert_chain"
        err(missing, "server.tls_cert_chain and server.tls_key must be set together (both set: wss)")
    elif (
        s.tls_cert_chain
        and _readable(rep, "server.tls_cert_chain", s.tls_cert_chain)
        and _readable(rep, "server.tls_key", s.tls_key)
    ):
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(s.tls_cert_chain, s.tls_key)
        except (ssl.SSLError, OSError) as exc:
            err("server.tls_key", f"the certificate chain and key do not load as a pair: {exc}")
    between(err, "server.ping_interval_s", s.ping_interval_s, 1, 600, " s")
    between(err, "server.ping_timeout_s", s.ping_timeout_s, 1, 600, " s")
    heartbeat = config.csms.heartbeat_interval_s
    if s.charger_stale_s <= heartbeat:
        message = (
            f"must be > csms.heartbeat_interval_s ({heartbeat}), else healthy chargers are cut off "
            "between two heartbeats"
        )
        if config.mode.kind == "lc":
            rep.warn(
                "server.charger_stale_s",
                message + " (in LC mode the upstream sets the interval)",
                s.charger_stale_s,
            )
        else:
            err("server.charger_stale_s", message, s.charger_stale_s)
    if not 1 <= s.watchdog_interval_s <= s.charger_stale_s:
        err(
            "server.watchdog_interval_s",
            f"must be between 1 and server.charger_stale_s ({show_value(s.charger_stale_s)})",
            s.watchdog_interval_s,
        )
    between(err, "server.call_timeout_s", s.call_timeout_s, 1, 300, " s")


def _csms_auth(config: schema.Config, rep: Reporter) -> None:
    c, err = config.csms, rep.error
    between(err, "csms.heartbeat_interval_s", c.heartbeat_interval_s, 10, 86400, " s")
    if c.transaction_timeout_s < config.server.charger_stale_s:
        err(
            "csms.transaction_timeout_s",
            f"must be ≥ server.charger_stale_s ({show_value(config.server.charger_stale_s)})",
            c.transaction_timeout_s,
        )
    if not 1 <= c.transaction_check_interval_s <= c.transaction_timeout_s:
        err(
            "csms.transaction_check_interval_s",
            f"must be between 1 and csms.transaction_timeout_s ({show_value(c.transaction_timeout_s)})",
            c.transaction_check_interval_s,
        )
    between(err, "csms.transaction_id_start", c.transaction_id_start, 1, INT31)
    between(err, "auth.provision_delay_s", config.auth.provision_delay_s, 0, 3600, " s")


def _lc(config: schema.Config, rep: Reporter) -> None:
    lc, err = config.lc, rep.error
    if config.mode.kind == "lc":
        problem = ws_url_problem(lc.upstream_url) if lc.upstream_url else 'required when mode.kind = "lc"'
        if problem:
            err("lc.upstream_url", problem, *((lc.upstream_url,) if lc.upstream_url else ()))
        if lc.server_charging_call == "forward":
            rep.warn(
                "lc.server_charging_call",
                "upstream profiles reach the chargers and weaken balanz's "
                "control (their limits count as exposure)",
                lc.server_charging_call,
            )
        if lc.upstream_down == "disconnect":
            rep.warn(
                "lc.upstream_down",
                "no smart charging while the upstream is down (chargers are disconnected)",
                lc.upstream_down,
            )
    elif changed := _non_default(lc):
        names = sorted(changed)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        rep.warn("lc", f'ignored: mode.kind is "csms" (keys set: {shown})')
    if lc.local_transaction_id_base < 1 or lc.local_transaction_id_base + 10**8 >= 2**31:
        err(
            "lc.local_transaction_id_base",
            f"must be ≥ 1 and leave room for 10^8 ids below 2^31 (≤ {2**31 - 1 - 10**8})",
            lc.local_transaction_id_base,
        )
    if lc.upstream_ca_file and _readable(rep, "lc.upstream_ca_file", lc.upstream_ca_file):
        try:
            ssl.create_default_context(cafile=lc.upstream_ca_file)
        except (ssl.SSLError, OSError) as exc:
            err("lc.upstream_ca_file", f"does not load as PEM CA certificates: {exc}", lc.upstream_ca_file)
    if not 0 < lc.reconnect_initial_s <= lc.reconnect_max_s:
        err(
            "lc.reconnect_initial_s",
            f"must be > 0 and ≤ lc.reconnect_max_s ({show_value(lc.reconnect_max_s)})",
            lc.reconnect_initial_s,
        )


def _non_default(section: object) -> list[str]:
    """Keys of a settings section whose value differs from the default (what a person actually set)."""
    default = type(section)()
    return [
        f.name for f in dataclasses.fields(section) if getattr(section, f.name) != getattr(default, f.name)
    ]


def _allocator(config: schema.Config, rep: Reporter) -> None:
    a, err = config.allocator, rep.error
    k = "allocator."
    if config.mode.smart_charging and a.run_interval_s != 0 and a.run_interval_s < 1:
        err(
            k + "run_interval_s",
            "must be ≥ 1 s (0 means off, but use mode.smart_charging = false)",
            a.run_interval_s,
        )
    elif a.run_interval_s == 0:
        rep.warn(
            k + "run_interval_s",
            "0 turns periodic allocator runs off; write mode.smart_charging = false instead",
            a.run_interval_s,
        )
    if not 0 < a.debounce_s <= 2:
        err(k + "debounce_s", "must be > 0 and ≤ 2 s", a.debounce_s)
    between(err, k + "min_allocation_a", a.min_allocation_a, 1, 80, " A")
    if a.min_allocation_a != 6:
        rep.warn(
            k + "min_allocation_a",
            "IEC 61851 sets 6 A as the lowest current a car must accept",
            a.min_allocation_a,
        )
    minimum = f"allocator.min_allocation_a ({a.min_allocation_a})"
    if a.default_max_allocation_a < a.min_allocation_a:
        err(k + "default_max_allocation_a", f"must be ≥ {minimum}", a.default_max_allocation_a)
    at_least(err, k + "max_offer_increase_a", a.max_offer_increase_a, 1, " A")
    if a.margin_increase_a <= 0:
        err(k + "margin_increase_a", "must be > 0", a.margin_increase_a)
    elif a.margin_increase_a > a.margin_lower_a:
        err(
            k + "margin_increase_a",
            f"must be ≤ allocator.margin_lower_a ({show_value(a.margin_lower_a)})",
            a.margin_increase_a,
        )
    if a.margin_lower_a >= a.min_allocation_a:
        err(k + "margin_lower_a", f"must be < {minimum}", a.margin_lower_a)
    if not 0 < a.usage_threshold_a < a.min_allocation_a:
        err(k + "usage_threshold_a", f"must be > 0 and < {minimum}", a.usage_threshold_a)
    if a.min_offer_increase_interval_s < a.run_interval_s:
        err(
            k + "min_offer_increase_interval_s",
            f"must be ≥ allocator.run_interval_s ({show_value(a.run_interval_s)})",
            a.min_offer_increase_interval_s,
        )
    at_least(err, k + "usage_monitoring_interval_s", a.usage_monitoring_interval_s, 60, " s")
    at_least(err, k + "suspended_allocation_timeout_s", a.suspended_allocation_timeout_s, 60, " s")
    for name in ("suspended_delayed_time_s", "suspended_delayed_time_not_first_s"):
        if getattr(a, name) <= a.suspended_allocation_timeout_s:
            err(
                k + name,
                "must be > allocator.suspended_allocation_timeout_s "
                f"({show_value(a.suspended_allocation_timeout_s)})",
                getattr(a, name),
            )
    if not 0 <= a.wait_after_reduce_s <= 60 or a.wait_after_reduce_s >= a.min_offer_increase_interval_s:
        err(
            k + "wait_after_reduce_s",
            "must be between 0 and 60 s and < allocator.min_offer_increase_interval_s"
            f" ({show_value(a.min_offer_increase_interval_s)})",
            a.wait_after_reduce_s,
        )
    if a.schedule_lead_s < a.run_interval_s:
        err(
            k + "schedule_lead_s",
            f"must be ≥ allocator.run_interval_s ({show_value(a.run_interval_s)})",
            a.schedule_lead_s,
        )
    elif a.schedule_lead_s < a.run_interval_s + config.server.call_timeout_s:
        rep.warn(
            k + "schedule_lead_s",
            "below allocator.run_interval_s + server.call_timeout_s "
            f"({show_value(a.run_interval_s + config.server.call_timeout_s)}): a reduction may not be "
            "confirmed before a schedule boundary",
            a.schedule_lead_s,
        )
    at_least(err, k + "energy_threshold_wh", a.energy_threshold_wh, 0, " Wh")
    at_least(err, k + "first_wait_s", a.first_wait_s, 0, " s")
    at_least(err, k + "fair_share_energy_quantum_wh", a.fair_share_energy_quantum_wh, 1, " Wh")
    at_least(err, k + "usage_min_samples", a.usage_min_samples, 1)
    at_least(err, k + "ev_cap_reprobe_s", a.ev_cap_reprobe_s, 0, " s")
    at_least(err, k + "offline_release_after_s", a.offline_release_after_s, 0, " s")
    if a.offline_release_after_s > 0:
        rep.warn(
            k + "offline_release_after_s",
            "assumes that a charger which lost balanz falls back to at most "
            f"allocator.offline_fallback_a ({a.offline_fallback_a} A) per connector; check the chargers' "
            "fallback settings",
            a.offline_release_after_s,
        )
    if a.offline_fallback_a != 0 and a.offline_fallback_a < a.min_allocation_a:
        err(k + "offline_fallback_a", f"must be 0 or ≥ {minimum}", a.offline_fallback_a)
    if a.timezone:
        try:
            zoneinfo.ZoneInfo(a.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            err(
                k + "timezone",
                'not a known IANA time zone (e.g. "Europe/Copenhagen"); empty = host zone',
                a.timezone,
            )


def check_profile(
    p: schema.ProfilesConfig, min_allocation_a: int, prefix: str, report: Report, only: set[str]
) -> None:
    """The [profiles] ranges; with ``only`` non-empty, report just rules touching those keys (overrides)."""

    def out(key: str, message: str, *value: Any) -> None:
        if not only or key in only:
            report(f"{prefix}.{key}", message, *value)

    between(out, "id_base", p.id_base, 1, 2**31 - 300)
    between(out, "stack_level", p.stack_level, 0, 100)
    between(out, "start_backdate_s", p.start_backdate_s, 0, 86400, " s")
    between(out, "voltage_v", p.voltage_v, 100, 480, " V")
    if p.idle_limit_a != 0 and p.idle_limit_a < min_allocation_a:
        out("idle_limit_a", f"must be 0 or ≥ allocator.min_allocation_a ({min_allocation_a})", p.idle_limit_a)
    if p.verify_tolerance_a <= 0:
        out("verify_tolerance_a", "must be > 0", p.verify_tolerance_a)
    at_least(out, "verify_failures_max", p.verify_failures_max, 1)
    if p.retry_initial_s > p.retry_max_s or p.retry_initial_s <= 0:
        message = f"must be > 0 and ≤ retry_max_s ({show_value(p.retry_max_s)})"
        if only and "retry_max_s" in only and "retry_initial_s" not in only:
            out("retry_max_s", f"must be ≥ retry_initial_s ({show_value(p.retry_initial_s)})", p.retry_max_s)
        else:
            out("retry_initial_s", message, p.retry_initial_s)
    at_least(out, "min_interval_s", p.min_interval_s, 0, " s")


def _store_monitor(config: schema.Config, rep: Reporter) -> None:
    store_dir = os.path.dirname(config.store.path) or "."
    existing = store_dir
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        rep.error(
            "store.path",
            f"the store's directory {store_dir} is not writable (nor creatable)",
            config.store.path,
        )
    m = config.monitor
    for key, path in (("monitor.socket", m.socket), ("monitor.readonly_socket", m.readonly_socket)):
        if len(os.fsencode(path)) > UNIX_SOCKET_MAX:
            rep.error(
                key,
                f"a Unix socket path may have at most {UNIX_SOCKET_MAX} bytes; choose a shorter "
                f"path (it has {len(os.fsencode(path))})",
                path,
            )
    if m.readonly_socket and m.readonly_socket == m.socket:
        rep.error("monitor.readonly_socket", "must differ from monitor.socket", m.readonly_socket)


def _readable(rep: Reporter, key: str, path: str) -> bool:
    if not os.path.isfile(path):
        rep.error(key, "file not found", path)
        return False
    if not os.access(path, os.R_OK):
        rep.error(key, "file not readable by this user", path)
        return False
    return True
