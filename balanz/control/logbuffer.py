"""The daemon's recent log lines in memory (``logging.buffer_lines``), for ``logs`` and ``log`` pushes.

A logging handler rather than a file reader: the monitor wants the lines as they happen, and the ring buffer
answers ``logs`` without touching the disk. Listeners are called synchronously inside ``emit``; they only
queue bytes (never await, never log), and a guard stops a listener's own logging from looping back.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from balanz.control.feed import LEVELS
from balanz.control.protocol import LogLine

logger = logging.getLogger(__name__)

Listener = Callable[[LogLine], None]


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LogBuffer(logging.Handler):
    def __init__(self, capacity: int) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[LogLine] = deque(maxlen=max(capacity, 1))
        self.listeners: list[Listener] = []
        self._emitting = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._emitting:
            return
        self._emitting = True
        try:
            line = LogLine(_iso(record.created), record.levelname, record.name, record.getMessage())
            self.lines.append(line)
            for listener in list(self.listeners):
                listener(line)
        except Exception:
            self.handleError(record)
        finally:
            self._emitting = False

    def select(
        self,
        *,
        level: str = "INFO",
        logger_name: str | None = None,
        grep: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 200,
    ) -> list[LogLine]:
        """The newest ``limit`` lines matching every filter, oldest first (times compare as UTC ISO)."""
        floor = LEVELS.get(level, 20)
        since_key, until_key = _key(since), _key(until)
        out = [
            line
            for line in self.lines
            if LEVELS.get(line.level, 0) >= floor
            and (not logger_name or line.logger == logger_name or line.logger.startswith(logger_name + "."))
            and (not grep or grep.lower() in line.message.lower())
            and (since_key is None or line.at >= since_key)
            and (until_key is None or line.at < until_key)
        ]
        return out[-limit:]


def _key(moment: str | None) -> str | None:
    """An ISO time in the buffer's own spelling, so that string comparison orders correctly."""
    if moment is None:
        return None
    return _iso(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())
