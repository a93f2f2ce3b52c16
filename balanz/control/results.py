"""Result shapes of the view commands that are not the snapshot, read with the same tolerant codec.

``sessions`` answers ``{"sessions": [row, ...]}`` where each row is the store's session JSON
(store/codec.py ``session_to_json``); the monitor reads the fields it shows and ignores the rest, so the
store may grow fields without a protocol change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from balanz.control.codec import DecodeError, from_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    charger_id: str
    connector_id: int
    alias: str | None = None
    group_id: str | None = None
    transaction_id: int | None = None
    id_tag: str = ""
    user_name: str = ""
    start_time: str = ""
    end_time: str = ""
    duration_s: float | None = None
    energy_wh: float | None = None
    stop_reason: str = ""
    priority: int | None = None
    max_offer_a: float | None = None


def sessions_from_result(result: Any) -> tuple[SessionRow, ...]:
    if not isinstance(result, dict) or not isinstance(result.get("sessions"), list):
        raise DecodeError("sessions", "the daemon's answer has no 'sessions' list")
    rows = []
    for index, row in enumerate(result["sessions"]):
        try:
            rows.append(from_json(SessionRow, row))
        except DecodeError as exc:
            raise exc.under(f"sessions[{index}]") from None
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class TagRow:
    """One tag of the ``tags`` answer (store_commands ``_tag_json``): configured or runtime (``origin``)."""

    id: str
    user: str = ""
    parent: str | None = None
    status: str = "Activated"
    priority: int | None = None
    expires: str | None = None
    description: str = ""
    origin: str = ""


def tags_from_result(result: Any) -> tuple[TagRow, ...]:
    if not isinstance(result, list):
        raise DecodeError("tags", "the daemon's answer is not a list of tags")
    rows = []
    for index, row in enumerate(result):
        try:
            rows.append(from_json(TagRow, row))
        except DecodeError as exc:
            raise exc.under(f"tags[{index}]") from None
    return tuple(rows)
