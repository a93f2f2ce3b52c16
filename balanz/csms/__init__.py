"""CSMS mode: the central-system side of balanz."""
