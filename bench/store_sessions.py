"""How many sessions per second the store records durably (synchronous=FULL, one fsync per commit).

Two figures on a file database in a temporary directory on the same file system as this script (not /tmp,
which may be memory-backed and would make fsync free):
- `complete_session` alone (what a StopTransaction costs before it can be acknowledged);
- a whole session cycle as the CSMS shell does it: next_transaction_id + upsert_live_transaction at start,
  complete_session at stop (three durable commits).

Usage: python bench/store_sessions.py [N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from balanz.csms.sessions import close_transaction
from balanz.sessions import HistoryEntry, LiveTransaction
from balanz.store import Store

T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)


def live(i: int, transaction_id: int | None = None) -> LiveTransaction:
    start = T0 + timedelta(minutes=i)
    return LiveTransaction(
        charger_id=f"CP{i % 50}",
        connector_id=1,
        transaction_id=transaction_id or i + 1,
        id_tag="8A03EE96",
        start_time=start,
        received_at=start,
        meter_start_wh=1_000_000.0 + i,
        user_name="Bench",
        history=tuple(
            HistoryEntry(start + timedelta(minutes=m), 6.0 + m % 10, 5.5 + m % 10) for m in range(30)
        ),
    )


def record(tx: LiveTransaction):
    return close_transaction(
        tx,
        end_time=tx.start_time + timedelta(hours=2),
        meter_stop_wh=(tx.meter_start_wh or 0) + 18_000,
        reason="EVDisconnected",
    )


def bench_complete(store: Store, n: int) -> float:
    records = [record(live(i)) for i in range(n)]
    began = time.perf_counter()
    for r in records:
        store.complete_session(r)
    return n / (time.perf_counter() - began)


def bench_cycle(store: Store, n: int) -> float:
    """As the CSMS shell does it: the id from the store's counter, the live transaction written at start,
    closed (record built) and completed at stop, which removes the live transaction again."""
    began = time.perf_counter()
    for i in range(n):
        tx = live(n + i, store.next_transaction_id(1))
        store.upsert_live_transaction(tx)
        store.complete_session(record(tx))
    elapsed = time.perf_counter() - began
    assert not store.live_transactions()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=500)
    parser.add_argument("--dir", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=".store-bench-", dir=args.dir))
    try:
        fs = subprocess.run(["df", "-T", str(work)], capture_output=True, text=True).stdout.splitlines()[-1]
        with Store(work / "bench.sqlite") as store:
            complete = bench_complete(store, args.n)
            cycle = bench_cycle(store, args.n)
            size = (work / "bench.sqlite").stat().st_size + (work / "bench.sqlite-wal").stat().st_size
    finally:
        shutil.rmtree(work)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpu, python {platform.python_version()}")
    print(f"file system: {' '.join(fs.split()[:2])}")
    print(f"complete_session (durable): {complete:.0f} sessions/s over {args.n}")
    print(f"full cycle (3 durable commits): {cycle:.0f} sessions/s over {args.n}")
    print(f"database size after {2 * args.n} sessions: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
