import sqlite3

import pytest

from balanz.sessions import HistoryEntry
from balanz.store import RetryPolicy, Store, StoreUnavailable
from balanz.store.session_log import RECORDED
from tests.store.conftest import at, live, session


def test_locked_database_raises_store_unavailable_and_retry_records_once(store, store_path):
    record = session()
    other = sqlite3.connect(store_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailable) as exc:
        store.complete_session(record)
    assert exc.value.reason == "locked"
    assert str(store_path) in str(exc.value)
    with pytest.raises(StoreUnavailable):
        store.next_transaction_id(1)
    other.execute("ROLLBACK")
    other.close()

    assert store.complete_session(record).outcome == RECORDED
    assert store.sessions() == [record]
    assert store.next_transaction_id(1) == 1  # the refused call did not consume an id


def test_full_disk_raises_store_unavailable_and_retry_succeeds_without_duplicates(store):
    conn = store.database.connection
    store.upsert_live_transaction(live())
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = session(history=tuple(HistoryEntry(at(i / 10), float(i % 32), 1.0 + i % 7) for i in range(3000)))
    with pytest.raises(StoreUnavailable) as exc:
        store.complete_session(big)
    assert exc.value.reason == "full"
    assert "free disk space" in str(exc.value)
    # nothing of the failed transaction was kept: no record, live transaction still open
    assert store.sessions() == []
    assert store.live_transaction("CP1", 1) is not None

    conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.complete_session(big).outcome == RECORDED
    assert store.complete_session(big).outcome == "duplicate"
    assert store.sessions() == [big]
    assert store.live_transaction("CP1", 1) is None


def test_unwritable_location_is_reported_with_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable) as exc:
        Store(blocker / "balanz.sqlite")
    assert exc.value.reason == "cannot-open"
    assert str(blocker) in str(exc.value)


def test_not_a_database_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "balanz.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable) as exc:
        Store(path)
    assert exc.value.reason == "corrupt"
    assert "backup" in str(exc.value)


def test_retry_policy_backs_off_exponentially_up_to_a_cap():
    policy = RetryPolicy(initial_s=0.25, factor=2.0, max_s=5.0)
    assert policy.schedule(7) == (0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="attempt"):
        policy.delay(0)


async def test_shell_retry_loop_on_virtual_clock(store, store_path, autojump_clock):
    """The pattern the shell uses: sleep the policy's delay on trio's clock, then try again."""
    import trio

    record = session()
    other = sqlite3.connect(store_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    policy = RetryPolicy(initial_s=1.0, max_s=4.0)
    attempts = 0
    start = trio.current_time()
    while True:
        try:
            outcome = store.complete_session(record).outcome
            break
        except StoreUnavailable:
            attempts += 1
            if attempts == 3:
                other.execute("ROLLBACK")
                other.close()
            await trio.sleep(policy.delay(attempts))
    assert (outcome, attempts) == (RECORDED, 3)
    assert trio.current_time() - start == pytest.approx(1.0 + 2.0 + 4.0)
    assert store.sessions() == [record]
