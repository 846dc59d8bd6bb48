"""eventsourcing's SQLite persistence, with commits that never checkpoint the WAL and
writers of several processes let in turn without SQLite's sleeps.

The same recorders, tables and files as `eventsourcing.sqlite`; only each connection is
told not to checkpoint in its commits, the factory keeps a `WalCheckpointer` running
while it is open (`ledger.sqlite_wal` says why: a commit in a few hundred took 10-20 ms),
and a connection for writing comes with the database's `WriteTurnstile` held
(`ledger.sqlite_turnstile` says why).
"""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

from ledger.sqlite_turnstile import WriteTurnstile
from ledger.sqlite_wal import WalCheckpointer, quiet_commits

# When the storage sets no lock timeout: eventsourcing's (and Python's) default.
DEFAULT_LOCK_TIMEOUT = 5.0

TOPIC = "ledger.sqlite_store:QuietSQLiteFactory"


class QuietCommitPool(SQLiteConnectionPool):
    """Connections with SQLite's automatic checkpoints off; the one for writing (this
    pool issues one at a time) handed out with the turnstile held until it is put back."""

    turnstile: WriteTurnstile | None = None

    def get_connection(
        self, timeout: float | None = None, *, is_writer: bool | None = None
    ) -> SQLiteConnection:
        connection = super().get_connection(timeout, is_writer=is_writer)
        if is_writer is True and self.turnstile is not None:
            try:
                self.turnstile.acquire()
            except BaseException:
                super().put_connection(connection)
                raise
        return connection

    def put_connection(self, conn: SQLiteConnection) -> None:
        writer = conn.is_writer is True
        try:
            super().put_connection(conn)
        finally:
            if writer and self.turnstile is not None:
                self.turnstile.release()

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            cursor = connection.cursor()
            quiet_commits(cursor.sqlite_cursor)
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
        self.turnstile: WriteTurnstile | None = None
        if not pool.is_sqlite_memory_mode:
            self.turnstile = WriteTurnstile(
                pool.db_name, timeout=float(pool.lock_timeout or DEFAULT_LOCK_TIMEOUT)
            )
            self.datastore.pool.turnstile = self.turnstile
            self.checkpointer = WalCheckpointer(pool.db_name).start()

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        super().close()
        if self.turnstile is not None:
            self.turnstile.close()
