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
class DeliveredItem:
    """One document a recipient's agency system took, and the message it came in."""

    document_id: str
    delivered_message_id: str


@dataclass(frozen=True)
class RecordDelivery:
    """A recipient's signed proof that its agency system took documents (one acknowledgement,
    one signature): each item becomes a Delivered event on its own document, all carrying
    the proof's message id and signed header, or none is recorded."""

    message_id: str
    recipient: str
    items: tuple[DeliveredItem, ...]
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
    # The document the refused message was about, when its header could be read.
    document_id: str = ""


@dataclass(frozen=True)
class RecordDossierReceived:
    message_id: str
    code: str
    procedure_code: str
    receiver: str
    channel: int
    due_date: str
    received_at: str
    # The dossier work: what the one-stop system says (the due date is then computed from
    # working_days and `at`, the agency's own time of receipt, ISO 8601 with offset).
    owner: str = ""
    summary: str = ""
    working_days: int = 0
    at: str = ""
    status: int = 2
    documents: tuple[str, ...] = ()  # "name sha256-hex" of each submitted paper
    fees: int = 0
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RecordDossierTransfer:
    message_id: str
    code: str
    from_agency: str
    to_agency: str
    reason: str
    received_at: str
    at: str = ""
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RecordDossierStatus:
    message_id: str
    code: str
    status: int
    by: str
    note: str
    received_at: str
    at: str = ""
    documents: tuple[str, ...] = ()  # supplied papers, when a supplement is handed in
    amount: int = 0  # VND, for a financial obligation (status 6)
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RecordDossierApology:
    """The apology and new appointment date for a late dossier."""

    message_id: str
    code: str
    by: str
    new_appointment: str
    reason: str
    received_at: str
    at: str = ""
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RecordPostalOrder:
    message_id: str
    code: str
    order_id: str
    order_kind: str
    ordered_by: str
    operator: str
    received_at: str
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RecordPostalTracking:
    message_id: str
    code: str
    order_id: str
    state: int
    note: str
    by: str
    at: str
    received_at: str
    # The member's signed envelope header and signature (base64), kept for audits.
    header_b64: str = ""
    signature_b64: str = ""


@dataclass(frozen=True)
class RegisterMember:
    message_id: str
    code: str
    name: str
    kind: str
    received_at: str


@dataclass(frozen=True)
class AddMemberKey:
    message_id: str
    code: str
    key_id: str
    public_key_b64: str
    valid_from: str
    valid_until: str
    received_at: str


@dataclass(frozen=True)
class RevokeMemberKey:
    message_id: str
    code: str
    key_id: str
    revoked_from: str
    reason: str
    received_at: str


@dataclass(frozen=True)
class RetireMemberKey:
    message_id: str
    code: str
    key_id: str
    valid_until: str
    received_at: str


@dataclass(frozen=True)
class GrantRoute:
    message_id: str
    code: str
    recipients: str
    kinds: tuple[str, ...]
    received_at: str


@dataclass(frozen=True)
class WithdrawRoute:
    message_id: str
    code: str
    recipients: str
    kinds: tuple[str, ...]
    received_at: str


@dataclass(frozen=True)
class RecordLookup:
    """A population-register query; `subject_digest` is a keyed digest, never the ID."""

    message_id: str
    requester: str
    officer: str
    purpose: str
    subject_digest: str
    received_at: str
    # Issue 7: the law that allows it (mandatory), the population member asked, the
    # attributes asked for, and the asker's signed header (no personal data in it).
    legal_basis: str = ""
    responder: str = ""
    attributes: tuple[str, ...] = ()
    header_b64: str = ""
    signature_b64: str = ""
    # Set when the hub refused the look-up (route policy): recorded on the citizen's Lookup,
    # so the attempt shows in their access report, and never routed.
    refused_code: str = ""
    refused_reason: str = ""


@dataclass(frozen=True)
class RecordLookupAnswer:
    message_id: str
    request_message_id: str
    answered_by: str
    matched: bool
    received_at: str
    # Issue 7: the pseudonym of the citizen the answer is about (must be the request's), the
    # attribute names disclosed, their values sealed under the citizen's key, the signature.
    subject_digest: str = ""
    disclosed: tuple[str, ...] = ()
    sealed_attributes: str = ""
    header_b64: str = ""
    signature_b64: str = ""


DocumentCommand = RecordDocument | RecordStatus | RecordDelivery
DossierCommand = (
    RecordDossierReceived
    | RecordDossierTransfer
    | RecordDossierStatus
    | RecordDossierApology
    | RecordPostalOrder
    | RecordPostalTracking
)
DOSSIER_COMMANDS = (
    RecordDossierReceived,
    RecordDossierTransfer,
    RecordDossierStatus,
    RecordDossierApology,
    RecordPostalOrder,
    RecordPostalTracking,
)
MemberCommand = (
    RegisterMember | AddMemberKey | RevokeMemberKey | RetireMemberKey | GrantRoute | WithdrawRoute
)
LookupCommand = RecordLookup | RecordLookupAnswer
Command = DocumentCommand | RecordRefusal | DossierCommand | MemberCommand | LookupCommand


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
    """The command's effect is in the ledger (now, or already: `duplicate`).

    `position` is the ledger position of the first event the message caused; a duplicate
    answers with the same position and the same `entries` as the first recording, so
    whatever was published from them can be published again under the same ids.
    """

    message_id: str
    position: int
    duplicate: bool
    # Members the recorded message must be routed to, as the aggregate knows them. For a
    # RecordDelivery: the sender of each item's document, item by item (a sender may repeat),
    # and `entries` holds each item's Delivered event in the same order.
    route_to: tuple[str, ...] = ()
    entries: tuple[LedgerEntry, ...] = field(default=())


@dataclass(frozen=True)
class Refused:
    """The aggregate's rules refused the command; nothing was recorded for it."""

    message_id: str
    code: str
    reason: str


Outcome = Recorded | Refused
