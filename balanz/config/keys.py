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

# Keys of config.md §2 that balanz does not act on yet. A key listed here is refused with "not supported
# yet" rather than silently ignored; every key of the spec is currently accepted, so the set is empty until
# an issue decides to postpone one.
NOT_SUPPORTED: frozenset[str] = frozenset()

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
