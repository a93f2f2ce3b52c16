from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from balanz.csms.sessions import close_transaction
from balanz.sessions import HistoryEntry, LiveTransaction
from balanz.store import Store

T0 = datetime(2025, 3, 4, 10, 0, 8, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


HISTORY = (HistoryEntry(at(1), 6.0, None), HistoryEntry(at(2), None, 5.9), HistoryEntry(at(10), 16.0, 15.9))


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
        "meter_start_wh": 1234500.0,
        "user_name": "Corp EV 1",
        "parent_id_tag": "ACME",
        "priority": 1,
        "priority_source": "tag",
    }
    fields.update(kw)
    return LiveTransaction(charger_id=charger, connector_id=connector, transaction_id=tx, **fields)


def session(
    charger="CP1",
    connector=1,
    tx=1042,
    start=T0,
    end=None,
    *,
    meter_stop_wh=1252521.0,
    stop_reason="EVDisconnected",
    stop_id_tag=None,
    alias="HQ-01",
    group_id="HQ",
    flags=(),
    history=HISTORY,
    **live_fields,
):
    """A session record as the CSMS shell writes it: closed by balanz.csms.sessions, alias/group added."""
    record = close_transaction(
        live(charger, connector, tx, start_time=start, history=history, **live_fields),
        end_time=end if end is not None else at(100),
        meter_stop_wh=meter_stop_wh,
        reason=stop_reason,
        stop_id_tag=stop_id_tag,
        extra_flags=flags,
    )
    return replace(record, alias=alias, group_id=group_id)
