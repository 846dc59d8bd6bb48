"""The wire format: sealing, opening and countersigning envelopes (protobuf, Ed25519).

The rule everywhere: serialise once, sign those bytes, ship them; on arrival verify the bytes
received, then parse. Nothing is re-serialised to be verified.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from adapters.crypto import (
    ENVELOPE_CONTEXT,
    RECEIPT_CONTEXT,
    RECEIPTS_CONTEXT,
    STAMP_CONTEXT,
    STAMPS_CONTEXT,
    Signer,
    verify,
)
from adapters.document.validation import validate_document
from adapters.dossier.payload import inspect_dossier
from adapters.ids import is_uuid, new_uuid
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from adapters.population.payloads import inspect_lookup
from hub.errors import MalformedMessage
from hub.model import AttachmentDigest, Header, Kind, Opened, PayloadFacts, ReceiptFacts
from ledger.agency import is_valid_code
from ledger.merkle import MemoryTree, MerkleError, leaf_hash, root_from_inclusion_proof

ENVELOPE_VERSION = 1
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
MAX_RECIPIENTS = 500
# Documents one delivery proof may list: an AckInbox of more is proved in several.
MAX_DELIVERY_ITEMS = 256

_KINDS = {
    envelope_pb2.MESSAGE_KIND_DOCUMENT: Kind.DOCUMENT,
    envelope_pb2.MESSAGE_KIND_STATUS: Kind.STATUS,
    envelope_pb2.MESSAGE_KIND_DELIVERY: Kind.DELIVERY,
    envelope_pb2.MESSAGE_KIND_DOSSIER: Kind.DOSSIER,
    envelope_pb2.MESSAGE_KIND_POSTAL: Kind.POSTAL,
    envelope_pb2.MESSAGE_KIND_LOOKUP: Kind.LOOKUP,
    envelope_pb2.MESSAGE_KIND_LOOKUP_ANSWER: Kind.LOOKUP_ANSWER,
}
# Kinds whose recipients may be empty: the hub routes them to the dossier's agencies.
ROUTED_BY_LEDGER = frozenset({Kind.DOSSIER, Kind.POSTAL})
_WIRE_KINDS = {kind: wire for wire, kind in _KINDS.items()}
STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})


class EnvelopeError(MalformedMessage):
    """A routed envelope or receipt failed verification at the receiving adapter."""


def _parse(message_type: type, data: bytes, field: str) -> object:
    message = message_type()
    try:
        message.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError) as error:
        raise MalformedMessage(field, f"not a valid {message_type.__name__}: {error}") from None
    return message


_KEY_ID = re.compile(r"[0-9a-f]{8}")


def seal(
    signer: Signer,
    *,
    kind: Kind,
    recipients: Sequence[str],
    document_id: str,
    payload: bytes,
    signed_at_ms: int,
    message_id: str | None = None,
    attachments: Sequence[AttachmentDigest] = (),
) -> tuple[str, bytes]:
    """Build and sign an envelope from `signer` (a member); return (message id, bytes)."""
    message_id = message_id or new_uuid()
    header = envelope_pb2.EnvelopeHeader(
        version=ENVELOPE_VERSION,
        message_id=message_id,
        kind=_WIRE_KINDS[kind],
        sender=signer.name,
        recipients=list(recipients),
        document_id=document_id,
        signed_at_ms=signed_at_ms,
        key_id=signer.key_id,
        payload_sha256=hashlib.sha256(payload).digest(),
        payload_size=len(payload),
        attachments=[
            envelope_pb2.AttachmentDigest(name=a.name, sha256=a.sha256, size=a.size)
            for a in attachments
        ],
    )
    header_bytes = header.SerializeToString(deterministic=True)
    envelope = envelope_pb2.Envelope(
        header=header_bytes,
        signature=signer.sign(ENVELOPE_CONTEXT, header_bytes),
        payload=payload,
    )
    return message_id, envelope.SerializeToString(deterministic=True)


def attachment_digests(doc: document_pb2.Document) -> list[AttachmentDigest]:
    """What the signed header says of each attachment: name, SHA-256, size (computed for
    inline ones; for stored ones, what the sending adapter computed as it stored them)."""
    return [
        AttachmentDigest(a.name, a.sha256, a.size)
        if a.object_name
        else AttachmentDigest(a.name, hashlib.sha256(a.content).digest(), len(a.content))
        for a in doc.attachments
    ]


def open_envelope(raw: bytes) -> Opened:
    """Parse an envelope and its header, checking shape but NOT the signature."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMessage("envelope", f"larger than {MAX_MESSAGE_BYTES} bytes")
    envelope = _parse(envelope_pb2.Envelope, raw, "envelope")
    assert isinstance(envelope, envelope_pb2.Envelope)
    if not envelope.header:
        raise MalformedMessage("envelope.header", "missing")
    if len(envelope.signature) != 64:
        raise MalformedMessage("envelope.signature", "must be a 64-byte Ed25519 signature")
    wire = _parse(envelope_pb2.EnvelopeHeader, envelope.header, "envelope.header")
    assert isinstance(wire, envelope_pb2.EnvelopeHeader)
    header = _header(wire)
    return Opened(
        raw=raw,
        header_bytes=envelope.header,
        signature=envelope.signature,
        payload=envelope.payload,
        header=header,
    )


