"""Benchmark: a document's whole path in one process, without NATS or gRPC, in ms of CPU.

    python benchmarks/document_path.py [--documents 2000] [--batch 28]
    valgrind --tool=callgrind --callgrind-out-file=/tmp/b.cg \
        python benchmarks/document_path.py --documents 1000

The sending agency's adapter (`SendDocumentBatch`: validate, sign, keep, bundle), the hub
(judge, record, countersign, receipts, feed), the recipient's adapter (verify the routed
copies, keep them, list them as `InboxBatches` does, `AckInbox` with one signed delivery
proof), the hub again (the proof), and both adapters taking their receipts: the real code of
each step, called directly, with what one step publishes handed to the next. CPU is counted
for the adapters and the hub apart.

Why it exists: `truc bench` shares two cores among five processes, and on a day when the
machine's speed moves by a fifth from one run to the next, a change of a few per cent in
the adapters cannot be seen there. Here, under valgrind, the instruction count is the same
from run to run (README, Performance); `benchmarks/hub_path.py` is the hub's part alone.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc
from hub_path import RECIPIENT, SENDER, WallClock, bench_document, open_hub

from adapters.crypto import Signer
from adapters.document.gateway import DocumentGateway
from adapters.document.mailbox import Mailbox
from adapters.document.servicer import DocumentExchangeServicer
from adapters.envelope import unbundle
from adapters.ids import new_uuid
from adapters.pb.truc.v1 import exchange_pb2
from hub import subjects
from hub.ports import Publication
from hub.service import Inbound

T = TypeVar("T")


@dataclass
class _Captured:
    """Stands in for JetStream: keeps what is published, as stored."""

    publications: list[Publication] = field(default_factory=list)

    async def publish_all(self, publications: Sequence[Publication]) -> None:
        self.publications += publications

    async def publish_each(self, publications: Sequence[Publication]) -> list[None]:
        self.publications += publications
        return [None for _ in publications]

    def take(self) -> list[Publication]:
        taken, self.publications = self.publications, []
        return taken


class _Msg:
    """What the gateways' pull handlers read of a JetStream message."""

    def __init__(self, publication: Publication) -> None:
        self.subject = publication.subject
        self.data = publication.data
        self.headers = dict(publication.headers or {})

    async def ack(self) -> None:
        return None

    async def term(self) -> None:
        raise SystemExit(f"a message was refused on {self.subject}")


class _Nats:
    """Enough of a NATS client for a gateway to be built; its publisher is replaced."""

    max_payload = 8 * 1024 * 1024

    def jetstream(self) -> object:
        return object()


@dataclass
class _Cpu:
    """CPU seconds spent by each side, the process's own clock around each step."""

    spent: dict[str, float] = field(default_factory=lambda: {"adapters": 0.0, "hub": 0.0})

    async def adapter(self, work: Awaitable[T]) -> T:
        return await self._timed("adapters", work)

    async def of_hub(self, work: Awaitable[T]) -> T:
        return await self._timed("hub", work)

    async def _timed(self, side: str, work: Awaitable[T]) -> T:
        started = time.process_time()
        try:
            return await work
        finally:
            self.spent[side] += time.process_time() - started


def _gateway(
    member: str, signer: Signer, hub_key: Signer, directory: Path
) -> tuple[DocumentGateway, _Captured]:
    """A member's gateway whose publications are kept, not sent to JetStream."""
    gateway = DocumentGateway(
        member=member,
        signer=signer,
        hub_public_key=hub_key.public_key,
        nc=cast(Any, _Nats()),
        mailbox=Mailbox(directory / f"{member}.sqlite3"),
        clock=WallClock(),
    )
    captured = _Captured()
    gateway._publisher = cast(Any, captured)
    return gateway, captured


def _request(index: int) -> exchange_pb2.SendDocumentRequest:
    return exchange_pb2.SendDocumentRequest(
        recipients=[RECIPIENT], document_id=new_uuid(), document=bench_document(index)
    )


def _inbound(publications: Sequence[Publication]) -> list[Inbound]:
    items = []
    for p in publications:
        bundled = (p.headers or {}).get(subjects.BUNDLE_HEADER) == subjects.ENVELOPE_BUNDLE
        items += [Inbound(p.subject, raw) for raw in (unbundle(p.data) if bundled else [p.data])]
    return items


def _to(member_subject: Callable[[str], str], member: str, pubs: list[Publication]) -> list[_Msg]:
    return [_Msg(p) for p in pubs if p.subject == member_subject(member)]


async def _run(documents: int, batch: int, directory: Path, cpu: _Cpu) -> None:
    signers = {code: Signer.generate(code) for code in (SENDER, RECIPIENT)}
    hub_key = Signer.generate("truc.bench")
    hub_out = _Captured()
    hub, ledger, executor = open_hub(signers.values(), hub_key, hub_out, directory, WallClock())
    sender, sender_out = _gateway(SENDER, signers[SENDER], hub_key, directory)
    recipient, recipient_out = _gateway(RECIPIENT, signers[RECIPIENT], hub_key, directory)
    sending, receiving = DocumentExchangeServicer(sender), DocumentExchangeServicer(recipient)
    context = cast(grpc.aio.ServicerContext, None)  # no TLS client name: never read
    try:
        for start in range(0, documents, batch):
            count = min(batch, documents - start)
            request = exchange_pb2.SendDocumentBatchRequest(
                documents=[_request(start + i) for i in range(count)]
            )
            sent = await cpu.adapter(sending.SendDocumentBatch(request, context))
            if any(r.HasField("error") for r in sent.results):
                raise SystemExit(f"SendDocumentBatch refused: {sent.results}")
            await cpu.of_hub(hub.process(_inbound(sender_out.take())))
            published = hub_out.take()
            await cpu.adapter(
                recipient._on_deliveries(cast(Any, _to(subjects.deliveries, RECIPIENT, published)))
            )
            await cpu.adapter(
                sender._on_receipts(cast(Any, _to(subjects.receipts, SENDER, published)))
            )
            listed = cast(Any, receiving.InboxBatches(exchange_pb2.InboxRequest(), context))
            ids = [item.delivery_id async for page in listed for item in page.items]
            if len(ids) != count:
                raise SystemExit(f"{len(ids)} documents in the inbox, not {count}")
            acknowledged = exchange_pb2.AckInboxRequest(delivery_ids=ids)
            await cpu.adapter(receiving.AckInbox(acknowledged, context))
            await cpu.of_hub(hub.process(_inbound(recipient_out.take())))
            published = hub_out.take()
            for member, gateway in ((SENDER, sender), (RECIPIENT, recipient)):
                await cpu.adapter(
                    gateway._on_receipts(cast(Any, _to(subjects.receipts, member, published)))
                )
    finally:
        executor.shutdown(wait=True)
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=28)
    args = parser.parse_args()
    cpu = _Cpu()
    with tempfile.TemporaryDirectory() as directory:
        wall = time.perf_counter()
        asyncio.run(_run(args.documents, args.batch, Path(directory), cpu))
        wall = time.perf_counter() - wall
    per = 1000 / args.documents
    print(
        f"document path: {args.documents:,} documents in batches of {args.batch}: "
        f"{args.documents / wall:,.0f} documents/s; CPU per document "
        f"{cpu.spent['adapters'] * per:.3f} ms in the adapters, {cpu.spent['hub'] * per:.3f} ms"
        " in the hub"
    )


if __name__ == "__main__":
    main()
