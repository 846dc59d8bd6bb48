"""The small interfaces the hub's use cases need from the outside world.

Concrete implementations live in adapters/ (protobuf codec, Ed25519, NATS); tests can hand
in fakes. Keeping them here is what lets hub/ stay free of transports.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.model import Opened, PayloadFacts, ReceiptFacts


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Publication:
    """One message for JetStream: subject, exact bytes, and the id that deduplicates it."""

    subject: str
    data: bytes
    msg_id: str
    # How many ledger events, receipts or routed messages it carries (the hub batches
    # them), for metrics.
    items: int = 1
    # NATS headers besides the deduplication id (a bundle's marker).
    headers: Mapping[str, str] | None = None


class Publisher(Protocol):
    async def publish_all(self, publications: Sequence[Publication]) -> None:
        """Publish every item and return once the server stored all of them; raise if not."""
        ...


class EnvelopeCodec(Protocol):
    """Reads senders' envelopes and writes the hub's countersigned messages."""

    def open(self, raw: bytes) -> Opened:
        """Parse without trusting; raise MalformedMessage naming the field."""
        ...

    def sender_signature_valid(self, opened: Opened, public_key: bytes) -> bool: ...

    def inspect(self, opened: Opened) -> PayloadFacts:
        """Parse and validate the payload; raise MalformedMessage naming the field."""
        ...

    def stamp(
        self,
        opened: Opened,
        *,
        recipient: str,
        ledger_position: int,
        received_at_ms: int,
        sender_public_key: bytes,
    ) -> bytes:
        """The hub's statement about one routed copy, serialised (not yet signed)."""
        ...

    def countersign(self, recipient: str, copies: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """Routed messages from (envelope, stamp) pairs travelling together to `recipient`,
        the stamps signed once between them."""
        ...

    def receipts(self, receipts: Sequence[ReceiptFacts]) -> bytes:
        """Several receipts for one member in one message, signed once."""
        ...

    def bundle(self, routed: Sequence[bytes]) -> bytes:
        """Several routed messages for one member in one message (a container, unsigned)."""
        ...
