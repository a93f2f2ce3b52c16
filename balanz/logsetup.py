"""Logging from the ``[logging]`` section: one format, stderr plus an optional file, per-logger levels.

The ``ocpp`` library logs every frame at INFO; the default ``levels`` table quiets it to WARNING.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from balanz.config.schema import LoggingConfig

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(config: LoggingConfig, *, stream: TextIO | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if config.file:
        path = Path(config.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    logging.basicConfig(level=config.level.upper(), format=FORMAT, handlers=handlers, force=True)
    for name, level in config.levels.items():
        logging.getLogger(name).setLevel(level.upper())
