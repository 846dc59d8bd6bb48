"""Read models (projections) kept beside the ledger: inbox listings and statistics.

They live in tables of the same database as the events (the SQLite file, or the PostgreSQL
schema), reached through the datastore eventsourcing already opened, so a backup carries
events and views together and nothing else needs configuring.

Exactly-once, incrementally: `truc_view_tracking` holds the last ledger position the views
include. Each page of events is applied in ONE transaction whose first statement moves that
position from the value the page was read after to the page's last position (compare and
set). If another process moved it meanwhile (the hub's runner and a CLI `catch-up` at once,
or a `rebuild`), the statement matches no row, the transaction rolls back, and the page is
read again from the new position: no event is ever counted twice or skipped. Starting with a
write also takes SQLite's write lock up front, so the transaction cannot fail half-way on a
stale read snapshot.

The views are disposable: `rebuild` empties them and replays the ledger from position 0.
Positions may have gaps on PostgreSQL (rolled-back sequence values); they never fill later,
because both backends serialise inserts, so "after position p" is a sound resume point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.application import Ledger
from ledger.replay import PAGE, Progress, pages
from ledger.stats import Fact, Stats, fact_of

TRACKING = "truc_view_tracking"
DOCUMENTS = "truc_view_documents"
INBOX = "truc_view_inbox"
COUNTS = "truc_view_counts"
VIEWS = "views"


@dataclass(frozen=True)
class InboxRow:
    """One document routed to a member, as the member's inbox lists it."""

    member: str
    document_id: str
    sender: str
    subject: str
    business_type: int
    refers_to: str
    position: int
    routed_at: str
    delivered_at: str
    status_code: str
    status_at: str
    # sent | recall_requested | recalled | revoked | replaced
    state: str
    superseded_by: str
    updated_by: str


class _Moved(Exception):
    """Another process advanced the views while this page was being applied."""


class _Sql:
    """The few differences between the two backends: placeholders and table names."""

    def __init__(self, ledger: Ledger) -> None:
        recorder = ledger.recorder
        self.datastore: Any = getattr(recorder, "datastore", None)
        module = type(recorder).__module__
        if self.datastore is None or not module.endswith(("sqlite", "postgres")):
            raise TypeError(f"no views for a {type(recorder).__name__}")
        self.postgres = module.endswith("postgres")
        self.prefix = f'"{self.datastore.schema}".' if self.postgres else ""

    def __call__(self, statement: str) -> str:
        """Table names in braces get the schema; `?` becomes `%s` on PostgreSQL."""
        sql = statement.format(
            tracking=self.prefix + TRACKING,
            documents=self.prefix + DOCUMENTS,
            inbox=self.prefix + INBOX,
            counts=self.prefix + COUNTS,
        )
        return sql.replace("?", "%s") if self.postgres else sql


_CREATE = (
    "CREATE TABLE IF NOT EXISTS {tracking} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {documents} (aggregate_id TEXT PRIMARY KEY,"
    " document_id TEXT NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,"
    " business_type INTEGER NOT NULL, refers_to TEXT NOT NULL, position BIGINT NOT NULL,"
    " received_at TEXT NOT NULL, state TEXT NOT NULL, superseded_by TEXT NOT NULL,"
    " updated_by TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {inbox} (member TEXT NOT NULL, aggregate_id TEXT NOT NULL,"
    " position BIGINT NOT NULL, routed_at TEXT NOT NULL, delivered_at TEXT NOT NULL,"
    " status_code TEXT NOT NULL, status_at TEXT NOT NULL, PRIMARY KEY (member, aggregate_id))",
    "CREATE INDEX IF NOT EXISTS truc_view_inbox_by_member ON {inbox} (member, position)",
    "CREATE TABLE IF NOT EXISTS {counts} (day TEXT NOT NULL, member TEXT NOT NULL,"
    " event_type TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (day, member, event_type))",
    "INSERT INTO {tracking} (name, position) VALUES ('" + VIEWS + "', 0)"
    " ON CONFLICT (name) DO NOTHING",
)