def _header(wire: envelope_pb2.EnvelopeHeader) -> Header:
    if wire.version != ENVELOPE_VERSION:
        raise MalformedMessage("header.version", f"unsupported version {wire.version}")
    if not is_uuid(wire.message_id):
        raise MalformedMessage("header.message_id", "must be a lowercase UUID")
    if wire.kind not in _KINDS:
        raise MalformedMessage("header.kind", f"unknown message kind {wire.kind}")
    if not is_valid_code(wire.sender):
        raise MalformedMessage("header.sender", f"{wire.sender[:40]!r} is not an agency code")
    if not wire.recipients and _KINDS[wire.kind] not in ROUTED_BY_LEDGER:
        raise MalformedMessage("header.recipients", "at least one recipient is required")
    if len(wire.recipients) > MAX_RECIPIENTS:
        raise MalformedMessage("header.recipients", f"at most {MAX_RECIPIENTS} recipients")
    if len(set(wire.recipients)) != len(wire.recipients):
        raise MalformedMessage("header.recipients", "a recipient is listed twice")
    for i, recipient in enumerate(wire.recipients):
        if not is_valid_code(recipient):
            raise MalformedMessage(
                f"header.recipients[{i}]", f"{recipient[:40]!r} is not an agency code"
            )
    if wire.sender in wire.recipients:
        raise MalformedMessage("header.recipients", "a member cannot send to itself")
    if not is_uuid(wire.document_id):
        raise MalformedMessage("header.document_id", "must be a lowercase UUID")
    if len(wire.payload_sha256) != 32:
        raise MalformedMessage("header.payload_sha256", "must be 32 bytes")
    if _KEY_ID.fullmatch(wire.key_id) is None:
        raise MalformedMessage("header.key_id", "must be 8 hex characters")
    return Header(
        version=wire.version,
        message_id=wire.message_id,
        kind=_KINDS[wire.kind],
        sender=wire.sender,
        recipients=tuple(wire.recipients),
        document_id=wire.document_id,
        signed_at_ms=wire.signed_at_ms,
        key_id=wire.key_id,
        payload_sha256=wire.payload_sha256,
        payload_size=wire.payload_size,
        attachments=tuple(AttachmentDigest(a.name, a.sha256, a.size) for a in wire.attachments),
    )


def check_payload_digest(opened: Opened) -> None:
    header = opened.header
    if len(opened.payload) != header.payload_size:
        raise MalformedMessage("payload", "size differs from header.payload_size")
    if hashlib.sha256(opened.payload).digest() != header.payload_sha256:
        raise MalformedMessage("payload", "SHA-256 differs from header.payload_sha256")


def parse_document(opened: Opened) -> document_pb2.Document:
    doc = _parse(document_pb2.Document, opened.payload, "payload")
    assert isinstance(doc, document_pb2.Document)
    return doc


def parse_status(opened: Opened) -> document_pb2.StatusUpdate:
    status = _parse(document_pb2.StatusUpdate, opened.payload, "payload")
    assert isinstance(status, document_pb2.StatusUpdate)
    return status


