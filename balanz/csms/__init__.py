"""CSMS mode: the central-system side of balanz (pure decisions and the handlers that answer chargers)."""
