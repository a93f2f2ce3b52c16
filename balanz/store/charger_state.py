"""Store mixin: chargers known only at runtime — autoregistered chargers (model.md §7), HTTP Basic
credentials (flows.md §2.2), and probed capabilities with the profile strategy that worked (profiles.md
§4, §6).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from balanz.store.credentials import hash_password, password_matches, reference_hash
from balanz.store.db import Database, upsert
from balanz.store.errors import StoreIntegrityError
from balanz.store.records import ChargerCapabilities, CredentialState, RuntimeCharger
from balanz.store.timefmt import format_optional, format_utc, parse_optional, parse_utc


class ChargerState:
    _db: Database

    def register_charger(self, charger: RuntimeCharger) -> RuntimeCharger:
        """Auto-registration: store the charger unless it is already known; returns the stored entry (a
        charger reconnecting keeps its original registration)."""
        with self._db.write() as conn:
            upsert(
                conn,
                "runtime_chargers",
                ("charger_id",),
                {
                    "charger_id": charger.charger_id,
                    "group_id": charger.group_id,
                    "alias": charger.alias,
                    "connectors": charger.connectors,
                    "max_current_a": charger.max_current_a,
                    "priority": charger.priority,
                    "registered_at": format_utc(charger.registered_at),
                },
                keep_existing=True,
            )
        return self.runtime_charger(charger.charger_id) or charger

    def update_runtime_charger(self, charger: RuntimeCharger) -> None:
        """`charger move`, or more connectors seen than registered."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE runtime_chargers SET group_id = ?, alias = ?, connectors = ?, max_current_a = ?, "
                "priority = ? WHERE charger_id = ?",
                (
                    charger.group_id,
                    charger.alias,
                    charger.connectors,
                    charger.max_current_a,
                    charger.priority,
                    charger.charger_id,
                ),
            )
            if cursor.rowcount == 0:
                raise StoreIntegrityError(f"charger {charger.charger_id}: not an autoregistered charger")

    def runtime_charger(self, charger_id: str) -> RuntimeCharger | None:
        found = self._chargers("WHERE charger_id = ?", (charger_id,))
        return found[0] if found else None

    def runtime_chargers(self) -> list[RuntimeCharger]:
        return self._chargers("ORDER BY charger_id", ())

    def _chargers(self, where: str, params: tuple[object, ...]) -> list[RuntimeCharger]:
        rows = self._db.read(f"SELECT * FROM runtime_chargers {where}", params)
        return [
            RuntimeCharger(
                charger_id=r["charger_id"],
                group_id=r["group_id"],
                connectors=r["connectors"],
                registered_at=parse_utc(r["registered_at"]),
                alias=r["alias"],
                max_current_a=r["max_current_a"],
                priority=r["priority"],
            )
            for r in rows
        ]

    def forget_runtime_charger(self, charger_id: str) -> bool:
        """`charger forget`, or the TOML now defines this id (the TOML wins)."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM runtime_chargers WHERE charger_id = ?", (charger_id,))
        return cursor.rowcount > 0

    # Credentials -----------------------------------------------------------------------------------------

    def credential(self, charger_id: str) -> CredentialState | None:
        rows = self._db.read("SELECT * FROM credentials WHERE charger_id = ?", (charger_id,))
        if not rows:
            return None
        r = rows[0]
        return CredentialState(
            charger_id=r["charger_id"],
            active_hash=r["active_hash"],
            pending_hashes=tuple(json.loads(r["pending_hashes"])),
            pending_since=parse_optional(r["pending_since"]),
            updated_at=parse_utc(r["updated_at"]),
        )

    def _put_credential(
        self,
        charger_id: str,
        active: str | None,
        pending: Iterable[str],
        since: datetime | None,
        now: datetime,
    ) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "credentials",
                ("charger_id",),
                {
                    "charger_id": charger_id,
                    "active_hash": active,
                    "pending_hashes": json.dumps(list(pending)),
                    "pending_since": format_optional(since),
                    "updated_at": format_utc(now),
                },
            )

    def set_pending_credential(self, charger_id: str, passwords: Iterable[str], now: datetime) -> None:
        """Store the candidate key forms (hashed) durably *before* ChangeConfiguration is sent; any current
        active credential stays valid until a candidate is promoted."""
        current = self.credential(charger_id)
        hashes = [hash_password(p) for p in passwords]
        if not hashes:
            raise ValueError(f"charger {charger_id}: no candidate password given")
        self._put_credential(charger_id, current.active_hash if current else None, hashes, now, now)

    def promote_pending_credential(self, charger_id: str, password: str, now: datetime) -> bool:
        """The charger presented a candidate: keep that form as the only valid credential."""
        current = self.credential(charger_id)
        if current is None:
            return False
        match = next((h for h in current.pending_hashes if password_matches(h, charger_id, password)), None)
        if match is None:
            return False
        self._put_credential(charger_id, match, (), None, now)
        return True

    def discard_pending_credential(self, charger_id: str, now: datetime) -> None:
        """The charger refused the key, or never presented it within `auth.pending_grace_s`."""
        current = self.credential(charger_id)
        if current is not None:
            self._put_credential(charger_id, current.active_hash, (), None, now)

    def import_reference_credential(self, charger_id: str, auth_sha: str, now: datetime) -> None:
        """`import-csv`: the reference's `auth_sha` stays valid as is."""
        self._put_credential(charger_id, reference_hash(auth_sha), (), None, now)

    def reset_credential(self, charger_id: str) -> bool:
        """`reset-auth`: the next connection re-provisions."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM credentials WHERE charger_id = ?", (charger_id,))
        return cursor.rowcount > 0

    # Capabilities and strategy ----------------------------------------------------------------------------

    def save_capabilities(
        self,
        charger_id: str,
        capabilities: Mapping[str, Any],
        now: datetime,
        *,
        vendor: str = "",
        model: str = "",
        firmware_version: str = "",
    ) -> None:
        """After each probe (BootNotification); the stored strategy is kept, the ladder may revise it."""
        with self._db.write(durable=False) as conn:
            upsert(
                conn,
                "charger_capabilities",
                ("charger_id",),
                {
                    "charger_id": charger_id,
                    "vendor": vendor,
                    "model": model,
                    "firmware_version": firmware_version,
                    "capabilities": json.dumps(dict(capabilities)),
                    "probed_at": format_utc(now),
                },
            )

    def save_strategy(self, charger_id: str, strategy: str | None, now: datetime) -> None:
        """The first ladder step that worked (None = none known, e.g. after the ladder was exhausted)."""
        with self._db.write(durable=False) as conn:
            upsert(
                conn,
                "charger_capabilities",
                ("charger_id",),
                {"charger_id": charger_id, "strategy": strategy, "strategy_at": format_utc(now)},
            )

    def capabilities(self, charger_id: str) -> ChargerCapabilities | None:
        rows = self._db.read("SELECT * FROM charger_capabilities WHERE charger_id = ?", (charger_id,))
        if not rows:
            return None
        r = rows[0]
        return ChargerCapabilities(
            charger_id=r["charger_id"],
            capabilities=json.loads(r["capabilities"]),
            vendor=r["vendor"],
            model=r["model"],
            firmware_version=r["firmware_version"],
            probed_at=parse_optional(r["probed_at"]),
            strategy=r["strategy"],
            strategy_at=parse_optional(r["strategy_at"]),
        )

    def learned_strategy(self, vendor: str, model: str, firmware_version: str) -> str | None:
        """`profiles.learn_by_model`: the most recent working strategy of any charger with the same
        vendor, model and firmware, as the first guess for another one."""
        rows = self._db.read(
            "SELECT strategy FROM charger_capabilities WHERE vendor = ? AND model = ? "
            "AND firmware_version = ? AND strategy IS NOT NULL ORDER BY strategy_at DESC LIMIT 1",
            (vendor, model, firmware_version),
        )
        return rows[0]["strategy"] if rows else None
