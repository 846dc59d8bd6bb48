"""Writers of one SQLite database from several processes take turns on a file lock."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.sqlite_store import QuietSQLiteFactory
from ledger.sqlite_turnstile import TurnstileTimeout, WriteTurnstile, turnstile_path
from ledger.storage import SqliteStorage
from tests.ledger import builders as b


def test_the_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    assert turnstile_path(tmp_path / "ledger.sqlite3") == tmp_path / "ledger.sqlite3-writer"


def test_a_second_holder_waits_for_the_first_and_is_let_in_on_release(tmp_path: Path) -> None:
    first = WriteTurnstile(tmp_path / "db", timeout=10)
    second = WriteTurnstile(tmp_path / "db", timeout=10)  # another open file: another writer
    entered = threading.Event()

    def enter() -> None:
        with second:
            entered.set()

    first.acquire()
    waiter = threading.Thread(target=enter)
    waiter.start()
    assert not entered.wait(0.2)  # held: the second writer must still be waiting
    first.release()
    assert entered.wait(10)
    waiter.join(10)
    first.close()
    second.close()


def test_a_holder_that_keeps_it_past_the_timeout_is_named(tmp_path: Path) -> None:
    holder = WriteTurnstile(tmp_path / "db", timeout=10)
    impatient = WriteTurnstile(tmp_path / "db", timeout=0.05)
    refused = pytest.raises(TurnstileTimeout, match=r"db-writer: another process kept it 0.05 s")
    with holder, refused:
        impatient.acquire()
    impatient.acquire()  # free again, and the failed attempt left nothing held
    impatient.release()
    holder.close()
    impatient.close()


def test_a_process_that_dies_holding_it_releases_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ledger.sqlite_turnstile import WriteTurnstile as T;"
            f" t = T({str(tmp_path / 'db')!r}, timeout=10); t.acquire();"
            " print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    mine = WriteTurnstile(tmp_path / "db", timeout=0.05)
    with pytest.raises(TurnstileTimeout):
        mine.acquire()
    holder.kill()
    holder.wait(10)
    mine.timeout = 10
    with mine:
        pass
    mine.close()


def test_a_timeout_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^timeout: 0 s"):
        WriteTurnstile(tmp_path / "db", timeout=0)


def test_the_ledger_writes_with_the_turnstile_held_and_reads_without(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(SqliteStorage(path))
    factory = ledger.factory
    assert isinstance(factory, QuietSQLiteFactory)
    other = WriteTurnstile(path, timeout=0.05)  # what the followers' process would hold
    try:
        with factory.datastore.transaction(commit=True), pytest.raises(TurnstileTimeout):
            other.acquire()
        with factory.datastore.transaction(commit=False):
            other.acquire()  # a reader holds nothing
            other.release()
        with other:  # held elsewhere: the ledger's write waits its turn, then goes on
            done = threading.Event()
            writer = threading.Thread(
                target=lambda: (ledger.record([b.document("m1", "d1")]), done.set())
            )
            writer.start()
            assert not done.wait(0.2)
        assert done.wait(10)
        writer.join(10)
        assert ledger.size() == 3
    finally:
        other.close()
        ledger.close()
