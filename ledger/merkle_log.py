"""The Merkle log over the ledger's global order, stored beside the events.

Leaf i is the canonical encoding (``ledger.leaf``) of the i-th notification of the
notification log. The tree lives in three tables of the SAME database as the events, so a
backup, a restore or a replication carries events and tree together, and both backends
(SQLite, PostgreSQL) are reached through the datastore eventsourcing already opened:

* ``truc_merkle_nodes(level, idx, hash)``: every *perfect* subtree, level 0 being the leaf
  hashes. Perfect nodes never change once written, and every proof or historical root needs
  at most ~2 log2(n) of them, fetched in ONE indexed query: proofs cost O(log n) reads.
* ``truc_merkle_leaves(leaf_index, position)``: leaf index <-> ledger position. They differ
  on PostgreSQL, whose notification ids may have gaps (rolled-back transactions).
* ``truc_merkle_state(id=1, size, last_position)``: how far the log has followed.

``catch_up`` appends a batch of new notifications in ONE transaction (nodes, leaf map and
state together), serialised by a row lock, so a crash at any point leaves either the old or
the new tree, and running it twice appends nothing twice. It also checks, every time, that
the last logged event is still in the events table with the same bytes: a deleted or
rewritten tail, or an events table restored behind the tree, stops the log loudly instead
of being papered over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from eventsourcing.persistence import ApplicationRecorder

from ledger.errors import LedgerError
from ledger.leaf import leaf_from_notification
from ledger.merkle import (
    HASH_SIZE,
    Frontier,
    IndexOutOfRangeError,
    MissingNodeError,
    consistency_proof,
    inclusion_proof,
    root_from_reader,
)

__all__ = [
    "CommittedLeaf",
    "LeafMismatchError",
    "LeafMissingError",
    "LogDivergedError",
    "LogState",
    "MerkleLog",
    "MerkleLogError",
    "MerkleTreeStore",
    "ReadStats",
    "SqlDatabase",
]

T = TypeVar("T")

NODES_TABLE = "truc_merkle_nodes"
LEAVES_TABLE = "truc_merkle_leaves"
STATE_TABLE = "truc_merkle_state"

_DUMMY = bytes(HASH_SIZE)
_FETCH_CHUNK = 150  # node coordinates per query (2 parameters each)


class MerkleLogError(LedgerError):
    """Root of the Merkle log's storage errors."""


class LogDivergedError(MerkleLogError):
    """The events table no longer holds what the Merkle log already committed to."""


class LeafMissingError(MerkleLogError, LookupError):
    """A logged leaf's event is no longer in the events table (deleted or rolled back)."""


class LeafMismatchError(MerkleLogError):
    """A logged leaf's event is still there but its bytes changed after it was logged."""


# --- SQL over eventsourcing's datastores ---------------------------------------------------


