"""What each control-socket request does in the running daemon (flows.md §4.2 command table).

Requests arrive validated (``requests.validate``) and access-checked; this module looks up the things they
name (``NoSuchCharger``, ``NoSuchConnector``, ``NoSuchGroup``) and routes them: charger calls to the CSMS
operator, tags, sessions and logs to the store and the log buffer, allocator intents to the allocator
shell's hooks and then the store. Without smart charging the allocator commands are refused; with it but
without the shell attached they record the intent and say so in the reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from balanz.config.dump import config_to_dict
from balanz.config.errors import ConfigError
from balanz.config.reload import plan_reload
from balanz.control import store_commands as sc
from balanz.control.charger_commands import HANDLERS, refuse_unsafe_call, run_charger_command
from balanz.control.intents import GroupLimit
from balanz.control.protocol import ErrorCode, ProtocolError, Request
from balanz.store import GroupLimitOverride, PriorityOverride, StoreError

if TYPE_CHECKING:
    from balanz.control.server import ControlServer

logger = logging.getLogger(__name__)

PENDING_NOTE = "recorded; smart charging applies it when the allocator runs (not attached in this daemon)"
ALLOCATOR_COMMANDS = frozenset(
    {"set-priority", "clear-priority", "suspend-group", "resume-group", "suspend-connector"}
    | {"resume-connector", "set-group-limit", "clear-group-limit"}
)
PROFILE_COMMANDS = {
    "reassert-profiles": "reassert",
    "release-profiles": "release",
    "release-offline": "release-offline",
}


def plain(value: Any) -> Any:
    """JSON-ready data: times in ISO-8601 (store records and the configuration carry datetimes)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class Executor:
    server: ControlServer

    async def run(self, request: Request, client: str) -> Any:
        cmd, args = request.cmd, request.args
        try:
            return plain(await self._run(cmd, args, client))
        except ProtocolError as exc:
            exc.request_id = request.id
            raise
        except StoreError as exc:
            raise ProtocolError(ErrorCode.INTERNAL, f"{cmd}: store: {exc}", request.id) from None

    async def _run(self, cmd: str, args: dict[str, Any], client: str) -> Any:
        srv = self.server
        if cmd in HANDLERS:
            self._charger(cmd, args)
            if cmd == "call":
                refuse_unsafe_call(args, self._smart(args["charger"]))
            return await run_charger_command(srv.operator, cmd, args)
        if cmd in ALLOCATOR_COMMANDS:
            return self._allocator_command(cmd, args, client)
        if cmd in PROFILE_COMMANDS:
            self._charger(cmd, args)
            if srv.allocator is None:
                raise ProtocolError(ErrorCode.REFUSED, f"{cmd}: smart charging is not running in this daemon")
            try:
                note = await srv.allocator.profiles(args["charger"], PROFILE_COMMANDS[cmd])
            except ValueError as exc:
                raise ProtocolError(ErrorCode.REFUSED, f"{cmd}: {exc}") from None
            # a release outlives a restart until reassert-profiles (stored_intents applies it again)
            if cmd == "release-profiles":
                srv.store.release_charger(args["charger"], srv.clock.now(), client)
            elif cmd == "reassert-profiles":
                srv.store.unrelease_charger(args["charger"])
            srv.audit("OPERATOR", f"{cmd} {args['charger']} by {client or 'control client'}")
            return {"note": note, "applied": True}
        if cmd.startswith("tag-"):
            result = sc.change_tag(srv.config, srv.store, cmd, args, srv.clock.now())
            srv.audit("TAG", f"{cmd} {args['id_tag']} by {client or 'control client'}")
            return result
        view = getattr(self, "_" + cmd.replace("-", "_"), None)
        if view is None:
            raise ProtocolError(ErrorCode.INTERNAL, f"{cmd}: not handled by this daemon")
        return view(args)

    # ---- lookups -----------------------------------------------------------------------------------------

    def _charger(self, cmd: str, args: dict[str, Any]) -> str:
        service = self.server.service
        wanted = args["charger"]
        if service.charger(wanted) is None:
            by_alias = [c.charger_id for c in service.chargers.values() if c.alias == wanted]
            if len(by_alias) != 1:
                raise ProtocolError(
                    ErrorCode.NO_SUCH_CHARGER, f"{cmd}: no charger {wanted!r} (neither id nor alias)"
                )
            args["charger"] = by_alias[0]
        if args.get("connector") and service.connector(args["charger"], args["connector"]) is None:
            raise ProtocolError(
                ErrorCode.NO_SUCH_CONNECTOR,
                f"{cmd}: charger {args['charger']} has no connector {args['connector']}",
            )
        return str(args["charger"])

    def _group(self, cmd: str, group_id: str) -> None:
        known = {g.id for g in self.server.config.group}
        known |= {c.group_id for c in self.server.service.chargers.values()}
        if group_id not in known:
            raise ProtocolError(ErrorCode.NO_SUCH_GROUP, f"{cmd}: no group {group_id!r}")

    def _smart(self, charger_id: str) -> bool:
        config = self.server.config
        charger = next((c for c in config.charger if c.id == charger_id), None)
        return config.mode.smart_charging and (charger is None or charger.smart_charging)

    # ---- allocator intents -------------------------------------------------------------------------------

    def _allocator_command(self, cmd: str, args: dict[str, Any], client: str) -> dict[str, Any]:
        srv = self.server
        if not srv.config.mode.smart_charging:
            raise ProtocolError(
                ErrorCode.REFUSED,
                f"{cmd}: smart charging is off (mode.smart_charging = false); nothing to change",
            )
        if "group" in args:
            self._group(cmd, args["group"])
        else:
            self._charger(cmd, args)
        now = srv.clock.now()
        hooks = srv.allocator
        try:
            note = self._intent(cmd, args, client, now)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.REFUSED, f"{cmd}: {exc}") from None
        where = args.get("group") or f"{args['charger']}/{args['connector']}"
        value = args.get("priority", args.get("limit_a"))
        words = [cmd, where, *([] if value is None else [f"{value:g}"]), "by", client]
        srv.audit("OPERATOR", " ".join(words))
        srv.refresh()
        return {"note": note or PENDING_NOTE, "applied": hooks is not None}

    def _intent(self, cmd: str, args: dict[str, Any], client: str, now: datetime) -> str:
        """Carry out one allocator intent: the allocator first (it may refuse), then the store, so a stored
        intent is always one the allocator took — and is taken again after a restart (``stored_intents``)."""
        srv, hooks = self.server, self.server.allocator
        note = ""
        if cmd in ("set-priority", "clear-priority"):
            key = (args["charger"], args["connector"])
            priority = args.get("priority")
            view = srv.service.connector(*key)
            tx_id = view.transaction.transaction_id if view and view.transaction else None
            if priority is not None and tx_id is None:
                raise ProtocolError(
                    ErrorCode.NOT_IN_TRANSACTION,
                    f"{cmd}: no session on {key[0]}/{key[1]}: a priority override belongs to a session",
                )
            if hooks:
                note = hooks.priority_changed(*key, priority)
            if priority is None:
                srv.store.clear_priority_override(*key)
            else:
                srv.store.set_priority_override(PriorityOverride(*key, priority, now, tx_id))
        elif cmd in ("suspend-group", "resume-group"):
            suspend = cmd == "suspend-group"
            if hooks:
                note = hooks.group_suspended(args["group"], suspend)
            if suspend:
                srv.store.suspend_group(args["group"], now)
            else:
                srv.store.resume_group(args["group"])
        elif cmd in ("suspend-connector", "resume-connector"):
            key = (args["charger"], args["connector"])
            suspend = cmd == "suspend-connector"
            if hooks:
                note = hooks.connector_suspended(*key, suspend)
            if suspend:
                srv.store.suspend_connector(*key, now)
            else:
                srv.store.resume_connector(*key)
        else:
            limit = None
            if cmd == "set-group-limit":
                limit = GroupLimit(args["limit_a"], now + timedelta(seconds=args["for_s"]), client)
            if hooks:
                note = hooks.group_limit_changed(args["group"], limit)
            if limit is None:
                srv.store.clear_group_limit(args["group"])
            else:
                srv.store.set_group_limit(
                    GroupLimitOverride(args["group"], limit.limit_a, now, limit.until, limit.set_by)
                )
        return note

    # ---- views -------------------------------------------------------------------------------------------

    def _status(self, args: dict[str, Any]) -> dict[str, Any]:
        srv = self.server
        snapshot = srv.service.snapshot()
        return {
            "version": srv.version,
            "mode": srv.config.mode.kind,
            "smart_charging": srv.config.mode.smart_charging,
            "allocator_attached": srv.allocator is not None,
            "started_at": srv.started_at.isoformat() if srv.started_at else "",
            "uptime_s": round(time.monotonic() - srv.started_monotonic, 1),
            "chargers": len(snapshot.chargers),
            "connected": sum(1 for c in snapshot.chargers if c.connected),
            "open_transactions": len(srv.service.live_transactions()),
            "store": {"path": str(srv.store.path), "failures": snapshot.store_failures, **srv.store.stats()},
            "monitor_clients": len(srv.clients),
            "upstream": None,
        }

    def _snapshot(self, args: dict[str, Any]) -> Any:
        return self.server.build().to_json()

    def _config(self, args: dict[str, Any]) -> Any:
        return sc.redacted(config_to_dict(self.server.config))

    def _reload(self, args: dict[str, Any]) -> Any:
        from balanz.config.loader import load_config

        source = self.server.config.source
        if source is None:
            raise ProtocolError(
                ErrorCode.REFUSED, "reload: the daemon runs on the built-in defaults, no file"
            )
        try:
            result: Any = load_config(source)
        except ConfigError as exc:
            result = exc
        except OSError as exc:
            raise ProtocolError(ErrorCode.REFUSED, f"reload: {source}: {exc.strerror or exc}") from None
        plan = plan_reload(self.server.config, result)
        if not plan.applied:
            raise ProtocolError(
                ErrorCode.REFUSED, f"reload: {source} has errors:\n" + "\n".join(plan.describe())
            )
        if plan.changed:
            raise ProtocolError(
                ErrorCode.REFUSED,
                "reload: this daemon cannot apply a changed configuration while running; restart balanz to "
                "apply:\n" + "\n".join(plan.describe()),
            )
        return {"applied": True, "changes": plan.describe()}

    def _tags(self, args: dict[str, Any]) -> Any:
        return sc.list_tags(self.server.config, self.server.store)

    def _sessions(self, args: dict[str, Any]) -> Any:
        return sc.list_sessions(self.server.store, args)

    def _export_sessions(self, args: dict[str, Any]) -> Any:
        return sc.export_sessions(self.server.store, args)

    def _logs(self, args: dict[str, Any]) -> Any:
        return sc.read_logs(self.server.logs, self.server.store, args)

    def _log_level(self, args: dict[str, Any]) -> Any:
        logging.getLogger(args["logger"]).setLevel(args["level"])
        logger.info("log level of %s set to %s", args["logger"] or "root", args["level"])
        return {"logger": args["logger"], "level": args["level"]}

    def _reset_auth(self, args: dict[str, Any]) -> Any:
        charger = self._charger("reset-auth", args)
        forgot = self.server.store.reset_credential(charger)
        self.server.audit("AUTH", f"reset-auth {charger}", charger)
        return {"charger": charger, "had_credential": forgot}

    def _charger_forget(self, args: dict[str, Any]) -> Any:
        charger = self._charger("charger-forget", args)
        srv = self.server
        if srv.store.runtime_charger(charger) is None:
            raise ProtocolError(
                ErrorCode.REFUSED, f"charger-forget: {charger} is configured in the TOML; remove it there"
            )
        if srv.service.chargers[charger].connected:
            raise ProtocolError(
                ErrorCode.REFUSED, f"charger-forget: {charger} is connected; forget it offline"
            )
        srv.store.forget_runtime_charger(charger)
        srv.store.forget_connector_states(charger)
        srv.audit("CHARGER", f"charger-forget {charger}", charger)
        return {
            "charger": charger,
            "note": "forgotten in the store; the running daemon shows it until restart",
        }

    def _charger_move(self, args: dict[str, Any]) -> Any:
        charger = self._charger("charger-move", args)
        self._group("charger-move", args["group"])
        sc.move_runtime_charger(self.server.store, charger, args["group"])
        self.server.service.update_charger(charger, group_id=args["group"])
        self.server.audit("CHARGER", f"charger-move {charger} to {args['group']}", charger)
        self.server.refresh()
        return {"charger": charger, "group": args["group"]}

    def _firmware_options(self, args: dict[str, Any]) -> Any:
        charger = self._charger("firmware-options", args)
        return [
            {"firmware_id": f.firmware_id, "url": f.url, "version": f.firmware_version}
            for f in self.server.operator.firmware_options(charger)
        ]

    def _set_external_limit(self, args: dict[str, Any]) -> Any:
        srv = self.server
        group = args["group"]
        if not srv.config.mode.smart_charging:
            raise ProtocolError(
                ErrorCode.REFUSED,
                "set-external-limit: smart charging is off (mode.smart_charging = false); nothing to limit",
            )
        self._group("set-external-limit", group)
        if srv.allocator is None:
            raise ProtocolError(ErrorCode.REFUSED, "set-external-limit: the allocator is not running")
        try:
            note = srv.allocator.external_limit(group, args["headroom_a"], args["valid_s"])
        except ValueError as exc:
            raise ProtocolError(ErrorCode.REFUSED, f"set-external-limit: {exc}") from None
        srv.changed()
        return {"applied": True, "group": group, "note": note}

    def _upstream(self, args: dict[str, Any]) -> Any:
        raise ProtocolError(ErrorCode.REFUSED, "upstream: LC mode only; this daemon runs in CSMS mode")

    def _outbox(self, args: dict[str, Any]) -> Any:
        raise ProtocolError(ErrorCode.REFUSED, "outbox: LC mode only; this daemon runs in CSMS mode")
