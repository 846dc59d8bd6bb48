"""The ledger alone, for `truc bench`: recording with the Merkle log, and replay.

The whole-path figure mixes everything; these two isolate the system of record, so a
regression in the ledger shows as one. The traffic is shaped like the real thing: per
document, Sent and two Routed events (one command), then a delivery from each recipient —
five events in three commands, recorded in the hub's group-commit batches, with the Merkle
log brought up to date after every batch exactly as the hub's transparency task does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.application import Ledger
from ledger.commands import Command, DeliveredItem, RecordDelivery, RecordDocument
from ledger.merkle_log import MerkleLog
from ledger.replay import replay_all
from ledger.storage import Storage

EVENTS_PER_DOCUMENT = 5
SENDER, RECIPIENTS = "000.00.00.G22", ("000.00.00.H49", "000.00.00.G15")
_T0 = datetime(2026, 6, 9, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class LedgerBench:
    events: int
    record_events_per_s: float
    replay_events_per_s: float
    merkle_size: int


def _commands(documents: int) -> Iterator[Command]:
    for i in range(documents):
        at = (_T0 + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        document_id = str(uuid.uuid4())
        message_id = str(uuid.uuid4())
        yield RecordDocument(
            message_id=message_id,
            document_id=document_id,
            sender=SENDER,
            recipients=RECIPIENTS,
            key_id="0a1b2c3d",
            signed_at=at,
            received_at=at,
            header_b64="aGVhZGVy" * 24,
            signature_b64="c2ln" * 22,
            payload_sha256="00" * 32,
            subject=f"Công văn số {i}",
        )
        for recipient in RECIPIENTS:
            yield RecordDelivery(
                message_id=str(uuid.uuid4()),
                recipient=recipient,
                items=(DeliveredItem(document_id, message_id),),
                received_at=at,
                header_b64="aGVhZGVy" * 12,
                signature_b64="c2ln" * 22,
            )


def run_ledger_bench(
    storage: Storage,
    events: int,
    *,
    batch: int = 512,
    say: Callable[[str], None] = lambda _line: None,
) -> LedgerBench:
    """Record about `events` events with the Merkle log, then replay them all."""
    documents = max(1, events // EVENTS_PER_DOCUMENT)
    ledger = Ledger(storage)
    try:
        merkle = MerkleLog(ledger.recorder)
        pending: list[Command] = []
        start = time.perf_counter()
        for command in _commands(documents):
            pending.append(command)
            if len(pending) == batch:
                ledger.record(pending)
                merkle.catch_up_all()
                pending = []
        if pending:
            ledger.record(pending)
        size = merkle.catch_up_all()
        recorded = ledger.size()
        record_rate = recorded / (time.perf_counter() - start)
        say(f"ledger: {recorded:,} events recorded with the Merkle log, {record_rate:,.0f}/s")
        start = time.perf_counter()
        state = replay_all(ledger, datetime.now(UTC) + timedelta(days=3650))
        replay_rate = state.events / (time.perf_counter() - start)
        say(f"ledger: {state.events:,} events replayed, {replay_rate:,.0f}/s")
    finally:
        ledger.close()
    return LedgerBench(recorded, round(record_rate, 1), round(replay_rate, 1), size)
