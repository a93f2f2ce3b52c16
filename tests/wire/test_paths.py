"""Charger id from the upgrade path (OCPP-J 1.6 §3.1.1)."""

from __future__ import annotations

import pytest

from balanz.server import charger_id_from_path


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/CP1", "", "CP1"),
        ("/CP1?x=1", "", "CP1"),
        ("/ocpp/CP1", "ocpp", "CP1"),
        ("/ocpp/CP1/", "/ocpp/", "CP1"),
        ("/a/b/CP%201", "a/b", "CP 1"),
        ("/site%2FCP1", "", "site/CP1"),
        ("/ocpp/CP1", "", None),
        ("/CP1", "ocpp", None),
        ("/", "", None),
        ("/ocpp/", "ocpp", None),
    ],
)
def test_charger_id_from_path(path, prefix, expected):
    assert charger_id_from_path(path, prefix) == expected
