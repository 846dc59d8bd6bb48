"""The fault tests' deployment: Truc as separate processes, a steady stream of signed
documents, agency systems that count what they receive, and the reconciliation.

Processes are real (`truc up --role hub|adapters|all` in subprocesses) so that `kill -9`
is a real kill; everything talks over loopback. The load sends from one agency to two
others through the sender's adapter (gRPC `SendDocument`): a send is *acknowledged* when
that call returned a document id. Each recipient's agency system follows its `Inbox` and
acknowledges every item (`AckInbox`); a delivery counts once when its acknowledgement was
the first for that inbox item, and the documents counted are compared with the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc

from adapters.nats.embedded import free_port
from adapters.pb.truc.v1 import document_pb2, exchange_pb2, exchange_pb2_grpc
from hub.config import load_config
from hub.role_process import RoleProcess
from ledger.application import Ledger
from tests.support import G15, G22, H49, POST, eventually

REPO = Path(__file__).resolve().parents[2]
REPORT_DIR = REPO / "var" / "faults"
RECIPIENTS = (H49, G15)


def write_config(
    path: Path,
    nats_url: str,
    *,
    ledger: str = 'backend = "sqlite"',
    ports: dict[str, int] | None = None,
    batch_size: int = 64,
    replicas: int = 1,
) -> Path:
    """A four-member deployment on fixed free gRPC ports (so restarts keep their address)."""
    ports = ports or {code: free_port() for code in (G22, G15, H49, POST)}
    members = "\n".join(
        f'[[members]]\ncode = "{code}"\nname = "{code}"\ngrpc_port = {ports[code]}\n'
        + ('kind = "postal"\n' if code == POST else "")
        for code in (G22, G15, H49, POST)
    )
    path.write_text(
        f"""
[hub]
name = "truc.faults"
nats_url = "{nats_url}"
batch_size = {batch_size}
stream_replicas = {replicas}

[ledger]
{ledger}

{members}
[[routes]]
senders = "000.*"
recipients = "000.*"

[transparency]
every_leaves = 50
every_seconds = 1.0
""",
        encoding="utf-8",
    )
    return path


# One `truc up --role ...` process, started and stopped (or killed) by the test.
TrucProcess = RoleProcess


def channel(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}")


@dataclass
class Load:
    """A steady stream of documents from G22 to H49 and G15 through G22's adapter."""

    port: int
    rate: float = 25.0
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    async def run(self, stop: asyncio.Event) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not stop.is_set():
            # A fresh channel after a failure: gRPC's own reconnect backs off exponentially,
            # a real agency system would simply call again.
            async with channel(self.port) as ch:
                stub = exchange_pb2_grpc.DocumentExchangeStub(ch)
                ok = True
                while ok and not stop.is_set():
                    ok = await self._send_one(stub)
                    next_at += interval
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))

    async def _send_one(self, stub: exchange_pb2_grpc.DocumentExchangeStub) -> bool:
        self.sent += 1
        document = document_pb2.Document(
            subject=f"Văn bản thử lỗi số {self.sent}",
            from_organ=document_pb2.Organization(organ_id=G22),
            to_organs=[document_pb2.Organization(organ_id=r) for r in RECIPIENTS],
        )
        try:
            reply = await stub.SendDocument(
                exchange_pb2.SendDocumentRequest(
                    recipients=list(RECIPIENTS), document=document, wait_for_receipt=False
                ),
                timeout=5,
            )
        except grpc.aio.AioRpcError as error:
            self.failures[error.code().name] += 1
            return False
        self.acknowledged.append(reply.document_id)
        return True


