"""The WAL is checkpointed by a thread of its own, never inside a commit."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.sqlite_store import QuietSQLiteFactory
from ledger.sqlite_wal import WalCheckpointer, quiet_commits
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.support import wait_until


def _wal_database(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
    return db


def _frames_uncopied(path: Path) -> int:
    """Frames in the WAL not yet copied back (a PASSIVE checkpoint of nothing new: 0)."""
    probe = sqlite3.connect(path, isolation_level=None)
    try:
        probe.execute("PRAGMA wal_autocheckpoint=0")
        _busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
    except sqlite3.OperationalError:  # older SQLite without NOOP
        _busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    return int(frames) - int(copied)


def test_quiet_commits_leave_the_wal_to_grow(tmp_path: Path) -> None:
    db = _wal_database(tmp_path / "q.sqlite3")
    quiet_commits(db)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    for _ in range(1500):  # beyond SQLite's 1,000-page automatic checkpoint
        db.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert (tmp_path / "q.sqlite3-wal").stat().st_size > 1000 * 4096
    db.close()


def test_the_checkpointer_copies_the_wal_back_while_the_writer_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    db = _wal_database(path)
    quiet_commits(db)
    checkpointer = WalCheckpointer(path, every=0.02).start()
    try:
        for _ in range(200):
            db.execute("INSERT INTO t VALUES (randomblob(4000))")
        rounds = checkpointer.rounds
        wait_until(lambda: checkpointer.rounds >= rounds + 2, timeout=10, what="two more rounds")
        assert db.execute("SELECT count(*) FROM t").fetchone() == (200,)
        # What the writer committed is in the database file, not only in the WAL.
        wait_until(lambda: _frames_uncopied(path) == 0, timeout=10, what="the WAL copied back")
    finally:
        checkpointer.stop()
        db.close()
    assert not any(t.name.startswith("wal-checkpoint") for t in threading.enumerate())


def test_the_checkpointer_waits_for_a_database_that_is_not_there_yet(tmp_path: Path) -> None:
    path = tmp_path / "later.sqlite3"
    checkpointer = WalCheckpointer(path, every=0.02).start()
    try:
        wait_until(lambda: checkpointer.attempts >= 3, timeout=10, what="three rounds")
        assert not path.exists()  # rounds that found nothing did not create it
        assert checkpointer.rounds == 0
        db = _wal_database(path)
        db.execute("INSERT INTO t VALUES (x'00')")
        wait_until(lambda: checkpointer.rounds > 0, timeout=10, what="a checkpoint")
        db.close()
    finally:
        checkpointer.stop()


def test_an_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^every: 0 s"):
        WalCheckpointer(tmp_path / "x", every=0)


def test_the_ledger_commits_quietly_and_stops_its_checkpointer_on_close(tmp_path: Path) -> None:
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    factory = ledger.factory
    assert isinstance(factory, QuietSQLiteFactory)
    assert factory.checkpointer is not None
    ledger.record([b.document("m1", "d1")])
    with factory.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 0
    ledger.close()
    assert not any(t.name == "wal-checkpoint ledger.sqlite3" for t in threading.enumerate())
    reopened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    try:
        assert reopened.size() == 3
    finally:
        reopened.close()
