"""A REFERENCE postal service: it stands in for the postal operator's own system (Bưu điện
Việt Nam's API) so the dossier flow runs end to end. It is not the operator.

It speaks the PostalOperator contract of protos/truc/v1/postal.proto, keeps its orders and
tracking events in its own SQLite file, moves each order registered (1) -> collecting (2)
-> delivered (3) after a configurable delay, and can inject the failures a real operator's
API shows: calls refused outright (UNAVAILABLE) at a given rate, and replies lost after the
order was stored (the caller sees UNAVAILABLE, retries, and must not get a second order:
the idempotency key returns the first one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from adapters.grpc_server import start_server
from adapters.pb.truc.v1 import postal_pb2, postal_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = postal_pb2.DESCRIPTOR.services_by_name["PostalOperator"].full_name

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_number TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind INTEGER NOT NULL,
    dossier_code TEXT NOT NULL,
    state INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    next_step_ms INTEGER NOT NULL,
    request BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    order_number TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    note TEXT NOT NULL
);
"""
_NOTES = {1: "Đã tiếp nhận đơn hàng", 2: "Đang phát / đang thu gom", 3: "Phát thành công"}


@dataclass(frozen=True)
class ReferenceSettings:
    """How the stand-in behaves: delays between states, and injected failures."""

    step_seconds: float = 2.0
    # Probability that a create call is refused before anything is stored.
    fail_rate: float = 0.0
    # The first N create calls store the order, then answer UNAVAILABLE (a lost reply).
    lose_replies: int = 0
    seed: int | None = None


