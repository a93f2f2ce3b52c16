from datetime import UTC, datetime, timedelta

import pytest

from balanz.store import HistoryEntry, LiveTransaction, Store, build_session

T0 = datetime(2025, 3, 4, 10, 0, 8, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "state" / "balanz.sqlite"


@pytest.fixture
def store(store_path):
    with Store(store_path, busy_timeout_ms=20) as s:
        yield s


def live(charger="CP1", connector=1, tx=1042, **kw) -> LiveTransaction:
    fields = {
        "id_tag": "8A03EE96",
        "start_time": T0,
        "received_at": T0 + timedelta(seconds=1),
        "meter_start_wh": 1234500,
        "user_name": "Corp EV 1",
        "parent_id_tag": "ACME",
    }
    fields.update(kw)
    return LiveTransaction(charger_id=charger, connector_id=connector, transaction_id=tx, **fields)


def session(charger="CP1", connector=1, tx=1042, start=T0, end=None, **kw):
    fields = {
        "id_tag": "8A03EE96",
        "user_name": "Corp EV 1",
        "alias": "HQ-01",
        "group_id": "HQ",
        "parent_id_tag": "ACME",
        "meter_start_wh": 1234500,
        "meter_stop_wh": 1252521,
        "stop_reason": "EVDisconnected",
        "priority": 1,
        "priority_source": "tag",
        "history": (
            HistoryEntry(at(1), 6.0, None),
            HistoryEntry(at(2), None, 5.9),
            HistoryEntry(at(10), 16.0, 15.9),
        ),
    }
    fields.update(kw)
    return build_session(
        charger_id=charger,
        connector_id=connector,
        transaction_id=tx,
        start_time=start,
        end_time=end if end is not None else at(100),
        **fields,
    )