@dataclass
class AgencySystem:
    """A recipient's document system: follows its Inbox and acknowledges every item."""

    member: str
    port: int
    delivered: Counter[str] = field(default_factory=Counter)  # inbox items per document
    seen: int = 0
    delay: float = 0.0  # seconds per item: a slow recipient
    _items: set[int] = field(default_factory=set)
    ack_errors: Counter[str] = field(default_factory=Counter)

    async def run(self, stop: asyncio.Event) -> None:
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                follow = asyncio.ensure_future(self._follow())
                await asyncio.wait({follow, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not follow.done():
                    follow.cancel()
                with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                    await follow  # an error: the adapter is away, reconnect
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)  # back off before reconnecting
        finally:
            stopped.cancel()

    async def _follow(self) -> None:
        async with channel(self.port) as ch:
            stub = exchange_pb2_grpc.DocumentExchangeStub(ch)
            async for item in stub.Inbox(exchange_pb2.InboxRequest(follow=True)):
                self.seen += 1
                # Counted once per inbox item, when the agency system sees it: an AckInbox
                # that fails half-way (the adapter acknowledged locally, then could not
                # tell the hub) must not hide a delivery that happened.
                if item.kind == "document" and item.delivery_id not in self._items:
                    self._items.add(item.delivery_id)
                    self.delivered[item.document_id] += 1
                if self.delay:
                    await asyncio.sleep(self.delay)  # the recipient's own slowness, not a wait
                try:
                    await stub.AckInbox(
                        exchange_pb2.AckInboxRequest(delivery_id=item.delivery_id), timeout=5
                    )
                except grpc.aio.AioRpcError as error:
                    self.ack_errors[error.code().name] += 1
                    raise


@dataclass
class Reconciliation:
    test: str
    sent: int
    acknowledged: int
    recorded: int
    delivered: int
    lost: int
    duplicated: int
    seconds: float
    notes: str = ""

    def write(self) -> Path:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        path = REPORT_DIR / f"{self.test}.json"
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n")
        return path


def count_sent_events(config: Path, data_dir: Path, document_ids: list[str]) -> Counter[str]:
    """How many times the ledger recorded each document's sending (must be exactly once)."""
    ledger = Ledger(load_config(config).storage(data_dir))
    try:
        return Counter(
            {
                doc: sum(e.event == "Document.Sent" for e in ledger.trace(doc))
                for doc in document_ids
            }
        )
    finally:
        ledger.close()


class Exercise:
    """Load + agency systems for one test; `reconcile` waits for the deliveries and judges."""

    def __init__(self, name: str, ports: dict[str, int], *, rate: float = 25.0) -> None:
        self.name = name
        self.load = Load(ports[G22], rate)
        self.agencies = [AgencySystem(m, ports[m]) for m in RECIPIENTS]
        self.stop_load = asyncio.Event()
        self.stop_agencies = asyncio.Event()
        self.started = time.monotonic()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> Exercise:
        self.tasks = [asyncio.create_task(self.load.run(self.stop_load))] + [
            asyncio.create_task(a.run(self.stop_agencies)) for a in self.agencies
        ]
        return self

    def delivered_at_least(self, count: int) -> bool:
        return all(sum(a.delivered.values()) >= count for a in self.agencies)

    async def wait_delivered(self, count: int, within: float = 30.0) -> None:
        try:
            await eventually(lambda: self.delivered_at_least(count), within=within)
        except AssertionError:
            raise AssertionError(f"{count} deliveries not reached in {within}s: {self}") from None

    def __str__(self) -> str:
        return (
            f"sent {self.load.sent}, acknowledged {len(self.load.acknowledged)}, "
            f"failures {dict(self.load.failures)}; "
            + "; ".join(
                f"{a.member}: seen {a.seen}, delivered {sum(a.delivered.values())}, "
                f"ack errors {dict(a.ack_errors)}"
                for a in self.agencies
            )
        )

    async def finish_load(self) -> None:
        self.stop_load.set()
        await self.tasks[0]

    async def settle(self, within: float = 90.0) -> None:
        """Stop the load, then wait until every acknowledged send reached every recipient
        (or the deadline: what is missing then counts as lost), and stop the agencies."""
        await self.finish_load()
        acked = set(self.load.acknowledged)

        def all_delivered() -> bool:
            return all(acked <= set(a.delivered) for a in self.agencies)

        with contextlib.suppress(AssertionError):
            await eventually(all_delivered, within=within, what="every acknowledged delivery")
        self.stop_agencies.set()
        await asyncio.gather(*self.tasks[1:], return_exceptions=True)

    def judge(self, config: Path, data_dir: Path, notes: str = "") -> Reconciliation:
        """Read the ledger (the hub stopped) and write the reconciliation numbers."""
        acked = list(dict.fromkeys(self.load.acknowledged))
        delivered_docs = set().union(*(a.delivered for a in self.agencies))
        recorded = count_sent_events(config, data_dir, sorted(set(acked) | delivered_docs))
        lost = {
            d for d in acked if recorded[d] == 0 or any(a.delivered[d] == 0 for a in self.agencies)
        }
        duplicated = {d for d, n in recorded.items() if n > 1} | {
            d for a in self.agencies for d, n in a.delivered.items() if n > 1
        }
        result = Reconciliation(
            test=self.name,
            sent=self.load.sent,
            acknowledged=len(acked),
            recorded=sum(1 for d in acked if recorded[d] >= 1),
            delivered=sum(1 for d in acked if all(a.delivered[d] >= 1 for a in self.agencies)),
            lost=len(lost),
            duplicated=len(duplicated),
            seconds=round(time.monotonic() - self.started, 1),
            notes=notes or ", ".join(f"{k}: {v}" for k, v in self.load.failures.items()),
        )
        result.write()
        return result


def assert_exactly_once(result: Reconciliation) -> None:
    assert result.acknowledged > 0, result
    assert result.lost == 0, result
    assert result.duplicated == 0, result
    assert result.recorded == result.acknowledged == result.delivered, result


def report_rows() -> list[dict[str, Any]]:
    rows = []
    for path in sorted(REPORT_DIR.glob("*.json")):
        rows.append(json.loads(path.read_text()))
    return rows
