"""The postal adapter's work: place the orders the hub routes to the operator member with
the operator's system, and publish the operator's tracking events back through the hub.

Orders: each routed PostalOrder is placed with its `order_id` as the idempotency key and
retried on transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) with
backoff; a lost reply therefore never makes a second order. The inbox item is acknowledged
only once the operator answered, so a crash in between places it again, harmlessly.

Tracking: the operator's events are polled after the last sequence published; each becomes a
signed PostalTracking message whose id derives from (order, sequence), so publishing again
after a crash is recognised by the hub as the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc

from adapters.document.gateway import DocumentGateway
from adapters.dossier.payload import parse_postal
from adapters.envelope import open_envelope
from adapters.pb.truc.v1 import envelope_pb2, postal_pb2, postal_pb2_grpc
from hub.errors import MalformedMessage
from hub.model import Kind
from ledger.dossier import dossier_aggregate_id

log = logging.getLogger(__name__)
TRACKING_NAMESPACE = uuid.UUID("5b0c3f0e-8f0a-5d4e-9c43-7a1f2e6d9b10")
TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)
VIETNAM = timezone(timedelta(hours=7))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    dossier_code TEXT NOT NULL,
    ordered_by TEXT NOT NULL,
    kind INTEGER NOT NULL,
    order_number TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), after INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    dossier_code: str
    ordered_by: str
    kind: int
    order_number: str


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_delay: float = 0.05
    max_delay: float = 2.0
    call_timeout: float = 5.0


class PostalStore:
    """Which orders this adapter placed for whom, and how far tracking was published."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def remember(self, order: PlacedOrder) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO orders VALUES (?,?,?,?,?)",
                (
                    order.order_id,
                    order.dossier_code,
                    order.ordered_by,
                    order.kind,
                    order.order_number,
                ),
            )

    def order(self, order_id: str) -> PlacedOrder | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
        return PlacedOrder(**dict(row)) if row is not None else None

    def after(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT after FROM cursor WHERE id = 1").fetchone()
        return int(row[0]) if row is not None else 0

    def advance(self, sequence: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO cursor (id, after) VALUES (1, ?)"
                " ON CONFLICT(id) DO UPDATE SET after = excluded.after",
                (sequence,),
            )


def tracking_message_id(order_id: str, sequence: int) -> str:
    return str(uuid.uuid5(TRACKING_NAMESPACE, f"{order_id}:{sequence}"))


def portal_time_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, VIETNAM).strftime("%Y%m%d%H%M%S")


class PostalWorker:
    def __init__(
        self,
        gateway: DocumentGateway,
        operator: postal_pb2_grpc.PostalOperatorStub,
        store: PostalStore,
        *,
        retry: RetryPolicy = RetryPolicy(),
        poll_seconds: float = 0.5,
    ) -> None:
        self._gateway = gateway
        self._operator = operator
        self.store = store
        self._retry = retry
        self._poll = poll_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # transient operator failures met (and retried)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        self.store.close()

    async def _run(self) -> None:
        gateway = self._gateway
        while not self._stop.is_set():
            try:
                await self.take_orders()
                await self.publish_tracking()
            except Exception:  # the operator or NATS is down: try again next round
                log.exception("%s: postal round failed", gateway.member)
            async with gateway.arrivals:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gateway.arrivals.wait(), self._poll)

    async def take_orders(self) -> None:
        for row in self._gateway.mailbox.inbox():
            if self._stop.is_set():
                return
            if row.kind == Kind.POSTAL.value:
                envelope = envelope_pb2.RoutedEnvelope.FromString(row.routed).envelope
                try:
                    message = parse_postal(open_envelope(envelope).payload)
                except MalformedMessage as error:
                    log.error("%s: unreadable postal message: %s", self._gateway.member, error)
                    await self._gateway.acknowledge(row.delivery_id)
                    continue
                if message.WhichOneof("body") == "order":
                    placed = await self.place(message.order, row.sender)
                    if placed is None:
                        continue  # not placed yet: stays pending, tried again next round
            await self._gateway.acknowledge(row.delivery_id)

    async def place(self, order: postal_pb2.PostalOrder, ordered_by: str) -> PlacedOrder | None:
        """Place `order` with the operator, retrying transient failures with the same
        idempotency key; None when the operator stayed unreachable."""
        request = postal_pb2.CreateOrderRequest(idempotency_key=order.order_id, order=order)
        create = (
            self._operator.CreatePickupOrder
            if order.kind == postal_pb2.ORDER_KIND_PICKUP
            else self._operator.CreateDeliveryOrder
        )
        delay = self._retry.first_delay
        for _ in range(self._retry.attempts):
            try:
                answer = await create(request, timeout=self._retry.call_timeout)
            except grpc.aio.AioRpcError as error:
                if error.code() not in TRANSIENT:
                    log.error(
                        "%s: operator refused order %s: %s",
                        self._gateway.member,
                        order.order_id,
                        error.details(),
                    )
                    return None
                self.failures += 1
                await asyncio.sleep(delay)  # backoff before a retry, not synchronisation
                delay = min(delay * 2, self._retry.max_delay)
                continue
            placed = PlacedOrder(
                order.order_id, order.dossier_code, ordered_by, order.kind, answer.order_number
            )
            self.store.remember(placed)
            return placed
        return None

    async def publish_tracking(self) -> int:
        answer = await self._operator.PollTracking(
            postal_pb2.TrackingRequest(after_sequence=self.store.after(), limit=200),
            timeout=self._retry.call_timeout,
        )
        for event in answer.events:
            order = self.store.order(event.idempotency_key)
            if order is not None:
                tracking = postal_pb2.PostalMessage(
                    tracking=postal_pb2.PostalTracking(
                        order_id=order.order_id,
                        dossier_code=order.dossier_code,
                        state=event.state,
                        at=portal_time_of(event.at_ms),
                        note=event.note,
                        operator_order_number=event.order_number,
                        sequence=event.sequence,
                    )
                )
                await self._gateway.send(
                    kind=Kind.POSTAL,
                    recipients=[order.ordered_by],
                    document_id=str(dossier_aggregate_id(order.dossier_code)),
                    payload=tracking.SerializeToString(deterministic=True),
                    message_id=tracking_message_id(order.order_id, event.sequence),
                )
            self.store.advance(event.sequence)
        return len(answer.events)


async def start_postal_worker(
    gateway: DocumentGateway, data_dir: Path, operator_url: str, member_token: str
) -> tuple[PostalWorker, grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(operator_url)
    store = PostalStore(data_dir / "adapters" / member_token / "postal.sqlite3")
    worker = PostalWorker(gateway, postal_pb2_grpc.PostalOperatorStub(channel), store)
    worker.start()
    return worker, channel
