"""Facts about individual keys that the dataclass types cannot express: enum spellings, retired keys, path
keys, and keys named by the spec whose behaviour is not implemented yet.

Kept apart from ``schema.py`` so that the schema stays a plain list of fields other modules read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Allowed spellings, canonical form first-class: input is matched case-insensitively, stored as written here.
ENUMS: dict[str, tuple[str, ...]] = {
    "mode.kind": ("csms", "lc"),
    "auth.key_format": ("hex", "plain"),
    "csms.unknown_tags": ("reject", "accept", "accept_and_register"),
    "lc.server_charging_call": ("accept", "reject", "forward", "cap"),
    "lc.charger_auth": ("passthrough", "local"),
    "lc.upstream_down": ("island", "disconnect"),
    "lc.offline_authorization": ("cache", "local_only", "accept_all"),
    "allocator.quota_mode": ("cumulative", "band"),
    "profiles.kind": ("absolute", "relative"),
    "profiles.rate_unit": ("auto", "A", "W"),
    "profiles.strategy": ("auto", "tx", "default_only", "off"),
    "profiles.station_cap": ("off", "charger_max"),
    "logging.level": LOG_LEVELS,
    "tag.status": ("Activated", "Blocked"),
}

# The reference ini's spellings of lc.server_charging_call, still understood (config.md §1 [ext-server]).
REFERENCE_SPELLINGS: dict[str, dict[str, str]] = {
    "lc.server_charging_call": {"accepted": "accept", "rejected": "reject"},
}

RETIRED: dict[str, str] = {
    "allocator.intervals_full": (
        "retired key: allocator runs are event-driven and every run is a full run (allocation.md R3); "
        "remove it"
    ),
}

# Keys whose value is a path, resolved relative to the directory of the file that names them.
PATH_KEYS = frozenset(
    {
        "server.tls_cert_chain",
        "server.tls_key",
        "lc.upstream_ca_file",
        "store.path",
        "logging.file",
        "monitor.socket",
        "monitor.readonly_socket",
    }
)

# Keys of config.md §2 that balanz does not act on yet, each with the reason shown to the person whose file
# sets it. A key listed here is refused with "not supported yet" whatever its value, because a site file that
# sets a key expects an effect; its default stays in schema.py (the public interface) and the example shows
# it commented out. tests/config/test_support.py checks that no code outside balanz/config reads a key listed
# here and that every other key is read; docs/config-support.md holds the audit and the command to redo it.
# When a feature lands, delete its lines here (and from IN_FLIGHT_READERS below if it is listed there).
_LC = "LC mode is not implemented yet"
_KEY = "AuthorizationKey provisioning is not implemented yet"
NOT_SUPPORTED_REASONS: dict[str, str] = {
    "auth.provision_key": _KEY,
    "auth.provision_delay_s": _KEY,
    "auth.key_format": _KEY,
    "auth.pending_grace_s": _KEY + " (there is no provisioned-but-unconfirmed key to expire)",
    **{
        f"lc.{name}": _LC
        for name in (
            "upstream_url",
            "server_charging_call",
            "charger_auth",
            "user_agent",
            "upstream_ca_file",
            "upstream_verify",
            "connect_timeout_s",
            "upstream_answer_timeout_s",
            "upstream_down",
            "offline_authorization",
            "local_transaction_id_base",
            "outbox_max_meter_values",
            "outbox_max_other",
            "reconnect_initial_s",
            "reconnect_max_s",
            "replay_boot",
            "stop_on_replay_rejection",
            "protect_meter_config",
        )
    },
    "charger.lc": _LC,
    "charger.lc.upstream_password": _LC,
    "charger.lc.upstream_url": _LC,
    "history.session_retention_days": "sessions are kept forever; nothing deletes old ones yet",
    "logging.audit_retention_days": "audit events are kept forever; nothing deletes old ones yet",
    "firmware.meter_type": "firmware entries are matched on vendor, model and version only, not meter type",
}
NOT_SUPPORTED: frozenset[str] = frozenset(NOT_SUPPORTED_REASONS)

# Values of an otherwise supported key that balanz refuses for the same reason.
NOT_SUPPORTED_VALUES: dict[str, dict[str, str]] = {
    "mode.kind": {"lc": _LC},
}

# Supported keys that no module outside balanz/config reads as an attribute, and why that is honest.
READ_BY_LOADER: dict[str, str] = {
    "model.include": "the loader reads the included files itself and merges their entities",
    "charger.description": "text for people reading the file; balanz acts on nothing in it",
}

# Supported keys read through a balanz.config helper: the key counts as read when the helper is used outside
# balanz/config (the allocator's site model turns a group's limit into a Schedule with it).
READ_VIA_HELPER: dict[str, str] = {
    "group.max_allocation": "group_schedule",
    "group.slot": "group_schedule",
    "group.slot.time": "group_schedule",
    "group.slot.days": "group_schedule",
    "group.slot.quotas": "group_schedule",
}

# Supported keys whose reader is in a branch not merged into main yet (branch: where it reads the key). The
# guard test fails once such a key is read in this tree, so that the entry is deleted when its branch lands.
IN_FLIGHT_READERS: dict[str, str] = {}

SETTINGS_SECTIONS = (
    "mode",
    "server",
    "auth",
    "csms",
    "lc",
    "allocator",
    "profiles",
    "model",
    "store",
    "history",
    "logging",
    "monitor",
)
ENTITY_ARRAYS = ("group", "charger", "tag", "firmware")

# Sections of the reference balanz.ini, so that a pasted ini section gets a useful pointer.
REFERENCE_SECTIONS: dict[str, str] = {
    "host": "server",
    "balanz": "allocator",
    "ext-server": "lc",
    "capacity": "logging",
    "api": "monitor",
}


def suggest(name: str, known: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix for the closest known name, or nothing when none is close."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not match:
        match = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""
