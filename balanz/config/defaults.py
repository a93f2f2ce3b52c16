"""The built-in configuration for ``balanz run`` without ``-c``, and the command-line overrides.

The built-in default is meant for trying balanz on one machine: it listens on loopback only (so HTTP Basic
auth is off), accepts any charger into one controlled group ``site`` with a constant 32 A limit, and keeps
its store in ``./balanz-data/``. It passes the same validation as a file.
"""

from __future__ import annotations

import os
from dataclasses import replace

from balanz.config import schema
from balanz.config.convert import Reporter
from balanz.config.errors import Problem
from balanz.config.rules import UNIX_SOCKET_MAX
from balanz.config.validate import entities_of, fill_socket_default, finish, validate

BUILT_IN = "<built-in default>"
DEFAULT_DATA_DIR = "balanz-data"
DEFAULT_SITE_LIMIT = "32"


def default_config(base_dir: str | os.PathLike[str] | None = None) -> schema.Config:
    """The built-in configuration, with its data directory under ``base_dir`` (default: the working dir)."""
    data_dir = os.path.join(os.path.abspath(base_dir or os.getcwd()), DEFAULT_DATA_DIR)
    config = schema.Config(
        mode=schema.ModeConfig(kind="csms", smart_charging=True),
        server=schema.ServerConfig(host="127.0.0.1", port=9999),
        auth=schema.AuthConfig(http_basic=False),
        model=schema.ModelConfig(charger_autoregister=True, charger_autoregister_group="site"),
        # A trial on loopback: any charger and any tag may charge, so a simulated site works unconfigured;
        # the tags are registered and shown in the monitor, where they can be blocked.
        csms=schema.CsmsConfig(unknown_tags="accept_and_register"),
        store=schema.StoreConfig(path=os.path.join(data_dir, "balanz.sqlite")),
        group=(
            schema.GroupConfig(
                id="site",
                description="built-in default: every charger, 32 A in total",
                max_allocation=DEFAULT_SITE_LIMIT,
            ),
        ),
    )
    config = fill_socket_default(config)
    problems: list[Problem] = []
    validate(config, entities_of(config, BUILT_IN), Reporter(BUILT_IN, problems))
    return finish(config, problems).config


def apply_overrides(
    config: schema.Config,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> schema.Config:
    """``balanz run --host/--port/--data-dir``: the data directory holds the store and, unless the file
    names a socket elsewhere, the monitor socket."""
    problems: list[Problem] = []
    rep = Reporter("balanz run", problems)
    if host is not None:
        config = replace(config, server=replace(config.server, host=host))
    if port is not None:
        if not 0 <= port <= 65535:
            rep.error("--port", "must be between 0 and 65535", port)
        config = replace(config, server=replace(config.server, port=port))
    if data_dir is not None:
        directory = os.path.abspath(data_dir)
        old_dir = os.path.dirname(config.store.path)
        store = os.path.join(directory, os.path.basename(config.store.path))
        monitor = config.monitor
        if monitor.socket == os.path.join(old_dir, "balanz.sock"):
            monitor = replace(monitor, socket=os.path.join(directory, "balanz.sock"))
        config = replace(config, store=replace(config.store, path=store), monitor=monitor)
        if len(os.fsencode(monitor.socket)) > UNIX_SOCKET_MAX:
            rep.error(
                "--data-dir", f"the monitor socket path would exceed {UNIX_SOCKET_MAX} bytes", directory
            )
        if os.path.exists(directory) and not (os.path.isdir(directory) and os.access(directory, os.W_OK)):
            rep.error("--data-dir", "not a writable directory", directory)
    return finish(config, problems).config
