"""Pieces the shell tests' fake chargers share: reading a profile's limit, and the connection lookup."""

from typing import Any


def profile_limit(payload: dict[str, Any]) -> float:
    """The one period's limit of a SetChargingProfile payload (balanz sends flat profiles)."""
    return payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]


class Chargers:
    """``Dispatcher.connections`` for tests: the fake connection of each charger id, None for others."""

    def __init__(self, **chargers: Any) -> None:
        self.chargers = chargers

    def connection(self, charger_id: str) -> Any:
        return self.chargers.get(charger_id)