class ReferenceStore:
    """The stand-in's own database: orders by idempotency key, and a tracking log."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

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
        with self._lock:
            self._db.close()

    def create(
        self, key: str, kind: int, request: postal_pb2.CreateOrderRequest, now_ms: int, step_ms: int
    ) -> tuple[postal_pb2.OperatorOrder, bool]:
        """The order for `key`, created now or earlier; True when created now."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM orders WHERE idempotency_key = ?", (key,)).fetchone()
            if row is not None:
                return _order(row), False
            count = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            number = f"EL{count + 1:09d}VN"
            db.execute(
                "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)",
                (
                    number,
                    key,
                    kind,
                    request.order.dossier_code,
                    1,
                    now_ms,
                    now_ms + step_ms,
                    request.SerializeToString(deterministic=True),
                ),
            )
            db.execute(
                "INSERT INTO events (order_number, idempotency_key, state, at_ms, note)"
                " VALUES (?,?,?,?,?)",
                (number, key, 1, now_ms, _NOTES[1]),
            )
            row = db.execute("SELECT * FROM orders WHERE order_number = ?", (number,)).fetchone()
            return _order(row), True

    def get(self, order_number: str, key: str) -> postal_pb2.OperatorOrder | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM orders WHERE order_number = ? OR idempotency_key = ?",
                (order_number, key),
            ).fetchone()
        return _order(row) if row is not None else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    def advance(self, now_ms: int, step_ms: int) -> int:
        """Move every order whose time has come one state on; return how many moved."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM orders WHERE state IN (1, 2) AND next_step_ms <= ?", (now_ms,)
            ).fetchall()
            for row in rows:
                state = int(row["state"]) + 1
                db.execute(
                    "UPDATE orders SET state = ?, next_step_ms = ? WHERE order_number = ?",
                    (state, now_ms + step_ms, row["order_number"]),
                )
                self._event(db, row, state, now_ms, _NOTES[state])
            return len(rows)

    def cancel(self, order_number: str, key: str, now_ms: int) -> postal_pb2.OperatorOrder | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM orders WHERE order_number = ? OR idempotency_key = ?",
                (order_number, key),
            ).fetchone()
            if row is None:
                return None
            if int(row["state"]) in (1, 2):
                db.execute(
                    "UPDATE orders SET state = 4 WHERE order_number = ?", (row["order_number"],)
                )
                self._event(db, row, 4, now_ms, "Đã hủy")
                row = db.execute(
                    "SELECT * FROM orders WHERE order_number = ?", (row["order_number"],)
                ).fetchone()
            return _order(row)

    def events(self, after: int, limit: int) -> list[postal_pb2.TrackingEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?", (after, limit)
            ).fetchall()
        return [
            postal_pb2.TrackingEvent(
                sequence=r["sequence"],
                order_number=r["order_number"],
                idempotency_key=r["idempotency_key"],
                state=r["state"],
                at_ms=r["at_ms"],
                note=r["note"],
            )
            for r in rows
        ]

    @staticmethod
    def _event(
        db: sqlite3.Connection, row: sqlite3.Row, state: int, now_ms: int, note: str
    ) -> None:
        db.execute(
            "INSERT INTO events (order_number, idempotency_key, state, at_ms, note)"
            " VALUES (?,?,?,?,?)",
            (row["order_number"], row["idempotency_key"], state, now_ms, note),
        )


def _order(row: sqlite3.Row) -> postal_pb2.OperatorOrder:
    return postal_pb2.OperatorOrder(
        order_number=row["order_number"],
        idempotency_key=row["idempotency_key"],
        kind=row["kind"],
        state=row["state"],
        dossier_code=row["dossier_code"],
        created_at_ms=row["created_at_ms"],
    )


class ReferencePostalService(postal_pb2_grpc.PostalOperatorServicer):
    def __init__(
        self, store: ReferenceStore, settings: ReferenceSettings, now_ms: Callable[[], int]
    ) -> None:
        self.store = store
        self.settings = settings
        self._now_ms = now_ms
        self._random = random.Random(settings.seed)
        self._lost = 0
        self.create_calls = 0
        self.changed = asyncio.Condition()

    @property
    def step_ms(self) -> int:
        return int(self.settings.step_seconds * 1000)

    async def _create(
        self, request: postal_pb2.CreateOrderRequest, context: grpc.aio.ServicerContext, kind: int
    ) -> postal_pb2.OperatorOrder:
        self.create_calls += 1
        if not request.idempotency_key:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key: required")
        if request.order.kind not in (0, kind):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "order.kind: wrong method")
        if self._random.random() < self.settings.fail_rate:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "reference postal service: busy")
        order, created = self.store.create(
            request.idempotency_key, kind, request, self._now_ms(), self.step_ms
        )
        if created:
            await self._notify()
        if self._lost < self.settings.lose_replies:
            self._lost += 1
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "reference postal service: reply lost (injected)"
            )
        return order

    async def CreatePickupOrder(
        self, request: postal_pb2.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> postal_pb2.OperatorOrder:
        return await self._create(request, context, postal_pb2.ORDER_KIND_PICKUP)

    async def CreateDeliveryOrder(
        self, request: postal_pb2.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> postal_pb2.OperatorOrder:
        return await self._create(request, context, postal_pb2.ORDER_KIND_DELIVERY)

    async def GetOrder(
        self, request: postal_pb2.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> postal_pb2.OperatorOrder:
        order = self.store.get(request.order_number, request.idempotency_key)
        if order is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "order_number: no such order")
            raise AssertionError("unreachable")
        return order

    async def CancelOrder(
        self, request: postal_pb2.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> postal_pb2.OperatorOrder:
        order = self.store.cancel(request.order_number, request.idempotency_key, self._now_ms())
        if order is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "order_number: no such order")
            raise AssertionError("unreachable")
        await self._notify()
        return order

    async def PollTracking(
        self, request: postal_pb2.TrackingRequest, context: grpc.aio.ServicerContext
    ) -> postal_pb2.TrackingEvents:
        limit = min(request.limit or 100, 1000)
        return postal_pb2.TrackingEvents(events=self.store.events(request.after_sequence, limit))

    async def StreamTracking(
        self, request: postal_pb2.TrackingRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[postal_pb2.TrackingEvent]:
        after = request.after_sequence
        while True:
            for event in self.store.events(after, 100):
                after = event.sequence
                yield event
            async with self.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 1.0)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def run(self, stop: asyncio.Event) -> None:
        """Move orders on as their delays pass, until `stop`."""
        tick = max(0.02, self.settings.step_seconds / 4)
        while not stop.is_set():
            if self.store.advance(self._now_ms(), self.step_ms):
                await self._notify()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)


@dataclass
class ReferencePostal:
    """A running reference postal service."""

    service: ReferencePostalService
    server: grpc.aio.Server
    port: int
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.stop_event.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 5)
        await self.server.stop(grace=1)
        self.service.store.close()


async def start_reference_postal(
    path: Path,
    settings: ReferenceSettings,
    now_ms: Callable[[], int],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> ReferencePostal:
    store = ReferenceStore(path)
    service = ReferencePostalService(store, settings, now_ms)
    server, bound = await start_server(
        host=host,
        port=port,
        services=[
            (
                SERVICE_NAME,
                lambda s: postal_pb2_grpc.add_PostalOperatorServicer_to_server(service, s),
            )
        ],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    return ReferencePostal(service, server, bound, task, stop)
