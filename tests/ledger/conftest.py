"""Fixtures for the verifiable-ledger tests: a ledger on each backend, and signed traffic.

PostgreSQL tests get a schema of their own (dropped afterwards) and are skipped with the
reason when the server at 127.0.0.1:5432 is unreachable, except under CI=true, where an
unreachable server is a failure: CI must not go green by skipping the backend.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.crypto import Signer
from adapters.envelope import open_envelope, seal
from hub.intake import iso_ms
from hub.model import Kind
from ledger.application import Ledger
from ledger.commands import RecordDocument, RecordStatus
from ledger.storage import PostgresStorage, SqliteStorage, Storage
from tests.support import G15, G22, H49

PG = {
    "host": os.environ.get("TRUC_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("TRUC_TEST_PG_PORT", "5432")),
    "user": os.environ.get("TRUC_TEST_PG_USER", "postgres"),
    "dbname": os.environ.get("TRUC_TEST_PG_DBNAME", "test"),
}


def _postgres_or_skip() -> None:
    import psycopg

    try:
        psycopg.connect(**PG, connect_timeout=3).close()  # type: ignore[arg-type]
    except psycopg.Error as error:
        message = f"PostgreSQL at {PG['host']}:{PG['port']} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)


@pytest.fixture(params=["sqlite", "postgres"])
def open_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """Opens a Ledger on this test's own database (call again to reopen: a restart)."""
    opened: list[Ledger] = []
    storage: Storage
    schema = ""
    if request.param == "postgres":
        import psycopg

        _postgres_or_skip()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(f'CREATE SCHEMA "{schema}"')
        storage = PostgresStorage(
            dbname=str(PG["dbname"]),
            host=str(PG["host"]),
            port=int(PG["port"]),
            user=str(PG["user"]),
            schema=schema,
        )
    else:
        storage = SqliteStorage(tmp_path / "ledger.sqlite3")

    def make() -> Ledger:
        ledger = Ledger(storage)
        opened.append(ledger)
        return ledger

    try:
        yield make
    finally:
        for ledger in opened:
            ledger.close()
        if schema:
            import psycopg

            with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Traffic:
    """Records signed documents and statuses the way the hub does (real envelopes)."""

    signers: dict[str, Signer] = field(
        default_factory=lambda: {code: Signer.generate(code) for code in (G22, G15, H49)}
    )
    clock_ms: int = 1_750_000_000_000

    def _signed(
        self, sender: str, kind: Kind, recipients: tuple[str, ...], document_id: str, payload: bytes
    ) -> tuple[str, str, str, int]:
        self.clock_ms += 1000
        message_id, raw = seal(
            self.signers[sender],
            kind=kind,
            recipients=recipients,
            document_id=document_id,
            payload=payload,
            signed_at_ms=self.clock_ms,
        )
        opened = open_envelope(raw)
        return (
            message_id,
            base64.b64encode(opened.header_bytes).decode(),
            base64.b64encode(opened.signature).decode(),
            self.clock_ms,
        )

    def document(self, ledger: Ledger, sender: str = G22, recipient: str = H49) -> str:
        """One signed document (2 events: sent, routed); returns its document id."""
        document_id = str(uuid.uuid4())
        message_id, header, signature, at = self._signed(
            sender, Kind.DOCUMENT, (recipient,), document_id, b"payload"
        )
        outcome = ledger.record(
            [
                RecordDocument(
                    message_id=message_id,
                    document_id=document_id,
                    sender=sender,
                    recipients=(recipient,),
                    key_id=self.signers[sender].key_id,
                    signed_at=iso_ms(at),
                    received_at=iso_ms(at),
                    header_b64=header,
                    signature_b64=signature,
                    payload_sha256="00" * 32,
                    subject="Công văn",
                )
            ]
        )
        assert outcome and getattr(outcome[0], "position", 0) > 0, outcome
        return document_id

    def status(
        self, ledger: Ledger, document_id: str, reporter: str = H49, code: str = "01"
    ) -> int:
        """One signed status on a document; returns its ledger position."""
        message_id, header, signature, at = self._signed(
            reporter, Kind.STATUS, (G22,), document_id, code.encode()
        )
        outcome = ledger.record(
            [
                RecordStatus(
                    message_id=message_id,
                    document_id=document_id,
                    reporter=reporter,
                    status_code=code,
                    description="",
                    received_at=iso_ms(at),
                    header_b64=header,
                    signature_b64=signature,
                )
            ]
        )
        position = getattr(outcome[0], "position", 0)
        assert position > 0, outcome
        return int(position)

    def fill(self, ledger: Ledger, documents: int) -> None:
        """``documents`` documents, each sent, routed and acknowledged (01): 3 events each."""
        for _ in range(documents):
            self.status(ledger, self.document(ledger))


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


class EventsTable:
    """Tampers with the events table behind the ledger's back, as an attacker with database
    access would (same SQL on both backends, through the ledger's own datastore)."""

    def __init__(self, ledger: Ledger) -> None:
        from ledger.merkle_log import SqlDatabase

        self.db = SqlDatabase(ledger.recorder)
        self.table = self.db.table(getattr(ledger.recorder, "events_table_name", "stored_events"))
        self.position = "rowid" if self.db.kind == "sqlite" else "notification_id"

    def _run(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        with self.db.transaction(commit=True) as cursor:
            for statement, params in statements:
                self.db.execute(cursor, statement, params)

    def state(self, position: int) -> bytes:
        with self.db.transaction(commit=False) as cursor:
            self.db.execute(
                cursor, f"SELECT state FROM {self.table} WHERE {self.position} = ?", (position,)
            )
            row = cursor.fetchone()
        assert row is not None, f"no event at position {position}"
        return bytes(row["state"])

    def flip_byte(self, position: int, offset: int = -3) -> None:
        """Change one byte of one stored event's state."""
        state = bytearray(self.state(position))
        state[offset] ^= 0x01
        self._run(
            (
                f"UPDATE {self.table} SET state = ? WHERE {self.position} = ?",
                (bytes(state), position),
            )
        )

    def delete(self, position: int) -> None:
        self._run((f"DELETE FROM {self.table} WHERE {self.position} = ?", (position,)))

    def swap(self, a: int, b: int) -> None:
        """Swap the positions of two stored events."""
        column = f"UPDATE {self.table} SET {self.position} = ? WHERE {self.position} = ?"
        self._run((column, (-1, a)), (column, (a, b)), (column, (b, -1)))
