"""Central-system mode: the handlers that answer chargers when balanz is their CSMS."""
