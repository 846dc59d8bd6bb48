"""Where the ledger keeps its events: chosen by configuration only.

Both backends are eventsourcing's own persistence modules; this module only turns a typed
setting into the environment those modules read, so nothing else knows their variable names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import LedgerError
from ledger.sqlite_store import TOPIC as SQLITE_FACTORY

# Schemas are spliced into SQL (quoted) by the projections and position queries.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class InvalidStorage(LedgerError, ValueError):
    """A storage setting that cannot work; names the setting."""


@dataclass(frozen=True)
class SqliteStorage:
    """A single SQLite file: the default, nothing to install."""

    path: Path

    def env(self) -> dict[str, str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return {
            # eventsourcing's SQLite persistence, with WAL checkpoints off the commits.
            "PERSISTENCE_MODULE": SQLITE_FACTORY,
            "SQLITE_DBNAME": str(self.path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }

    def describe(self) -> str:
        return f"sqlite:{self.path}"


@dataclass(frozen=True)
class PostgresStorage:
    """PostgreSQL, for production and for several hub processes sharing one ledger."""

    dbname: str = "test"
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    schema: str = ""

    def __post_init__(self) -> None:
        if self.schema and not _IDENTIFIER.fullmatch(self.schema):
            raise InvalidStorage(
                f"ledger.postgres.schema: {self.schema!r} must be a lowercase PostgreSQL"
                " identifier (a-z, 0-9, _; at most 63 characters)"
            )

    def env(self) -> dict[str, str]:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": "4",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def describe(self) -> str:
        schema = f"/{self.schema}" if self.schema else ""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}{schema}"


Storage = SqliteStorage | PostgresStorage
