"""The control socket: the protocol between the daemon and the monitor, ``balanz status``, ``balanz ctl``."""