def parse_delivery(opened: Opened) -> envelope_pb2.Delivery:
    delivery = _parse(envelope_pb2.Delivery, opened.payload, "payload")
    assert isinstance(delivery, envelope_pb2.Delivery)
    return delivery


def check_attachments(doc: document_pb2.Document, header: Header) -> None:
    """Inline attachments must match, one for one, the digests the sender signed."""
    if len(doc.attachments) != len(header.attachments):
        raise MalformedMessage("attachments", "count differs from the signed header")
    for i, (attachment, digest) in enumerate(zip(doc.attachments, header.attachments, strict=True)):
        if attachment.object_name:
            _check_stored(i, attachment, digest)
            continue
        if attachment.name != digest.name or len(attachment.content) != digest.size:
            raise MalformedMessage(
                f"attachments[{i}]", "name or size differs from the signed header"
            )
        if hashlib.sha256(attachment.content).digest() != digest.sha256:
            raise MalformedMessage(f"attachments[{i}]", "SHA-256 differs from the signed header")


def _check_stored(i: int, attachment: document_pb2.Attachment, digest: AttachmentDigest) -> None:
    """A stored attachment: no inline bytes, and the very digest the sender signed."""
    if attachment.content:
        raise MalformedMessage(f"attachments[{i}].content", "must be empty for a stored attachment")
    if len(attachment.sha256) != 32:
        raise MalformedMessage(f"attachments[{i}].sha256", "must be 32 bytes")
    if (attachment.name, attachment.size, attachment.sha256) != (
        digest.name,
        digest.size,
        digest.sha256,
    ):
        raise MalformedMessage(
            f"attachments[{i}]", "name, size or SHA-256 differs from the signed header"
        )


def inspect_payload(opened: Opened) -> PayloadFacts:
    """Parse and validate the payload the header announces; name the field that is wrong."""
    check_payload_digest(opened)
    header = opened.header
    if header.kind in ROUTED_BY_LEDGER:
        return PayloadFacts(act=inspect_dossier(header, opened.payload))
    if header.kind in (Kind.LOOKUP, Kind.LOOKUP_ANSWER):
        return inspect_lookup(opened)
    if header.kind is Kind.DOCUMENT:
        doc = parse_document(opened)
        validate_document(doc)
        check_attachments(doc, header)
        return PayloadFacts(
            subject=doc.subject,
            business_type=int(doc.business_type),
            refers_to=doc.refers_to,
            due_date=doc.due_date,
        )
    if header.kind is Kind.STATUS:
        status = parse_status(opened)
        if status.status_code not in STATUS_CODES:
            raise MalformedMessage(
                "status_code", f"{status.status_code!r} is not an edXML status code"
            )
        if status.document_id != header.document_id:
            raise MalformedMessage("document_id", "differs from header.document_id")
        if len(status.description) > 2000:
            raise MalformedMessage("description", "at most 2000 characters")
        return PayloadFacts(status_code=status.status_code, description=status.description)
    return PayloadFacts(delivered=delivered_items(parse_delivery(opened), header.document_id))


def delivered_items(
    delivery: envelope_pb2.Delivery, document_id: str
) -> tuple[tuple[str, str], ...]:
    """The (document id, message id) pairs a delivery proof covers, in either form, checked:
    identifiers are lowercase UUIDs, each document listed once, and the list form's first
    document is the one the signed header names."""
    if not delivery.items:
        if not is_uuid(delivery.message_id):
            raise MalformedMessage("delivery.message_id", "must be a lowercase UUID")
        return ((document_id, delivery.message_id),)
    if delivery.message_id:
        raise MalformedMessage("delivery.message_id", "must be empty when items are listed")
    if len(delivery.items) > MAX_DELIVERY_ITEMS:
        raise MalformedMessage("delivery.items", f"at most {MAX_DELIVERY_ITEMS} documents")
    seen: set[str] = set()
    for i, item in enumerate(delivery.items):
        if not is_uuid(item.document_id):
            raise MalformedMessage(f"delivery.items[{i}].document_id", "must be a lowercase UUID")
        if not is_uuid(item.message_id):
            raise MalformedMessage(f"delivery.items[{i}].message_id", "must be a lowercase UUID")
        if item.document_id in seen:
            raise MalformedMessage(f"delivery.items[{i}].document_id", "listed twice")
        seen.add(item.document_id)
    if delivery.items[0].document_id != document_id:
        raise MalformedMessage("delivery.items[0].document_id", "differs from header.document_id")
    return tuple((item.document_id, item.message_id) for item in delivery.items)


