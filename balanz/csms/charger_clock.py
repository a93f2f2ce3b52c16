"""How far each charger's clock is from ours, read off the timestamps in its messages.

Absolute charging profiles start at a ``startSchedule`` the charger compares with its own clock (pitfalls
P4): a charger running behind ours by more than ``profiles.start_backdate_s`` sees our profile start in its
future and, until then, applies none of it — a car may draw the charger's maximum. Whichever clock is wrong
(the charger's, or the host's before NTP corrects it), profiles must be dated in the charger's time.

The newest message's timestamp minus its receive time estimates the offset. A message the charger queued
while offline makes the estimate too negative (its timestamp is old), which only dates profiles earlier —
harmless for the flat, open-ended profiles balanz sends — and the next live message corrects it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from balanz.csms.meter_values import parse_timestamp

log = logging.getLogger(__name__)


def message_time(payload: Mapping[str, Any]) -> datetime | None:
    """The charger's own newest instant in a StatusNotification, Start/StopTransaction or MeterValues."""
    found = [payload.get("timestamp")]
    values = payload.get("meterValue")
    if isinstance(values, list):
        found.extend(mv.get("timestamp") for mv in values if isinstance(mv, Mapping))
    instants = [at for at in map(parse_timestamp, found) if at is not None]
    return max(instants, default=None)


class ChargerClocks:
    """Per charger: its clock minus ours at the last timestamped message (negative: it runs behind).

    One warning per charger while its clock stays off by about the same amount; another only when the
    offset moves materially — by more than ``warn_beyond_s`` and half the offset warned about, so a clock a
    year ahead that drifts a few minutes stays quiet — or comes back after the clock was fine (a charger
    sends a timestamp in nearly every message: warning per message would bury everything else in the log).
    """

    def __init__(self, warn_beyond_s: float, *, retime_beyond_s: float | None = None) -> None:
        self.warn_beyond_s = warn_beyond_s
        self.retime_beyond_s = retime_beyond_s
        self._material = timedelta(seconds=warn_beyond_s)
        self._offsets: dict[str, timedelta] = {}
        self._live: dict[str, timedelta] = {}
        self._warned: dict[str, timedelta] = {}

    def note(
        self, charger_id: str, charger_time: datetime | None, received_at: datetime, *, replay: bool = False
    ) -> None:
        """``replay``: the charger reconnected moments ago and may be sending its offline queue, whose old
        timestamps say nothing about its clock — used for dating (earlier is harmless), not for warnings."""
        if charger_time is None:
            return
        offset = charger_time - received_at
        self._offsets[charger_id] = offset
        if replay and offset < timedelta(0):
            return
        self._live[charger_id] = offset
        warned = self._warned.get(charger_id)
        if abs(offset.total_seconds()) <= self.warn_beyond_s:
            if warned is not None:
                del self._warned[charger_id]
                log.info(
                    "charger %s: its clock is back within %.0f s of balanz's",
                    charger_id,
                    offset.total_seconds(),
                )
            return
        if warned is not None and abs(offset - warned) <= max(self._material, abs(warned) / 2):
            return
        self._warned[charger_id] = offset
        retimed = self.retime_beyond_s is not None and abs(offset.total_seconds()) > self.retime_beyond_s
        log.warning(
            "charger %s: its clock is %s balanz's; %scharging profiles are dated in its time "
            "(check NTP on the charger and on this host)",
            charger_id,
            describe_offset(offset),
            "its timestamps are replaced by receive times and " if retimed else "",
        )

    def offset(self, charger_id: str) -> timedelta:
        return self._offsets.get(charger_id, timedelta(0))

    def live_offset(self, charger_id: str) -> timedelta | None:
        """The offset measured from the last message that was not an offline replay (None: none yet)."""
        return self._live.get(charger_id)

    def profile_time(self, charger_id: str, now: datetime) -> datetime:
        """The instant to date a profile from: ours, or the charger's when its clock is behind."""
        return now + min(timedelta(0), self.offset(charger_id))


def describe_offset(offset: timedelta) -> str:
    """``+31536000 s (365.0 days) ahead of`` — seconds for logs that get grepped, days for people."""
    seconds = offset.total_seconds()
    side = "ahead of" if seconds > 0 else "behind"
    if abs(seconds) >= 86400:
        return f"{seconds:+.0f} s ({abs(seconds) / 86400:.1f} days) {side}"
    if abs(seconds) >= 3600:
        return f"{seconds:+.0f} s ({abs(seconds) / 3600:.1f} h) {side}"
    return f"{seconds:+.0f} s {side}"
