"""Where the daemon's control socket is: ``--socket``, else ``monitor.socket`` of the configuration.

An empty ``monitor.socket`` means ``balanz.sock`` next to the store (config.md); the loader normally fills
that in already, and this module applies the same rule for configurations that did not go through it.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

SOCKET_NAME = "balanz.sock"


class SocketPathError(Exception):
    """No usable socket path: the configuration could not be read."""


def socket_path(config_file: str | None, explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        from balanz.config.defaults import default_config
        from balanz.config.errors import ConfigError
        from balanz.config.loader import load_config
    except ImportError:
        raise SocketPathError(
            "this build cannot read configuration files yet; give the socket with --socket PATH"
        ) from None
    if config_file is None:
        config = default_config()
    else:
        try:
            config = load_config(config_file).config
        except ConfigError as exc:
            errors = "\n".join(str(p) for p in exc.problems if p.is_error) or str(exc)
            raise SocketPathError(
                f"cannot find the socket, the configuration has errors:\n{errors}"
            ) from None
        except OSError as exc:
            raise SocketPathError(f"{config_file}: {exc.strerror or exc}") from None
    return configured_socket(config.monitor.socket, config.store.path, config.source)


def configured_socket(socket: str, store_path: str, source: os.PathLike[str] | None) -> str:
    path = socket or os.path.join(os.path.dirname(store_path), SOCKET_NAME)
    if not os.path.isabs(path) and source is not None:
        path = os.path.join(os.path.dirname(os.fspath(source)), path)
    return path
