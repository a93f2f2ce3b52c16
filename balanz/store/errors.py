"""Errors the store raises, and the retry schedule callers follow when it is unavailable.

A failing store must never make balanz acknowledge something it has not recorded: every write either commits
or raises `StoreUnavailable`, and the caller then answers the charger with a CALLERROR (the charger retries
transaction messages) or retries on its own after `RetryPolicy.delay(attempt)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class StoreError(Exception):
    """Base class: anything the store refuses or cannot do."""


class StoreUnavailable(StoreError):
    """The database could not be read or written right now (locked, disk full, I/O error).

    Retrying later may succeed; nothing of the failed write was kept. `reason` is a short word for logs and
    the monitor ("locked", "full", "io", "read-only", "cannot-open", "missing", "corrupt", "error").
    """

    def __init__(self, path: Path | str, reason: str, detail: str) -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"store {self.path}: {reason}: {detail}{_ADVICE.get(reason, '')}")


_ADVICE = {
    "locked": " (another process holds a write lock; balanz retries)",
    "full": " (free disk space on that file system; balanz retries)",
    "read-only": " (make the file and its directory writable by the balanz user)",
    "cannot-open": " (check that the directory exists and is writable by the balanz user)",
    "corrupt": " (restore the latest backup, see docs/operations.md)",
}


class StoreVersionError(StoreError):
    """The database was written by a newer balanz whose schema this version does not know."""

    def __init__(self, path: Path | str, found: int, supported: int) -> None:
        self.path = str(path)
        self.found = found
        self.supported = supported
        super().__init__(
            f"store {self.path}: schema version {found} was written by a newer balanz; this balanz "
            f"understands versions up to {supported}. Upgrade balanz, or point store.path at another file "
            "(the newer database is left untouched)."
        )


class StoreIntegrityError(StoreError):
    """A request contradicts what is stored (e.g. a tag id that already exists)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off for writes that failed with `StoreUnavailable`.

    Pure: the shell sleeps `delay(attempt)` (trio.sleep, so tests use the virtual clock) and tries again.
    The cap keeps a daemon whose disk filled up from waiting minutes after space was freed.
    """

    initial_s: float = 0.25
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1 = the first retry)."""
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        return min(self.max_s, self.initial_s * self.factor ** (attempt - 1))

    def schedule(self, attempts: int) -> tuple[float, ...]:
        """The first `attempts` delays, for logs and tests."""
        return tuple(self.delay(n) for n in range(1, attempts + 1))