class Views:
    """The inbox and statistics read models of one ledger."""

    def __init__(self, ledger: Ledger, *, page_size: int = PAGE) -> None:
        self.ledger = ledger
        self.page_size = page_size
        self._sql = _Sql(ledger)
        with self._sql.datastore.transaction(commit=True) as cursor:
            for statement in _CREATE:
                cursor.execute(self._sql(statement))

    # -- keeping up -------------------------------------------------------------------------

    def position(self) -> int:
        """The last ledger position the views include."""
        with self._sql.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql("SELECT position FROM {tracking} WHERE name=?"), (VIEWS,))
            row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def lag(self) -> int:
        """How many positions the views are behind the ledger (an upper bound on PostgreSQL,
        whose positions may have gaps)."""
        return max(0, self.ledger.size() - self.position())

    def catch_up(self, *, max_pages: int | None = None, progress: Progress | None = None) -> int:
        """Apply what the ledger recorded since `position()`; returns how many events.
        `max_pages` bounds the work of one call (the hub's runner shares a thread with
        the ledger's writes)."""
        applied = 0
        done = 0
        total = self.ledger.size()
        while max_pages is None or done < max_pages:
            start = self.position()
            page = next(pages(self.ledger, after=start, size=self.page_size), None)
            if not page:
                break
            try:
                self._apply(start, page)
            except _Moved:
                continue
            applied += len(page)
            done += 1
            if progress is not None:
                progress(page[-1][0], max(total, page[-1][0]))
        return applied

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Empty the views and replay the whole ledger into them."""
        with self._sql.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._sql("UPDATE {tracking} SET position=0 WHERE name=?"), (VIEWS,))
            for table in ("{inbox}", "{documents}", "{counts}"):
                cursor.execute(self._sql(f"DELETE FROM {table}"))
        return self.catch_up(progress=progress)

    def _apply(self, start: int, page: Sequence[tuple[int, Any]]) -> None:
        sql = self._sql
        counts = Counter(fact_of(event) for _, event in page)
        with sql.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql("UPDATE {tracking} SET position=? WHERE name=? AND position=? RETURNING name"),
                (page[-1][0], VIEWS, start),
            )
            if cursor.fetchone() is None:
                raise _Moved
            for statement, rows in plan(page):
                if len(rows) == 1:
                    cursor.execute(sql(statement), rows[0])
                else:
                    cursor.executemany(sql(statement), rows)
            for fact, count in counts.items():
                cursor.execute(
                    sql(
                        "INSERT INTO {counts} AS c (day, member, event_type, count)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (day, member, event_type)"
                        " DO UPDATE SET count = c.count + excluded.count"
                    ),
                    (fact.day, fact.member, fact.event_type, count),
                )

    # -- reading ----------------------------------------------------------------------------

    def inbox(self, member: str, *, limit: int = 100) -> list[InboxRow]:
        """Documents routed to `member`, newest first."""
        statement = (
            "SELECT i.member, d.document_id, d.sender, d.subject, d.business_type,"
            " d.refers_to, i.position, i.routed_at, i.delivered_at, i.status_code,"
            " i.status_at, d.state, d.superseded_by, d.updated_by"
            " FROM {inbox} i JOIN {documents} d ON d.aggregate_id = i.aggregate_id"
            " WHERE i.member = ? ORDER BY i.position DESC LIMIT ?"
        )
        with self._sql.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), (member, limit))
            rows = cursor.fetchall()
        return [
            InboxRow(**{name: row[name] for name in InboxRow.__dataclass_fields__}) for row in rows
        ]

    def stats(self) -> Stats:
        """The statistics as of `position()`."""
        with self._sql.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql("SELECT day, member, event_type, count FROM {counts}"))
            rows = cursor.fetchall()
        stats = Stats()
        for row in rows:
            stats.counts[Fact(row["day"], row["member"], row["event_type"])] = int(row["count"])
        return stats


# -- what each event does to the tables -----------------------------------------------------

Statements = list[tuple[str, tuple[Any, ...]]]


def _sent(position: int, e: Any) -> Statements:
    return [
        (
            "INSERT INTO {documents} (aggregate_id, document_id, sender, subject, business_type,"
            " refers_to, position, received_at, state, superseded_by, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', '', '')"
            " ON CONFLICT (aggregate_id) DO NOTHING",
            (
                e.originator_id.hex,
                e.document_id,
                e.sender,
                e.subject,
                e.business_type,
                e.refers_to,
                position,
                e.received_at,
            ),
        )
    ]


def _routed(position: int, e: Any) -> Statements:
    return [
        (
            "INSERT INTO {inbox} (member, aggregate_id, position, routed_at, delivered_at,"
            " status_code, status_at) VALUES (?, ?, ?, ?, '', '', '')"
            " ON CONFLICT (member, aggregate_id) DO NOTHING",
            (e.recipient, e.originator_id.hex, position, e.received_at),
        )
    ]


def _delivered(position: int, e: Any) -> Statements:
    return [
        (
            "UPDATE {inbox} SET delivered_at=? WHERE member=? AND aggregate_id=?"
            " AND delivered_at=''",
            (e.received_at, e.recipient, e.originator_id.hex),
        )
    ]


def _status(position: int, e: Any) -> Statements:
    document = e.originator_id.hex
    if e.status_code == "13":
        return [
            ("UPDATE {documents} SET state='recall_requested' WHERE aggregate_id=?", (document,))
        ]
    out: Statements = [
        (
            "UPDATE {inbox} SET status_code=?, status_at=? WHERE member=? AND aggregate_id=?",
            (e.status_code, e.received_at, e.reporter, document),
        )
    ]
    if e.status_code == "15":
        # Only an answer to a recall recalls; a 15 may also agree to an update.
        out.append(
            (
                "UPDATE {documents} SET state='recalled' WHERE aggregate_id=?"
                " AND state='recall_requested'",
                (document,),
            )
        )
    return out


def _superseded(state: str) -> Callable[[int, Any], Statements]:
    def handler(position: int, e: Any) -> Statements:
        return [
            (
                f"UPDATE {{documents}} SET state='{state}', superseded_by=? WHERE aggregate_id=?",
                (e.by_document_id, e.originator_id.hex),
            )
        ]

    return handler


def _updated(position: int, e: Any) -> Statements:
    return [
        (
            "UPDATE {documents} SET updated_by=? WHERE aggregate_id=?",
            (e.by_document_id, e.originator_id.hex),
        )
    ]


def plan(page: Sequence[tuple[int, Any]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements a page comes to, as few round trips as the order allows: each
    statement with the rows it runs for (an `executemany` when several).

    Statement by statement, a page of documents alternates Sent, Routed, Sent, Routed and
    leaves nothing to group, so the rows a page creates go first: a document's Sent and its
    Routed are the first events of that document and recipient, so no earlier statement
    of the page could touch the rows they insert, and hoisting them changes no result.
    Everything else keeps the ledger order, consecutive runs of one statement grouped (the
    deliveries of one acknowledgement batch, for instance).
    """
    created: dict[str, list[tuple[Any, ...]]] = {}
    rest: list[tuple[str, list[tuple[Any, ...]]]] = []
    for position, event in page:
        name = type(event).__qualname__
        handler = _HANDLERS.get(name)
        if handler is None:
            continue
        for statement, params in handler(position, event):
            if name in _CREATING:
                created.setdefault(statement, []).append(params)
            elif rest and rest[-1][0] == statement:
                rest[-1][1].append(params)
            else:
                rest.append((statement, [params]))
    return list(created.items()) + rest


_HANDLERS: dict[str, Callable[[int, Any], Statements]] = {
    "Document.Sent": _sent,
    "Document.Routed": _routed,
    "Document.Delivered": _delivered,
    "Document.StatusReported": _status,
    "Document.Revoked": _superseded("revoked"),
    "Document.Replaced": _superseded("replaced"),
    "Document.Updated": _updated,
}
# Handlers whose statements only insert rows (ON CONFLICT DO NOTHING) for the first event of
# their row: `plan` may run them before the rest of their page.
_CREATING = frozenset({"Document.Sent", "Document.Routed"})
