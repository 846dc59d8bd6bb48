"""The checkpoint signer's lease as a PostgreSQL session-level advisory lock.

The lock lives as long as the session that took it: a hub that stops cleanly unlocks it, a
hub killed with -9 loses its connection and PostgreSQL frees the lock as soon as it notices
(at once for a closed socket; TCP keepalives bound the time for a vanished machine). Every
tick the holder checks its session is still alive; a hub whose connection broke stops
signing until it takes the lock again, so two hubs never both believe they hold it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from typing import Any

import psycopg

from ledger.storage import PostgresStorage

log = logging.getLogger("truc.lease")


def lock_key(storage: PostgresStorage) -> int:
    """A signed 64-bit key naming 'the signer of this ledger' (database and schema)."""
    name = f"truc-checkpoint-signer:{storage.dbname}:{storage.schema}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


def application_name(pid: int | None = None) -> str:
    return f"truc-signer-{pid or os.getpid()}"


class PostgresSignerLease:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage
        self._key = lock_key(storage)
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False

    def held(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._held = False
                self._conn = psycopg.connect(
                    host=self._storage.host,
                    port=self._storage.port,
                    user=self._storage.user,
                    password=self._storage.password or None,
                    dbname=self._storage.dbname,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=application_name(),
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=3,
                )
            if self._held:
                self._conn.execute("SELECT 1")  # the session (and so the lock) is alive
            else:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
                self._held = bool(row and row[0])
                if self._held:
                    log.warning("this hub now holds the checkpoint signer lease")
        except psycopg.Error as error:
            if self._held:
                log.warning("checkpoint signer lease lost: %s", error)
            self._held = False
            self._close()
        return self._held

    def release(self) -> None:
        if self._conn is not None and self._held:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        self._held = False
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
