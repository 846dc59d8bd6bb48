"""Benchmark: how long a short write to a SQLite database waits beside another process's
longer ones (the hub's batches beside its followers' transactions), with SQLite's busy
handler alone and with the ledger's write turnstile taken first (ledger/sqlite_turnstile.py).

    python benchmarks/sqlite_turns.py --hold-ms 15
    # busy handler: mean … p99 … max … ms; turnstile: mean … p99 … max … ms

The other process holds the write lock `--hold-ms` (busy CPU, as a transaction does), then
rests 30 ms; the short writes come every 2 ms. Two rounds each, interleaved.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sqlite3
import sys
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.sqlite_turnstile import WriteTurnstile  # noqa: E402


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _long_writer(path: Path, turnstile: bool, hold: float, ready: Event, stop: Event) -> None:
    connection = _connect(path)
    turns = WriteTurnstile(path, timeout=10) if turnstile else None
    ready.set()
    while not stop.is_set():
        if turns:
            turns.acquire()
        connection.execute("BEGIN IMMEDIATE")
        end = time.perf_counter() + hold
        while time.perf_counter() < end:  # the transaction's work, holding the lock
            pass
        connection.execute("INSERT INTO t VALUES (1)")
        connection.execute("COMMIT")
        if turns:
            turns.release()
        time.sleep(0.03)


def _round(directory: Path, turnstile: bool, hold: float, writes: int) -> list[float]:
    path = directory / f"turns-{turnstile}-{time.monotonic_ns()}.sqlite3"
    connection = _connect(path)
    connection.execute("CREATE TABLE t (x)")
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    other = multiprocessing.Process(target=_long_writer, args=(path, turnstile, hold, ready, stop))
    other.start()
    ready.wait(30)
    turns = WriteTurnstile(path, timeout=10) if turnstile else None
    waits: list[float] = []
    for _ in range(writes):
        started = time.perf_counter()
        if turns:
            turns.acquire()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (2)")
        connection.execute("COMMIT")
        if turns:
            turns.release()
        waits.append((time.perf_counter() - started) * 1000)
        time.sleep(0.002)  # the pace of the short writes
    stop.set()
    other.join(30)
    connection.close()
    return waits


def _summary(waits: list[float]) -> str:
    ordered = sorted(waits)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return f"mean {statistics.mean(ordered):.2f} p99 {p99:.2f} max {ordered[-1]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold-ms", type=float, default=15.0)
    parser.add_argument("--writes", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(2):
            for turnstile in (False, True):
                waits = _round(Path(directory), turnstile, args.hold_ms / 1000, args.writes)
                label = "turnstile" if turnstile else "busy handler"
                print(f"{label}: {_summary(waits)}")


if __name__ == "__main__":
    main()
