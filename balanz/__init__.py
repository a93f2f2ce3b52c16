"""balanz: an OCPP 1.6J smart-charging server that shares one electrical supply between EV chargers."""

__version__ = "0.1.0"
