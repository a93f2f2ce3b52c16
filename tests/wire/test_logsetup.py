"""``[logging]`` becomes handlers and levels; the root logger is restored afterwards."""

from __future__ import annotations

import io
import logging

import pytest

from balanz.config.schema import LoggingConfig
from balanz.logsetup import configure_logging


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    names = ("ocpp", "balanz.wire")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    for handler in root.handlers:
        if handler not in saved[1]:
            handler.close()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_levels_stream_and_file(tmp_path, restore_logging):
    stream = io.StringIO()
    path = tmp_path / "logs" / "balanz.log"
    configure_logging(
        LoggingConfig(level="debug", file=str(path), levels={"ocpp": "WARNING", "balanz.wire": "error"}),
        stream=stream,
    )
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("ocpp").level == logging.WARNING
    logging.getLogger("balanz.wire").warning("hidden")
    logging.getLogger("balanz.server").info("charger CP1 connected")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "charger CP1 connected" in stream.getvalue()
    assert "hidden" not in stream.getvalue()
    assert "INFO    balanz.server: charger CP1 connected" in path.read_text()
