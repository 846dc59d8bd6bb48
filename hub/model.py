"""The hub's view of a message: plain values the codec extracts, free of protobuf.

The hub judges messages on these; only `adapters/` knows the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    DOCUMENT = "document"
    STATUS = "status"
    DELIVERY = "delivery"
    DOSSIER = "dossier"
    POSTAL = "postal"
    # Population look-ups (issue 7): a request to the population member, and its answer.
    LOOKUP = "lookup"
    LOOKUP_ANSWER = "lookup_answer"


@dataclass(frozen=True)
class AttachmentDigest:
    name: str
    sha256: bytes
    size: int


@dataclass(frozen=True)
class Header:
    version: int
    message_id: str
    kind: Kind
    sender: str
    recipients: tuple[str, ...]
    document_id: str
    signed_at_ms: int
    key_id: str
    payload_sha256: bytes
    payload_size: int
    attachments: tuple[AttachmentDigest, ...] = ()


@dataclass(frozen=True)
class Opened:
    """A parsed envelope whose signature has NOT been checked yet."""

    raw: bytes
    header_bytes: bytes
    signature: bytes
    payload: bytes
    header: Header


@dataclass(frozen=True)
class PayloadFacts:
    """What the hub records about a payload (the payload itself is not kept in the ledger)."""

    subject: str = ""
    business_type: int = 0
    refers_to: str = ""
    due_date: str = ""
    status_code: str = ""
    description: str = ""
    # A delivery proof: each document taken and the message it came in.
    delivered: tuple[tuple[str, str], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    # Dossier and postal messages: the act, checked and in primitives.
    act: DossierAct | None = None
    # A look-up's request or answer (issue 7); personal data, never recorded in clear.
    lookup: LookupFacts | None = None


@dataclass(frozen=True)
class DossierAct:
    """One act on a dossier (or a postal order / tracking event about it), as the codec read
    it from a DossierEvent or PostalMessage; `hub.dossiers` turns it into a ledger command."""

    action: str  # received, status, transfer, apology, postal_order, postal_tracking
    code: str
    at: str = ""  # the agency's time of the act, ISO 8601 with offset ("" = not given)
    note: str = ""
    status: int = 0
    to_agency: str = ""
    procedure_code: str = ""
    owner: str = ""
    summary: str = ""
    channel: int = 0
    working_days: int = 0
    documents: tuple[str, ...] = ()  # "name sha256-hex"
    fees: int = 0
    amount: int = 0
    new_appointment: str = ""  # ISO date
    order_id: str = ""
    order_kind: str = ""  # pickup, delivery
    operator: str = ""
    state: int = 0


@dataclass(frozen=True)
class LookupFacts:
    """What the hub needs from a look-up payload: the number (to pseudonymise, never to
    keep), who asks and why, which attributes are asked for or disclosed."""

    id_number: str
    officer: str = ""
    purpose: str = ""
    legal_basis: str = ""
    attributes: tuple[str, ...] = ()
    # Answers only.
    request_message_id: str = ""
    matched: bool = False
    disclosed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReceiptFacts:
    """The hub's verdict on one message (or a recipient's delivery of it), before it is
    signed: the hub batches these per member and signs each batch once."""

    message_id: str
    document_id: str
    accepted: bool
    ledger_position: int = 0
    recorded_at_ms: int = 0
    reject_code: str = ""
    reject_reason: str = ""
    delivered_to: str = ""