class ProtobufCodec:
    """The hub's EnvelopeCodec: opens members' envelopes, writes hub-signed messages."""

    def __init__(self, hub_signer: Signer) -> None:
        self._hub = hub_signer

    def open(self, raw: bytes) -> Opened:
        return open_envelope(raw)

    def sender_signature_valid(self, opened: Opened, public_key: bytes) -> bool:
        return verify(public_key, ENVELOPE_CONTEXT, opened.header_bytes, opened.signature)

    def inspect(self, opened: Opened) -> PayloadFacts:
        return inspect_payload(opened)

    def stamp(
        self,
        opened: Opened,
        *,
        recipient: str,
        ledger_position: int,
        received_at_ms: int,
        sender_public_key: bytes,
    ) -> bytes:
        """The hub's statement about one copy of `opened` for `recipient`, serialised once:
        the bytes `countersign` signs."""
        return envelope_pb2.HubStamp(
            version=ENVELOPE_VERSION,
            message_id=opened.header.message_id,
            recipient=recipient,
            ledger_position=ledger_position,
            received_at_ms=received_at_ms,
            header_sha256=hashlib.sha256(opened.header_bytes).digest(),
            sender_public_key=sender_public_key,
            hub_key_id=self._hub.key_id,
        ).SerializeToString(deterministic=True)

    def countersign(self, recipient: str, copies: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """Routed messages for `recipient` from (envelope, stamp) pairs that travel together.

        A lone copy's stamp is signed alone, as it always was. Several are signed once, as
        the leaves of a Merkle tree whose head the hub signs; each copy carries that head and
        its inclusion proof. A signature at the hub and a check at the recipient per bundle
        instead of per copy, and each copy is still evidence on its own.
        """
        if len(copies) == 1:
            ((envelope, stamp),) = copies
            return [
                envelope_pb2.RoutedEnvelope(
                    envelope=envelope,
                    stamp=stamp,
                    hub_signature=self._hub.sign(STAMP_CONTEXT, stamp),
                ).SerializeToString(deterministic=True)
            ]
        tree = MemoryTree.from_data(stamp for _, stamp in copies)
        head = envelope_pb2.StampTreeHead(
            version=ENVELOPE_VERSION,
            recipient=recipient,
            tree_size=tree.size,
            root_hash=tree.root(),
            hub_key_id=self._hub.key_id,
        ).SerializeToString(deterministic=True)
        signature = self._hub.sign(STAMPS_CONTEXT, head)
        return [
            envelope_pb2.RoutedEnvelope(
                envelope=envelope,
                stamp=stamp,
                stamps=envelope_pb2.StampInclusion(
                    head=head,
                    hub_signature=signature,
                    leaf_index=index,
                    audit_path=tree.inclusion_proof(index),
                ),
            ).SerializeToString(deterministic=True)
            for index, (envelope, stamp) in enumerate(copies)
        ]

    def routed(
        self,
        opened: Opened,
        *,
        recipient: str,
        ledger_position: int,
        received_at_ms: int,
        sender_public_key: bytes,
    ) -> bytes:
        """One copy of `opened` for `recipient`, countersigned alone."""
        stamp = self.stamp(
            opened,
            recipient=recipient,
            ledger_position=ledger_position,
            received_at_ms=received_at_ms,
            sender_public_key=sender_public_key,
        )
        return self.countersign(recipient, [(opened.raw, stamp)])[0]

    def receipts(self, receipts: Sequence[ReceiptFacts]) -> bytes:
        """Receipts for one member in one message, signed once. A lone receipt keeps the
        single form (`receipt`, signed over "truc.v1/receipt\n"), so light traffic looks
        as it always did; several travel as a `ReceiptBatch` in `receipts`."""
        messages = [_receipt_message(r) for r in receipts]
        if len(messages) == 1:
            one = messages[0].SerializeToString(deterministic=True)
            return envelope_pb2.SignedReceipt(
                receipt=one, hub_signature=self._hub.sign(RECEIPT_CONTEXT, one)
            ).SerializeToString(deterministic=True)
        batch = envelope_pb2.ReceiptBatch(receipts=messages).SerializeToString(deterministic=True)
        return envelope_pb2.SignedReceipt(
            receipts=batch, hub_signature=self._hub.sign(RECEIPTS_CONTEXT, batch)
        ).SerializeToString(deterministic=True)

    def bundle(self, routed: Sequence[bytes]) -> bytes:
        return bundle(routed)


def bundle(items: Sequence[bytes]) -> bytes:
    """Several messages in one (envelope.proto, Bundle): a container, not signed."""
    return envelope_pb2.Bundle(items=items).SerializeToString(deterministic=True)


def unbundle(raw: bytes) -> list[bytes]:
    """The messages of a Bundle, each still to be checked as if it came alone."""
    parsed = _parse(envelope_pb2.Bundle, raw, "bundle")
    assert isinstance(parsed, envelope_pb2.Bundle)
    if not parsed.items:
        raise EnvelopeError("bundle.items", "is empty")
    return list(parsed.items)


def _receipt_message(r: ReceiptFacts) -> envelope_pb2.Receipt:
    return envelope_pb2.Receipt(
        version=ENVELOPE_VERSION,
        message_id=r.message_id,
        document_id=r.document_id,
        accepted=r.accepted,
        ledger_position=r.ledger_position,
        recorded_at_ms=r.recorded_at_ms,
        reject_code=r.reject_code,
        reject_reason=r.reject_reason,
        delivered_to=r.delivered_to,
    )


def receipt_signed_bytes(signed: envelope_pb2.SignedReceipt) -> tuple[bytes, bytes]:
    """The context and the exact bytes the hub signed in `signed`: a batch (`receipts`) or
    one receipt (`receipt`)."""
    if signed.receipts:
        return RECEIPTS_CONTEXT, signed.receipts
    return RECEIPT_CONTEXT, signed.receipt


@dataclass(frozen=True)
class VerifiedDelivery:
    """A routed message whose hub and sender signatures both verified, for `recipient`."""

    opened: Opened
    stamp: envelope_pb2.HubStamp
    routed_bytes: bytes


class TreeHeads:
    """Stamp tree heads whose hub signature already verified, so that the copies one bundle
    carries cost one signature check between them rather than one each. Only successes are
    kept, each with the key that verified it; keep one for a pull, not for ever."""

    def __init__(self) -> None:
        self._verified: set[tuple[bytes, bytes, bytes]] = set()

    def verified(self, hub_public_key: bytes, head: bytes, signature: bytes) -> bool:
        token = (hub_public_key, head, signature)
        if token in self._verified:
            return True
        if not verify(hub_public_key, STAMPS_CONTEXT, head, signature):
            return False
        self._verified.add(token)
        return True


def check_countersignature(
    routed: envelope_pb2.RoutedEnvelope,
    *,
    hub_public_key: bytes,
    recipient: str,
    heads: TreeHeads | None = None,
) -> None:
    """The hub's signature on a routed copy's stamp, in either form, or EnvelopeError naming
    the field: alone (`hub_signature`), or as a leaf of a signed tree of a bundle's stamps
    (`stamps`: the head's signature, that it is for `recipient`, and the inclusion proof)."""
    if not routed.HasField("stamps"):
        if not verify(hub_public_key, STAMP_CONTEXT, routed.stamp, routed.hub_signature):
            raise EnvelopeError("routed.hub_signature", "does not verify with the hub's key")
        return
    if routed.hub_signature:
        raise EnvelopeError("routed.hub_signature", "must be empty when stamps is set")
    inclusion = routed.stamps
    if not (heads or TreeHeads()).verified(hub_public_key, inclusion.head, inclusion.hub_signature):
        raise EnvelopeError("routed.stamps.hub_signature", "does not verify with the hub's key")
    head = _parse(envelope_pb2.StampTreeHead, inclusion.head, "routed.stamps.head")
    assert isinstance(head, envelope_pb2.StampTreeHead)
    if head.version != ENVELOPE_VERSION:
        raise EnvelopeError("routed.stamps.head.version", f"unsupported version {head.version}")
    if head.recipient != recipient:
        raise EnvelopeError(
            "routed.stamps.head.recipient", f"addressed to {head.recipient}, not {recipient}"
        )
    try:
        root = root_from_inclusion_proof(
            leaf_hash(routed.stamp), inclusion.leaf_index, head.tree_size, inclusion.audit_path
        )
    except MerkleError as error:
        raise EnvelopeError("routed.stamps.audit_path", str(error)) from None
    if root != head.root_hash:
        raise EnvelopeError(
            "routed.stamps.audit_path", "does not lead from the stamp to the signed root"
        )


def open_routed(
    raw: bytes, *, hub_public_key: bytes, recipient: str, heads: TreeHeads | None = None
) -> VerifiedDelivery:
    """Verify a routed envelope end to end at the recipient's adapter, then parse it.
    `heads`, shared by the copies of one pull, spares checking a bundle's head again."""
    if len(raw) > MAX_MESSAGE_BYTES + 4096:
        raise EnvelopeError("routed", "too large")
    routed = _parse(envelope_pb2.RoutedEnvelope, raw, "routed")
    assert isinstance(routed, envelope_pb2.RoutedEnvelope)
    check_countersignature(routed, hub_public_key=hub_public_key, recipient=recipient, heads=heads)
    stamp = _parse(envelope_pb2.HubStamp, routed.stamp, "routed.stamp")
    assert isinstance(stamp, envelope_pb2.HubStamp)
    if stamp.recipient != recipient:
        raise EnvelopeError(
            "routed.stamp.recipient", f"addressed to {stamp.recipient}, not {recipient}"
        )
    opened = open_envelope(routed.envelope)
    if hashlib.sha256(opened.header_bytes).digest() != stamp.header_sha256:
        raise EnvelopeError("routed.stamp.header_sha256", "does not match the envelope header")
    if stamp.message_id != opened.header.message_id:
        raise EnvelopeError("routed.stamp.message_id", "does not match the envelope header")
    if not verify(stamp.sender_public_key, ENVELOPE_CONTEXT, opened.header_bytes, opened.signature):
        raise EnvelopeError(
            "envelope.signature", f"does not verify with {opened.header.sender}'s key"
        )
    if recipient not in opened.header.recipients and opened.header.kind is Kind.DOCUMENT:
        raise EnvelopeError("header.recipients", f"{recipient} is not a recipient")
    check_payload_digest(opened)
    return VerifiedDelivery(opened=opened, stamp=stamp, routed_bytes=raw)


def open_receipt(raw: bytes, *, hub_public_key: bytes) -> envelope_pb2.Receipt:
    """One receipt (a message carrying several is refused: use `open_receipts`)."""
    receipts = open_receipts(raw, hub_public_key=hub_public_key)
    if len(receipts) != 1:
        raise EnvelopeError("receipt.receipts", f"carries {len(receipts)} receipts, not one")
    return receipts[0]


def open_receipts(raw: bytes, *, hub_public_key: bytes) -> list[envelope_pb2.Receipt]:
    """The receipts in one message from the hub (one, or a signed batch for this member),
    verified over the exact bytes received before any of them is parsed."""
    signed = _parse(envelope_pb2.SignedReceipt, raw, "receipt")
    assert isinstance(signed, envelope_pb2.SignedReceipt)
    if signed.receipt and signed.receipts:
        raise EnvelopeError("receipt", "sets both receipt and receipts")
    context, signed_bytes = receipt_signed_bytes(signed)
    if not verify(hub_public_key, context, signed_bytes, signed.hub_signature):
        raise EnvelopeError("receipt.hub_signature", "does not verify with the hub's key")
    if not signed.receipts:
        receipt = _parse(envelope_pb2.Receipt, signed.receipt, "receipt.receipt")
        assert isinstance(receipt, envelope_pb2.Receipt)
        return [receipt]
    batch = _parse(envelope_pb2.ReceiptBatch, signed.receipts, "receipt.receipts")
    assert isinstance(batch, envelope_pb2.ReceiptBatch)
    if not batch.receipts:
        raise EnvelopeError("receipt.receipts", "is empty")
    return list(batch.receipts)
