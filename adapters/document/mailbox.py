"""The adapter's own durable store: what its member sent, received and acknowledged.

A message is acknowledged to NATS only once it is here, and handed to the agency system from
here, so a crash between the two loses nothing and a NATS redelivery is dropped by the unique
message id instead of reaching the agency twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ledger.sqlite_wal import WalCheckpointer, quiet_commits

# Ids per `IN (...)` query: well under SQLite's limit on bound parameters.
_SQL_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    ledger_position INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    routed BLOB NOT NULL,
    acknowledged_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_document ON inbox(document_id);
-- What the agency system has not taken yet: listing it (an Inbox or InboxBatches call, a
-- poll) walks only these rows, not every item ever acknowledged since delivery id `after`.
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(delivery_id) WHERE acknowledged_at_ms IS NULL;
CREATE TABLE IF NOT EXISTS sent (
    message_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipients TEXT NOT NULL,
    envelope BLOB NOT NULL,
    payload BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    accepted INTEGER,
    ledger_position INTEGER,
    reject_code TEXT,
    reject_reason TEXT
);
CREATE INDEX IF NOT EXISTS sent_document ON sent(document_id);
-- What the hub has not answered yet, oldest first: each republishing round reads only these.
CREATE INDEX IF NOT EXISTS sent_unconfirmed ON sent(created_at_ms) WHERE accepted IS NULL;
CREATE TABLE IF NOT EXISTS uploads (
    object_name TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS attachment_problems (
    message_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    problem TEXT NOT NULL,
    PRIMARY KEY (message_id, idx)
);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    ledger_position INTEGER NOT NULL,
    PRIMARY KEY (message_id, recipient)
);
"""


@dataclass(frozen=True)
class Arrival:
    """A verified routed message, as the inbox keeps it."""

    message_id: str
    kind: str
    document_id: str
    sender: str
    ledger_position: int
    received_at_ms: int
    routed: bytes


@dataclass(frozen=True)
class HubVerdict:
    message_id: str
    accepted: bool
    position: int
    code: str
    reason: str


@dataclass(frozen=True)
class DeliveryProof:
    message_id: str
    recipient: str
    position: int


@dataclass(frozen=True)
class Outbound:
    """A signed message of ours, as `sent` keeps it before it is published."""

    message_id: str
    document_id: str
    kind: str
    recipients: tuple[str, ...]
    envelope: bytes
    payload: bytes
    created_at_ms: int


@dataclass(frozen=True)
class InboxRow:
    delivery_id: int
    message_id: str
    kind: str
    document_id: str
    sender: str
    ledger_position: int
    received_at_ms: int
    routed: bytes
    acknowledged: bool


@dataclass(frozen=True)
class SentRow:
    message_id: str
    document_id: str
    kind: str
    recipients: tuple[str, ...]
    envelope: bytes
    payload: bytes
    created_at_ms: int
    accepted: bool | None
    ledger_position: int | None
    reject_code: str | None
    reject_reason: str | None


class Mailbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        quiet_commits(self._db)  # checkpoints on a thread of their own (ledger.sqlite_wal)
        self._db.executescript(_SCHEMA)
        self._checkpointer = WalCheckpointer(path).start()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._checkpointer.stop()
        with self._lock:
            self._db.close()

    # -- inbox ------------------------------------------------------------------------------

    def store_received(
        self,
        *,
        message_id: str,
        kind: str,
        document_id: str,
        sender: str,
        ledger_position: int,
        received_at_ms: int,
        routed: bytes,
    ) -> bool:
        """Keep a verified routed message; False when it was already here (a redelivery)."""
        (stored,) = self.store_received_many(
            [
                Arrival(
                    message_id, kind, document_id, sender, ledger_position, received_at_ms, routed
                )
            ]
        )
        return stored

    def store_received_many(self, arrivals: Sequence[Arrival]) -> list[bool]:
        """Keep a batch of verified routed messages in one transaction (one commit for a
        whole pull from NATS); per message, False when it was already here."""
        stored = []
        with self._tx() as db:
            for a in arrivals:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO inbox (message_id, kind, document_id, sender,"
                    " ledger_position, received_at_ms, routed) VALUES (?,?,?,?,?,?,?)",
                    (
                        a.message_id,
                        a.kind,
                        a.document_id,
                        a.sender,
                        a.ledger_position,
                        a.received_at_ms,
                        a.routed,
                    ),
                )
                stored.append(cursor.rowcount == 1)
        return stored

    def inbox(self, *, after: int = 0, include_acknowledged: bool = False) -> list[InboxRow]:
        sql = "SELECT * FROM inbox WHERE delivery_id > ?"
        if not include_acknowledged:
            sql += " AND acknowledged_at_ms IS NULL"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY delivery_id", (after,)).fetchall()
        return [_inbox_row(r) for r in rows]

    def has_inbox_after(self, after: int, *, include_acknowledged: bool = False) -> bool:
        """Whether `inbox(after=after, ...)` would return anything."""
        sql = "SELECT 1 FROM inbox WHERE delivery_id > ?"
        if not include_acknowledged:
            sql += " AND acknowledged_at_ms IS NULL"
        with self._lock:
            return self._db.execute(sql + " LIMIT 1", (after,)).fetchone() is not None

    def inbox_item(self, delivery_id: int) -> InboxRow | None:
        return self.inbox_items([delivery_id]).get(delivery_id)

    def inbox_items(self, delivery_ids: Sequence[int]) -> dict[int, InboxRow]:
        """The inbox items with these delivery ids (unknown ids are left out)."""
        found: dict[int, InboxRow] = {}
        ids = list(delivery_ids)
        with self._lock:
            for start in range(0, len(ids), _SQL_CHUNK):
                chunk = ids[start : start + _SQL_CHUNK]
                rows = self._db.execute(
                    f"SELECT * FROM inbox WHERE delivery_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                found.update((r["delivery_id"], _inbox_row(r)) for r in rows)
        return found

    def acknowledge(self, delivery_id: int, now_ms: int) -> bool:
        """Mark an item taken by the agency system; False when it already was."""
        return self.acknowledge_many([delivery_id], now_ms)[0] == [delivery_id]

    def acknowledge_many(
        self,
        delivery_ids: Sequence[int],
        now_ms: int,
        prove: Callable[[list[int]], Sequence[Outbound]] | None = None,
    ) -> tuple[list[int], list[Outbound]]:
        """Mark items taken by the agency system, in one transaction, and keep in that same
        transaction the signed delivery proofs `prove` makes for exactly the items this call
        marked: an item is never marked without its proof kept, nor proved twice by two
        acknowledgements that raced. Returns the ids this call marked (not those already
        marked, nor unknown ones) and the proofs kept."""
        marked: list[int] = []
        with self._tx() as db:
            for delivery_id in delivery_ids:
                cursor = db.execute(
                    "UPDATE inbox SET acknowledged_at_ms = ? WHERE delivery_id = ?"
                    " AND acknowledged_at_ms IS NULL",
                    (now_ms, delivery_id),
                )
                if cursor.rowcount == 1:
                    marked.append(delivery_id)
            proofs = list(prove(marked)) if prove is not None and marked else []
            for proof in proofs:
                _insert_sent(db, proof)
        return marked, proofs

    def arrival_times(self) -> list[tuple[str, int, int | None]]:
        """(message id, kept at, acknowledged at) of every inbox item, in Unix ms: what the
        bench's stage trace reads of a mailbox (`hub.bench_stages`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, received_at_ms, acknowledged_at_ms FROM inbox"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def received(self, message_id: str) -> InboxRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM inbox WHERE message_id = ?", (message_id,)
            ).fetchone()
        return _inbox_row(row) if row else None

    def received_for(self, document_id: str) -> list[InboxRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM inbox WHERE document_id = ? ORDER BY delivery_id", (document_id,)
            ).fetchall()
        return [_inbox_row(r) for r in rows]

    # -- sent -------------------------------------------------------------------------------

    def store_sent(
        self,
        *,
        message_id: str,
        document_id: str,
        kind: str,
        recipients: tuple[str, ...],
        envelope: bytes,
        payload: bytes,
        created_at_ms: int,
    ) -> None:
        self.store_sent_many(
            [Outbound(message_id, document_id, kind, recipients, envelope, payload, created_at_ms)]
        )

    def store_sent_many(self, messages: Sequence[Outbound]) -> list[bool]:
        """Keep signed messages before they are published, in one transaction; per message,
        False when one with its id was already kept (the first bytes stay)."""
        with self._tx() as db:
            return [_insert_sent(db, m) for m in messages]

    def sent(self, message_id: str) -> SentRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM sent WHERE message_id = ?", (message_id,)
            ).fetchone()
        return _sent_row(row) if row else None

    # -- attachments ------------------------------------------------------------------------

    def store_upload(
        self, *, object_name: str, name: str, size: int, sha256: bytes, created_at_ms: int
    ) -> None:
        """An object this adapter wrote to its member's bucket (and the digest it computed)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?,?,?,?,?)",
                (object_name, name, size, sha256, created_at_ms),
            )

    def upload(self, object_name: str) -> tuple[str, int, bytes] | None:
        """(name, size, SHA-256) of an object this adapter stored, None when it did not."""
        with self._lock:
            row = self._db.execute(
                "SELECT name, size, sha256 FROM uploads WHERE object_name = ?", (object_name,)
            ).fetchone()
        return (str(row[0]), int(row[1]), bytes(row[2])) if row else None

    def record_attachment_problem(self, message_id: str, index: int, problem: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO attachment_problems VALUES (?,?,?)",
                (message_id, index, problem),
            )

    def attachment_problems_of(self, message_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        """Stored attachments of received messages that failed the check on arrival, by
        message id; messages whose attachments all passed are left out."""
        found: dict[str, dict[int, str]] = {}
        ids = list(message_ids)
        with self._lock:
            for start in range(0, len(ids), _SQL_CHUNK):
                chunk = ids[start : start + _SQL_CHUNK]
                rows = self._db.execute(
                    "SELECT message_id, idx, problem FROM attachment_problems"
                    f" WHERE message_id IN ({','.join('?' * len(chunk))}) ORDER BY idx",
                    chunk,
                ).fetchall()
                for row in rows:
                    found.setdefault(str(row[0]), {})[int(row[1])] = str(row[2])
        return found

    def sent_documents(self) -> list[SentRow]:
        """Every document (not status or delivery) this member sent, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM sent WHERE kind = 'document' ORDER BY created_at_ms DESC"
            ).fetchall()
        return [_sent_row(r) for r in rows]

    def sent_for(self, document_id: str) -> list[SentRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM sent WHERE document_id = ? ORDER BY created_at_ms", (document_id,)
            ).fetchall()
        return [_sent_row(r) for r in rows]

    def unconfirmed(self, *, created_by_ms: int | None = None, limit: int = -1) -> list[SentRow]:
        """Sent messages the hub has not answered yet, oldest first (to publish again):
        only those created at or before `created_by_ms` when given, at most `limit`."""
        sql = "SELECT * FROM sent WHERE accepted IS NULL"
        params: tuple[int, ...] = ()
        if created_by_ms is not None:
            sql += " AND created_at_ms <= ?"
            params = (created_by_ms,)
        with self._lock:
            rows = self._db.execute(
                sql + " ORDER BY created_at_ms LIMIT ?", (*params, limit)
            ).fetchall()
        return [_sent_row(r) for r in rows]

    def replace_envelope(self, message_id: str, envelope: bytes, created_at_ms: int) -> None:
        """Keep a freshly signed envelope for a message not yet answered (same message id)."""
        with self._tx() as db:
            db.execute(
                "UPDATE sent SET envelope = ?, created_at_ms = ? WHERE message_id = ?"
                " AND accepted IS NULL",
                (envelope, created_at_ms, message_id),
            )

    def record_receipt(
        self, message_id: str, *, accepted: bool, position: int, code: str, reason: str
    ) -> None:
        self.record_receipts([HubVerdict(message_id, accepted, position, code, reason)], [])

    def record_delivery(self, message_id: str, recipient: str, position: int) -> None:
        self.record_receipts([], [DeliveryProof(message_id, recipient, position)])

    def record_receipts(
        self, verdicts: Sequence[HubVerdict], deliveries: Sequence[DeliveryProof]
    ) -> None:
        """The hub's verdicts on our messages and our recipients' delivery proofs, from one
        pull, in one transaction."""
        with self._tx() as db:
            db.executemany(
                "UPDATE sent SET accepted = ?, ledger_position = ?, reject_code = ?,"
                " reject_reason = ? WHERE message_id = ?",
                [(int(v.accepted), v.position, v.code, v.reason, v.message_id) for v in verdicts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO deliveries VALUES (?,?,?)",
                [(d.message_id, d.recipient, d.position) for d in deliveries],
            )

    def deliveries(self, message_id: str) -> list[tuple[str, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT recipient, ledger_position FROM deliveries WHERE message_id = ?",
                (message_id,),
            ).fetchall()
        return [(r["recipient"], r["ledger_position"]) for r in rows]


@lru_cache(maxsize=1024)
def _recipients_text(recipients: tuple[str, ...]) -> str:
    """An agency writes to the same few recipients over and over: encoded once each."""
    return json.dumps(recipients)


def _insert_sent(db: sqlite3.Connection, m: Outbound) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO sent (message_id, document_id, kind, recipients, envelope,"
        " payload, created_at_ms) VALUES (?,?,?,?,?,?,?)",
        (
            m.message_id,
            m.document_id,
            m.kind,
            _recipients_text(m.recipients),
            m.envelope,
            m.payload,
            m.created_at_ms,
        ),
    )
    return cursor.rowcount == 1


def _inbox_row(row: sqlite3.Row) -> InboxRow:
    return InboxRow(
        delivery_id=row["delivery_id"],
        message_id=row["message_id"],
        kind=row["kind"],
        document_id=row["document_id"],
        sender=row["sender"],
        ledger_position=row["ledger_position"],
        received_at_ms=row["received_at_ms"],
        routed=row["routed"],
        acknowledged=row["acknowledged_at_ms"] is not None,
    )


def _sent_row(row: sqlite3.Row) -> SentRow:
    accepted = row["accepted"]
    return SentRow(
        message_id=row["message_id"],
        document_id=row["document_id"],
        kind=row["kind"],
        recipients=tuple(json.loads(row["recipients"])),
        envelope=row["envelope"],
        payload=row["payload"],
        created_at_ms=row["created_at_ms"],
        accepted=None if accepted is None else bool(accepted),
        ledger_position=row["ledger_position"],
        reject_code=row["reject_code"],
        reject_reason=row["reject_reason"],
    )
