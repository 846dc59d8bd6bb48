"""Benchmark: the hub's work per document in one process, without NATS, in ms of CPU.

    python benchmarks/hub_path.py [--documents 2000] [--batch 28]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python benchmarks/hub_path.py --documents 1000 [--only-setup]

What `truc up --role hub` does for each document and its share of a delivery proof:
judge (open, verify the sender's signature, validate the edXML payload), record in a SQLite
ledger (group commit), countersign the routed copy, sign the batch's receipts, write the
feed. Publications go nowhere. Documents go one recipient each, in batches of `--batch`
(what the hub's pull takes at about 1,000 documents a second), each batch followed by its
recipient's one delivery proof for all of them, as `truc bench`'s agency systems send.

Why it exists: the whole-path `truc bench` shares two cores among five processes, and on a
machine whose speed moves from minute to minute a change of a tenth in one of them is lost in
the noise. Under valgrind the instruction count is the same from run to run, so a change is
judged by instructions per document: run once with `--only-setup` (signing the documents)
and once without, and divide the difference by `--documents` (README, Performance).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adapters.crypto import Signer
from adapters.envelope import ProtobufCodec, ToSeal, seal, seal_many
from adapters.ids import new_uuid
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from hub import subjects
from hub.intake import Intake
from hub.model import Kind
from hub.ports import Publication, Publisher
from hub.registry import Member, MemberKey, Registry, Route
from hub.service import HubService, Inbound
from ledger.application import Ledger
from ledger.storage import SqliteStorage

SENDER, RECIPIENT = "000.00.00.G22", "000.00.00.H49"


class WallClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class _Nowhere:
    async def publish_all(self, publications: Sequence[Publication]) -> None:
        return None


def bench_document(index: int) -> document_pb2.Document:
    """A document shaped like `truc bench`'s (also `benchmarks/document_path.py`'s)."""
    return document_pb2.Document(
        subject=f"Công văn số {index} về việc đo hiệu năng trục liên thông",
        content="Nội dung " * 20,
        code=document_pb2.DocumentCode(code_number=str(index), code_notation="UBND-VP"),
    )


def open_hub(
    members: Iterable[Signer],
    hub_key: Signer,
    publisher: Publisher,
    directory: Path,
    clock: WallClock,
) -> tuple[HubService, Ledger, ThreadPoolExecutor]:
    """The hub's service as `truc up` wires it, on a SQLite ledger in `directory`, with
    `members` (one key each) allowed to send one another anything; close the ledger and
    shut the executor down after."""
    registry = Registry(
        [Member(s.name, s.name, "document", (MemberKey(s.key_id, s.public_key),)) for s in members],
        [Route("000.*", "000.*")],
    )
    codec = ProtobufCodec(hub_key)
    executor = ThreadPoolExecutor(1)
    ledger = Ledger(SqliteStorage(directory / "ledger.sqlite3"))
    service = HubService(
        intake=Intake(registry, codec, clock),
        record=ledger.record,
        codec=codec,
        publisher=publisher,
        clock=clock,
        executor=executor,
    )
    return service, ledger, executor


def _documents(
    signer: Signer, count: int, clock: WallClock, batch: int
) -> list[tuple[str, str, Inbound]]:
    """Signed documents shaped like the bench's, sealed `batch` at a time as the sending
    adapter seals a `SendDocumentBatch` (`seal_many`): (document id, message id, inbound)."""
    made = []
    for start in range(0, count, batch):
        messages = [
            ToSeal(
                Kind.DOCUMENT,
                (RECIPIENT,),
                new_uuid(),
                bench_document(i).SerializeToString(deterministic=True),
            )
            for i in range(start, min(start + batch, count))
        ]
        sealed = seal_many(signer, messages, signed_at_ms=clock.now_ms())
        made += [
            (message.document_id, message_id, Inbound(subjects.inbound(SENDER), raw))
            for message, (message_id, raw) in zip(messages, sealed, strict=True)
        ]
    return made


async def _run(
    service: HubService,
    recipient: Signer,
    documents: list[tuple[str, str, Inbound]],
    batch: int,
    clock: WallClock,
) -> None:
    for start in range(0, len(documents), batch):
        chunk = documents[start : start + batch]
        report = await service.process([inbound for _, _, inbound in chunk])
        if report.accepted != len(chunk):
            raise SystemExit(f"documents refused: {report.messages}")
        proof = envelope_pb2.Delivery(
            items=[envelope_pb2.DeliveredItem(document_id=d, message_id=m) for d, m, _ in chunk]
        )
        _, raw = seal(
            recipient,
            kind=Kind.DELIVERY,
            recipients=(SENDER,),
            document_id=chunk[0][0],
            payload=proof.SerializeToString(deterministic=True),
            signed_at_ms=clock.now_ms(),
        )
        report = await service.process([Inbound(subjects.inbound(RECIPIENT), raw)])
        if report.accepted != 1:
            raise SystemExit(f"delivery proof refused: {report.messages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=28)
    parser.add_argument("--only-setup", action="store_true", help="sign the documents, stop")
    args = parser.parse_args()
    signers = {code: Signer.generate(code) for code in (SENDER, RECIPIENT)}
    clock = WallClock()
    documents = _documents(signers[SENDER], args.documents, clock, args.batch)
    if args.only_setup:
        return
    with tempfile.TemporaryDirectory() as directory:
        service, ledger, executor = open_hub(
            signers.values(), Signer.generate("truc.bench"), _Nowhere(), Path(directory), clock
        )
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            asyncio.run(_run(service, signers[RECIPIENT], documents, args.batch, clock))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            executor.shutdown(wait=True)
            ledger.close()
    print(
        f"hub path: {args.documents:,} documents in batches of {args.batch}: "
        f"{args.documents / wall:,.0f} documents/s, {cpu / args.documents * 1000:.3f} ms CPU each"
    )


if __name__ == "__main__":
    main()
