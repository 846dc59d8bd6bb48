"""Where the ledger writes is decided by its configuration only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.sqlite_store import QuietSQLiteFactory
from ledger.storage import InvalidStorage, PostgresStorage, SqliteStorage
from tests.ledger import builders as b


def test_stray_persistence_variables_in_the_environment_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # eventsourcing reads these (and TRUC_-prefixed ones) from os.environ by default.
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.postgres")
    monkeypatch.setenv("TRUC_PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "elsewhere.sqlite3"))
    monkeypatch.setenv("AGGREGATE_CACHE_MAXSIZE", "1")
    ledger = Ledger(SqliteStorage(tmp_path / "configured.sqlite3"))
    try:
        ledger.record([b.document("m1", "d1")])
        assert isinstance(ledger.factory, QuietSQLiteFactory)  # eventsourcing's SQLite
        assert ledger.repository.cache is None
    finally:
        ledger.close()
    assert (tmp_path / "configured.sqlite3").exists()
    assert not (tmp_path / "elsewhere.sqlite3").exists()
    reopened = Ledger(SqliteStorage(tmp_path / "configured.sqlite3"))
    try:
        assert reopened.size() == 3
    finally:
        reopened.close()


@pytest.mark.parametrize("schema", ['x"; DROP TABLE t; --', "Upper", "9lives", "a" * 64])
def test_a_postgres_schema_must_be_a_plain_identifier(schema: str) -> None:
    with pytest.raises(InvalidStorage, match=r"^ledger\.postgres\.schema: "):
        PostgresStorage(schema=schema)
