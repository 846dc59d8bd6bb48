"""eventsourcing's SQLite persistence, with commits that never checkpoint the WAL.

The same recorders, tables and files as `eventsourcing.sqlite`; only each connection is
told not to checkpoint in its commits, and the factory keeps a `WalCheckpointer` running
while it is open (`ledger.sqlite_wal` says why: a commit in a few hundred took 10-20 ms).
"""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

from ledger.sqlite_wal import WalCheckpointer

TOPIC = "ledger.sqlite_store:QuietSQLiteFactory"


class QuietCommitPool(SQLiteConnectionPool):
    """Connections with SQLite's automatic checkpoints off."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.sqlite_cursor.close()
        return connection


class QuietSQLiteFactory(SQLiteFactory):
    """`SQLiteFactory` whose datastore's connections commit without checkpointing, and a
    checkpointer thread of its own until `close`."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        pool = self.datastore.pool  # made, not yet connected: connections are lazy
        self.datastore.pool = QuietCommitPool(
            db_name=pool.db_name,
            lock_timeout=pool.lock_timeout,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.pool_timeout,
            max_age=pool.max_age,
            pre_ping=pool.pre_ping,
        )
        self.checkpointer: WalCheckpointer | None = None
        if not pool.is_sqlite_memory_mode:
            self.checkpointer = WalCheckpointer(pool.db_name).start()

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        super().close()
