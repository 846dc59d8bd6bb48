"""What the hub asks the ledger to record, and what the ledger answers.

Plain frozen dataclasses of primitives: the hub builds them from verified messages; the
ledger never sees a transport or a protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordDocument:
    message_id: str
    document_id: str
    sender: str
    recipients: tuple[str, ...]
    key_id: str
    signed_at: str
    received_at: str
    header_b64: str
    signature_b64: str
    payload_sha256: str
    subject: str = ""
    business_type: int = 0
    refers_to: str = ""
    due_date: str = ""


@dataclass(frozen=True)
class RecordStatus:
    message_id: str
    document_id: str
    reporter: str
    status_code: str
    description: str
    received_at: str
    header_b64: str
    signature_b64: str


@dataclass(frozen=True)
class RecordDelivery:
    message_id: str
    document_id: str
    recipient: str
    delivered_message_id: str
    received_at: str
    header_b64: str
    signature_b64: str


@dataclass(frozen=True)
class RecordRefusal:
    message_id: str
    claimed_sender: str
    authenticated: bool
    reason_code: str
    reason: str
    received_at: str
    header_b64: str = ""
    signature_b64: str = ""


Command = RecordDocument | RecordStatus | RecordDelivery | RecordRefusal


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded event as the notification log holds it."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class Recorded:
    """The command's effect is in the ledger (now, or already: `duplicate`)."""

    message_id: str
    position: int
    duplicate: bool
    # Members the recorded message must be routed to, as the aggregate knows them.
    route_to: tuple[str, ...] = ()
    entries: tuple[LedgerEntry, ...] = field(default=())


@dataclass(frozen=True)
class Refused:
    """The aggregate's rules refused the command; nothing was recorded for it."""

    message_id: str
    code: str
    reason: str


Outcome = Recorded | Refused
