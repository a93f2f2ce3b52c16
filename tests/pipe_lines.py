"""Waiting for a line on a subprocess's pipe without sleeping.

select() must watch the raw file descriptor, and reads must bypass Python's buffered text stream: a
``readline()`` pulls every line already written into the stream's buffer, after which select() waits for
bytes that never come (two log lines written together hid the second one until the bound expired).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
from typing import IO


def wait_for(proc: subprocess.Popen, pattern: str, bound_s: float, stream: IO[str] | None = None) -> re.Match:
    """The first match of ``pattern`` in what ``proc`` writes to ``stream`` (default: its stderr)."""
    pipe = stream if stream is not None else proc.stderr
    assert pipe is not None
    fd = pipe.fileno()
    seen = ""
    while True:
        match = re.search(pattern, seen)
        if match:
            return match
        ready, _, _ = select.select([fd], [], [], bound_s)
        assert ready, f"no {pattern!r} within {bound_s} s; got {seen!r}"
        chunk = os.read(fd, 65536)
        assert chunk, f"the process exited before {pattern!r}: {seen!r}"
        seen += chunk.decode(errors="replace")
