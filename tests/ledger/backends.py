"""The two storage backends for the ledger contract tests, and time helpers.

PostgreSQL: each test gets a schema of its own (created here, dropped afterwards). When the
server is unreachable the test is skipped with the reason, except under CI=true, where that
is a failure: CI must not go green by skipping a backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from ledger.storage import PostgresStorage

PG_HOST = os.environ.get("TRUC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TRUC_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TRUC_TEST_PG_USER", "postgres")
PG_DBNAME = os.environ.get("TRUC_TEST_PG_DBNAME", "test")
T0 = datetime(2026, 6, 9, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def at(minutes: float) -> str:
    """A receive time `minutes` after T0, written the way the hub writes it."""
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


def instant(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _connect() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            dbname=PG_DBNAME,
            connect_timeout=3,
            autocommit=True,
        )
    except psycopg.Error as error:
        message = (
            f"PostgreSQL at {PG_HOST}:{PG_PORT} (database {PG_DBNAME}) is unreachable: {error}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run, not skip)")
        pytest.skip(message)


@contextmanager
def postgres_storage() -> Iterator[PostgresStorage]:
    """PostgresStorage on a fresh schema of its own, dropped on exit."""
    conn = _connect()
    schema = f"truc_t_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PostgresStorage(
            dbname=PG_DBNAME, host=PG_HOST, port=PG_PORT, user=PG_USER, schema=schema
        )
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()