class SqlDatabase:
    """The events' database as eventsourcing opened it, with the SQL dialect it speaks.

    Statements are written once with ``?`` placeholders and translated for psycopg; table
    names are schema-qualified on PostgreSQL. Other ledger modules (checkpoints) keep their
    tables through this too, so every table of the ledger shares one database and one
    transaction model.
    """

    def __init__(self, recorder: ApplicationRecorder) -> None:
        datastore: Any = getattr(recorder, "datastore", None)
        module = type(recorder).__module__
        if datastore is None:
            raise MerkleLogError(f"{type(recorder).__name__} has no SQL datastore")
        kind: Literal["sqlite", "postgres"]
        if module.endswith("sqlite"):
            kind = "sqlite"
            schema = ""
        elif module.endswith("postgres"):
            kind = "postgres"
            schema = str(getattr(datastore, "schema", "") or "public")
        else:
            raise MerkleLogError(f"no SQL dialect for recorder {type(recorder).__name__}")
        self.kind = kind
        self.schema = schema
        self._datastore = datastore

    def table(self, name: str) -> str:
        """The table name as it must appear in SQL (schema-qualified on PostgreSQL)."""
        if self.kind == "sqlite":
            return name
        return '"{}"."{}"'.format(self.schema.replace('"', '""'), name)

    def sql(self, statement: str) -> str:
        """Translate ``?`` placeholders for the backend."""
        return statement if self.kind == "sqlite" else statement.replace("?", "%s")

    @property
    def blob(self) -> str:
        return "BLOB" if self.kind == "sqlite" else "BYTEA"

    @property
    def without_rowid(self) -> str:
        """SQLite clustered tables: nodes are looked up by primary key only."""
        return " WITHOUT ROWID" if self.kind == "sqlite" else ""

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        """A cursor in one transaction: committed on success if ``commit``, else rolled back."""
        with self._datastore.transaction(commit=commit) as cursor:
            yield cursor

    def execute(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> None:
        cursor.execute(self.sql(statement), tuple(params))

    def executemany(self, cursor: Any, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cursor.executemany(self.sql(statement), [tuple(r) for r in rows])

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists (a read, so readers need no write access)."""
        with self.transaction(commit=False) as cursor:
            if self.kind == "sqlite":
                self.execute(
                    cursor,
                    "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (name,),
                )
            else:
                self.execute(
                    cursor,
                    "SELECT 1 AS found FROM pg_tables WHERE schemaname = ? AND tablename = ?",
                    (self.schema, name),
                )
            return cursor.fetchone() is not None

    def lock(self, cursor: Any, table: str, where: str, params: Sequence[Any]) -> None:
        """Take the write lock on a row (of a table with an ``id`` column) before reading
        it, so concurrent writers (another hub process, a CLI) queue instead of
        interleaving read-modify-write. On SQLite that is the database's write lock."""
        if self.kind == "postgres":
            self.execute(cursor, f"SELECT 1 FROM {table} WHERE {where} FOR UPDATE", params)
            cursor.fetchall()
        else:  # a write as first statement takes SQLite's (database-wide) write lock now
            self.execute(cursor, f"UPDATE {table} SET id = id WHERE {where}", params)


def _bytes(value: Any) -> bytes:
    return bytes(value)


# --- the stored tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class LogState:
    """How far the log has followed: ``size`` leaves, the last at ``last_position``."""

    size: int
    last_position: int


@dataclass(frozen=True)
class CommittedLeaf:
    """What the log committed for one leaf: its index, ledger position and leaf hash."""

    index: int
    position: int
    hash: bytes


@dataclass
class ReadStats:
    """Counts of queries and nodes read, so tests can hold proofs to O(log n) reads."""

    queries: int = 0
    nodes: int = 0


class _RecordingReader:
    """Notes which nodes a computation asks for and answers with placeholders.

    The proof and root functions read nodes whose coordinates depend only on sizes and
    indices, never on hash values, so one dry run tells exactly which nodes to fetch.
    """

    def __init__(self) -> None:
        self.wanted: list[tuple[int, int]] = []

    def get_node(self, level: int, index: int) -> bytes:
        self.wanted.append((level, index))
        return _DUMMY


class _DictReader:
    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self._nodes = nodes

    def get_node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MissingNodeError(f"no stored node at level {level} index {index}") from None


def _frontier_coordinates(size: int) -> list[tuple[int, int]]:
    """Perfect subtrees making up a tree of ``size`` leaves, leftmost (highest) first."""
    coords = []
    position = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if (size >> level) & 1:
            coords.append((level, position >> level))
            position += 1 << level
    return coords


class MerkleTreeStore:
    """A Merkle tree of (position, leaf hash) entries kept in SQL tables.

    Knows nothing of events: ``MerkleLog`` feeds it. Separate so that the storage can be
    tested against the RFC 6962 vectors directly, on both backends.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.stats = ReadStats()
        self._nodes = db.table(NODES_TABLE)
        self._leaves = db.table(LEAVES_TABLE)
        self._state = db.table(STATE_TABLE)
        self._frontier: Frontier | None = None
        self._pending_frontier: Frontier | None = None
        self._create_tables()

    def _create_tables(self) -> None:
        db = self.db
        if all(db.has_table(name) for name in (STATE_TABLE, NODES_TABLE, LEAVES_TABLE)):
            return  # the usual case, and the only one a read-only copy allows
        with db.transaction(commit=True) as cursor:
            db.execute(
                cursor,
                f"CREATE TABLE IF NOT EXISTS {self._state} (id INTEGER PRIMARY KEY, "
                "size BIGINT NOT NULL, last_position BIGINT NOT NULL)",
            )
            db.execute(
                cursor,
                f"CREATE TABLE IF NOT EXISTS {self._nodes} (level SMALLINT NOT NULL, "
                f"idx BIGINT NOT NULL, hash {db.blob} NOT NULL, PRIMARY KEY (level, idx))"
                f"{db.without_rowid}",
            )
            db.execute(
                cursor,
                f"CREATE TABLE IF NOT EXISTS {self._leaves} (leaf_index BIGINT PRIMARY KEY, "
                "position BIGINT NOT NULL UNIQUE)",
            )
            db.execute(
                cursor,
                f"INSERT INTO {self._state} (id, size, last_position) VALUES (1, 0, 0) "
                "ON CONFLICT (id) DO NOTHING",
            )

    # -- reading (cursor-level, so callers compose them in one transaction) ----------------

    def read_state(self, cursor: Any) -> LogState:
        self.db.execute(cursor, f"SELECT size, last_position FROM {self._state} WHERE id = 1")
        row = cursor.fetchone()
        if row is None:
            raise MerkleLogError(f"{STATE_TABLE} has no state row")
        return LogState(int(row["size"]), int(row["last_position"]))

    def fetch_nodes(
        self, cursor: Any, coordinates: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Stored hashes of the given perfect nodes, in as few indexed queries as possible."""
        wanted = sorted(set(coordinates))
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(wanted), _FETCH_CHUNK):
            chunk = wanted[start : start + _FETCH_CHUNK]
            where = " OR ".join(["(level = ? AND idx = ?)"] * len(chunk))
            params = [value for coordinate in chunk for value in coordinate]
            self.db.execute(
                cursor, f"SELECT level, idx, hash FROM {self._nodes} WHERE {where}", params
            )
            rows = cursor.fetchall()
            self.stats.queries += 1
            self.stats.nodes += len(rows)
            for row in rows:
                found[(int(row["level"]), int(row["idx"]))] = _bytes(row["hash"])
        return found

    def with_nodes(self, cursor: Any, compute: Callable[[Any], T]) -> T:
        """Run a ``HashReader`` computation with every node it needs fetched in one go."""
        dry = _RecordingReader()
        compute(dry)
        return compute(_DictReader(self.fetch_nodes(cursor, dry.wanted)))

    def frontier(self, cursor: Any, state: LogState) -> Frontier:
        """The right edge at ``state.size`` (cached between appends of this process)."""
        if self._frontier is not None and self._frontier.size == state.size:
            return self._frontier.copy()
        coords = _frontier_coordinates(state.size)
        nodes = self.fetch_nodes(cursor, coords)
        try:
            hashes = [nodes[c] for c in coords]
        except KeyError as missing:
            raise MerkleLogError(f"tree of size {state.size} lacks node {missing}") from None
        return Frontier.from_state(state.size, hashes)

    # -- appending ---------------------------------------------------------------------------

    def append(
        self, cursor: Any, state: LogState, entries: Sequence[tuple[int, bytes]]
    ) -> LogState:
        """Append ``(position, leaf hash)`` entries inside the caller's write transaction.

        Positions must increase strictly. Plain INSERTs (never upserts): writing a node
        twice would mean two appenders raced, and the primary key turns that into an error
        that rolls the whole batch back.
        """
        if not entries:
            return state
        frontier = self.frontier(cursor, state)
        last = state.last_position
        node_rows: list[tuple[int, int, bytes]] = []
        leaf_rows: list[tuple[int, int]] = []
        for position, hashed in entries:
            if position <= last:
                raise MerkleLogError(
                    f"position {position} does not follow position {last} (positions must grow)"
                )
            leaf_rows.append((frontier.size, position))
            node_rows.extend(frontier.append(hashed))
            last = position
        self.db.executemany(
            cursor, f"INSERT INTO {self._nodes} (level, idx, hash) VALUES (?, ?, ?)", node_rows
        )
        self.db.executemany(
            cursor, f"INSERT INTO {self._leaves} (leaf_index, position) VALUES (?, ?)", leaf_rows
        )
        self.db.execute(
            cursor,
            f"UPDATE {self._state} SET size = ?, last_position = ? WHERE id = 1",
            (frontier.size, last),
        )
        self._pending_frontier = frontier
        return LogState(frontier.size, last)

    def append_entries(self, entries: Sequence[tuple[int, bytes]]) -> LogState:
        """Append in a transaction of its own (tests, tools); ``MerkleLog`` uses ``append``."""
        with self.db.transaction(commit=True) as cursor:
            self.lock(cursor)
            state = self.append(cursor, self.read_state(cursor), entries)
        self.committed()
        return state

    def lock(self, cursor: Any) -> None:
        self.db.lock(cursor, self._state, "id = ?", (1,))

    def committed(self) -> None:
        """Keep the frontier of the transaction that just committed, to append from it."""
        self._frontier = self._pending_frontier
        self._pending_frontier = None

    def discard(self) -> None:
        """Forget cached state after a failed transaction."""
        self._frontier = None
        self._pending_frontier = None

    # -- reads in their own transaction -------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[tuple[Any, LogState]]:
        """A read transaction and the state it sees: every read in it is one snapshot."""
        with self.db.transaction(commit=False) as cursor:
            yield cursor, self.read_state(cursor)

    def state(self) -> LogState:
        with self.reading() as (_cursor, state):
            return state

    def _check_size(self, size: int, state: LogState, what: str = "size") -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise IndexOutOfRangeError(f"{what} must be a non-negative int, got {size!r}")
        if size > state.size:
            raise IndexOutOfRangeError(f"{what} {size} exceeds the log's size {state.size}")

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree at ``size`` leaves (default: the whole log), O(log n) reads."""
        with self.reading() as (cursor, state):
            size = state.size if size is None else size
            self._check_size(size, state)
            return self.with_nodes(cursor, lambda reader: root_from_reader(size, reader))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        with self.reading() as (cursor, state):
            self._check_size(size, state)
            return self.with_nodes(cursor, lambda reader: inclusion_proof(index, size, reader))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``old_size`` to ``new_size`` leaves."""
        with self.reading() as (cursor, state):
            self._check_size(new_size, state, "new_size")
            return self.with_nodes(
                cursor, lambda reader: consistency_proof(old_size, new_size, reader)
            )

    def leaf_hash(self, index: int) -> bytes:
        with self.reading() as (cursor, state):
            self._check_index(index, state)
            return self.fetch_nodes(cursor, [(0, index)])[(0, index)]

    def _check_index(self, index: int, state: LogState) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < state.size:
            raise IndexOutOfRangeError(f"leaf index {index!r} outside [0, {state.size})")

    def position_of(self, index: int) -> int:
        """Ledger position of leaf ``index``."""
        with self.reading() as (cursor, state):
            self._check_index(index, state)
            self.db.execute(
                cursor, f"SELECT position FROM {self._leaves} WHERE leaf_index = ?", (index,)
            )
            row = cursor.fetchone()
        if row is None:
            raise MerkleLogError(f"leaf {index} has no position in {LEAVES_TABLE}")
        return int(row["position"])

    def leaf_index_of(self, position: int) -> int | None:
        """Leaf index of the event at ledger ``position``; None if not (yet) logged."""
        with self.db.transaction(commit=False) as cursor:
            self.db.execute(
                cursor, f"SELECT leaf_index FROM {self._leaves} WHERE position = ?", (position,)
            )
            row = cursor.fetchone()
        return None if row is None else int(row["leaf_index"])

    def leaves(
        self, start: int = 0, stop: int | None = None, *, batch: int = 10_000
    ) -> Iterator[CommittedLeaf]:
        """Committed leaves ``[start, stop)`` in order (position and leaf hash), in batches."""
        size = self.state().size if stop is None else stop
        index = start
        while index < size:
            end = min(size, index + batch)
            with self.db.transaction(commit=False) as cursor:
                self.db.execute(
                    cursor,
                    f"SELECT l.leaf_index AS i, l.position AS p, n.hash AS h FROM {self._leaves} l "
                    f"JOIN {self._nodes} n ON n.level = 0 AND n.idx = l.leaf_index "
                    "WHERE l.leaf_index >= ? AND l.leaf_index < ? ORDER BY l.leaf_index",
                    (index, end),
                )
                rows = cursor.fetchall()
            if len(rows) != end - index:
                raise MerkleLogError(f"leaves [{index}, {end}) are incomplete in {LEAVES_TABLE}")
            for row in rows:
                yield CommittedLeaf(int(row["i"]), int(row["p"]), _bytes(row["h"]))
            index = end


# --- following the notification log --------------------------------------------------------


def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


class MerkleLog:
    """Follows the ledger's notification log and keeps its Merkle tree in the same database.

    Not thread-safe by itself: the hub calls it from the ledger's single writer thread, and
    concurrent processes are serialised by the database (row lock on the state).
    """

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder
        self.db = SqlDatabase(recorder)
        self.tree = MerkleTreeStore(self.db)

    @property
    def stats(self) -> ReadStats:
        return self.tree.stats

    @property
    def size(self) -> int:
        """Number of leaves logged so far."""
        return self.tree.state().size

    def state(self) -> LogState:
        return self.tree.state()

    def catch_up(self, max_items: int = 10_000) -> int:
        """Log up to ``max_items`` new notifications in one transaction; return the new size.

        Idempotent and restartable: it always continues after the last logged position
        found in the database, so a crash (before or after commit) loses nothing and
        duplicates nothing.
        """
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        for _attempt in range(5):
            state = self.tree.state()
            start = state.last_position if state.size else 1
            extra = 1 if state.size else 0
            batch = list(self.recorder.select_notifications(start, max_items + extra))
            if state.size:
                tail = batch[0] if batch else None
                if tail is None or tail.id != state.last_position:
                    raise LogDivergedError(
                        f"position {state.last_position} (leaf {state.size - 1}) is missing "
                        "from the events table: events were deleted or the database was "
                        "rolled back behind the Merkle log"
                    )
                tail_hash = _leaf_hash(leaf_from_notification(tail))
                batch = batch[1:]
            entries = [(n.id, _leaf_hash(leaf_from_notification(n))) for n in batch]
            try:
                with self.db.transaction(commit=True) as cursor:
                    self.tree.lock(cursor)
                    current = self.tree.read_state(cursor)
                    if current != state:
                        continue  # another appender moved on: start again from its state
                    if state.size:
                        stored = self.tree.fetch_nodes(cursor, [(0, state.size - 1)])
                        if stored.get((0, state.size - 1)) != tail_hash:
                            raise LogDivergedError(
                                f"the event at position {state.last_position} (leaf "
                                f"{state.size - 1}) changed after it was logged (altered, "
                                "or deleted and its position reused)"
                            )
                    if not entries:
                        return state.size
                    new_state = self.tree.append(cursor, state, entries)
            except BaseException:
                self.tree.discard()
                raise
            self.tree.committed()
            return new_state.size
        raise MerkleLogError("catch-up kept racing another appender; try again")

    def catch_up_all(self, batch: int = 10_000) -> int:
        """Catch up until nothing is left; return the final size."""
        while True:
            before = self.tree.state().size
            after = self.catch_up(batch)
            if after - before < batch:
                return after

    def root(self, size: int | None = None) -> bytes:
        return self.tree.root(size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self.tree.consistency_proof(old_size, new_size)

    def leaf_hash(self, index: int) -> bytes:
        return self.tree.leaf_hash(index)

    def position_of(self, index: int) -> int:
        return self.tree.position_of(index)

    def leaf_index_of(self, position: int) -> int | None:
        return self.tree.leaf_index_of(position)

    def leaves(self, start: int = 0, stop: int | None = None) -> Iterator[CommittedLeaf]:
        return self.tree.leaves(start, stop)

    def leaf_bytes(self, index: int) -> bytes:
        """The canonical bytes of leaf ``index``, re-read from the events table.

        Checked against the committed leaf hash: a changed event raises
        ``LeafMismatchError`` and a deleted one ``LeafMissingError``, never wrong bytes.
        """
        position = self.position_of(index)
        committed = self.leaf_hash(index)
        found = self.recorder.select_notifications(position, 1, stop=position)
        if not found or found[0].id != position:
            raise LeafMissingError(
                f"the event at position {position} (leaf {index}) is missing from the events table"
            )
        leaf = leaf_from_notification(found[0])
        if _leaf_hash(leaf) != committed:
            raise LeafMismatchError(
                f"the event at position {position} (leaf {index}) no longer matches the "
                "leaf the log committed: it was altered after it was logged"
            )
        return leaf
