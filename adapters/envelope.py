"""The wire format: sealing, opening and countersigning envelopes (protobuf, Ed25519).

The rule everywhere: serialise once, sign those bytes, ship them; on arrival verify the bytes
received, then parse. Nothing is re-serialised to be verified.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError

from adapters.crypto import (
    ENVELOPE_CONTEXT,
    ENVELOPES_CONTEXT,
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
from ledger.merkle import MerkleError, all_inclusion_proofs, leaf_hash, root_from_inclusion_proof

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
SIGNATURE_BYTES = 64


class Sealable(Protocol):
    """What sealing needs of a message (adapters.document.gateway.Outgoing is one)."""

    @property
    def kind(self) -> Kind: ...
    @property
    def recipients(self) -> Sequence[str]: ...
    @property
    def document_id(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def attachments(self) -> Sequence[AttachmentDigest]: ...


@dataclass(frozen=True)
class ToSeal:
    kind: Kind
    recipients: Sequence[str]
    document_id: str
    payload: bytes
    message_id: str | None = None
    attachments: Sequence[AttachmentDigest] = ()


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
    message = ToSeal(kind, recipients, document_id, payload, message_id, attachments)
    return seal_many(signer, [message], signed_at_ms=signed_at_ms)[0]


def seal_many(
    signer: Signer, messages: Sequence[Sealable], *, signed_at_ms: int
) -> list[tuple[str, bytes]]:
    """Build envelopes from `signer` and sign them together; (message id, bytes) each.

    A lone message is signed alone (`Envelope.signature`), as it always was. Several are
    signed once, as the leaves of a Merkle tree of their exact header bytes whose head the
    sender signs: each envelope carries that head and its inclusion proof (`sealed`). One
    signature per call instead of per message here, and one check per tree instead of per
    message at the hub and at each recipient, and each envelope is still evidence alone.
    """
    headers = [_header_bytes(signer, message, signed_at_ms) for message in messages]
    if not headers:
        return []
    if len(headers) == 1:
        ((message_id, header),) = headers
        envelope = envelope_pb2.Envelope(
            header=header,
            signature=signer.sign(ENVELOPE_CONTEXT, header),
            payload=messages[0].payload,
        )
        return [(message_id, envelope.SerializeToString(deterministic=True))]
    root, proofs = all_inclusion_proofs([leaf_hash(header) for _, header in headers])
    head = envelope_pb2.EnvelopeTreeHead(
        version=ENVELOPE_VERSION,
        sender=signer.name,
        key_id=signer.key_id,
        tree_size=len(headers),
        root_hash=root,
    ).SerializeToString(deterministic=True)
    signature = signer.sign(ENVELOPES_CONTEXT, head)
    return [
        (
            message_id,
            envelope_pb2.Envelope(
                header=header,
                payload=message.payload,
                sealed=_inclusion(head, signature, index, proofs[index]).SerializeToString(
                    deterministic=True
                ),
            ).SerializeToString(deterministic=True),
        )
        for index, ((message_id, header), message) in enumerate(zip(headers, messages, strict=True))
    ]


def _inclusion(
    head: bytes, signature: bytes, index: int, audit_path: list[bytes]
) -> envelope_pb2.TreeInclusion:
    return envelope_pb2.TreeInclusion(
        head=head, signature=signature, leaf_index=index, audit_path=audit_path
    )


def _header_bytes(signer: Signer, message: Sealable, signed_at_ms: int) -> tuple[str, bytes]:
    """A new message's id and its serialised header: the exact bytes to sign."""
    message_id = message.message_id or new_uuid()
    header = envelope_pb2.EnvelopeHeader(
        version=ENVELOPE_VERSION,
        message_id=message_id,
        kind=_WIRE_KINDS[message.kind],
        sender=signer.name,
        recipients=list(message.recipients),
        document_id=message.document_id,
        signed_at_ms=signed_at_ms,
        key_id=signer.key_id,
        payload_sha256=hashlib.sha256(message.payload).digest(),
        payload_size=len(message.payload),
        attachments=[
            envelope_pb2.AttachmentDigest(name=a.name, sha256=a.sha256, size=a.size)
            for a in message.attachments
        ],
    )
    return message_id, header.SerializeToString(deterministic=True)


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
    if envelope.sealed:
        if envelope.signature:
            raise MalformedMessage("envelope.signature", "must be empty when sealed is set")
        if len(envelope.sealed) <= SIGNATURE_BYTES:  # never a tree's evidence: see `check_seal`
            raise MalformedMessage("envelope.sealed", "too short to hold a signed tree head")
    elif len(envelope.signature) != SIGNATURE_BYTES:
        raise MalformedMessage("envelope.signature", "must be a 64-byte Ed25519 signature")
    wire = _parse(envelope_pb2.EnvelopeHeader, envelope.header, "envelope.header")
    assert isinstance(wire, envelope_pb2.EnvelopeHeader)
    header = _header(wire)
    return Opened(
        raw=raw,
        header_bytes=envelope.header,
        signature=envelope.sealed or envelope.signature,
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
        # Senders' tree heads already verified: a batch's envelopes share one.
        self._heads = TreeHeads()

    def open(self, raw: bytes) -> Opened:
        return open_envelope(raw)

    def sender_signature_valid(self, opened: Opened, public_key: bytes) -> bool:
        try:
            check_seal(opened, public_key=public_key, heads=self._heads)
        except MalformedMessage:
            return False
        return True

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
        root, proofs = all_inclusion_proofs([leaf_hash(stamp) for _, stamp in copies])
        head = envelope_pb2.StampTreeHead(
            version=ENVELOPE_VERSION,
            recipient=recipient,
            tree_size=len(copies),
            root_hash=root,
            hub_key_id=self._hub.key_id,
        ).SerializeToString(deterministic=True)
        signature = self._hub.sign(STAMPS_CONTEXT, head)
        return [
            envelope_pb2.RoutedEnvelope(
                envelope=envelope,
                stamp=stamp,
                stamps=_inclusion(head, signature, index, proofs[index]),
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


VerifyFn = Callable[[bytes, bytes, bytes, bytes], bool]
"""``(public key, context, data, signature) -> bool``, as `adapters.crypto.verify`."""


class TreeHeads:
    """Tree heads whose signature already verified, so that the messages one tree covers
    (a bundle's stamps, a batch's envelopes) cost one signature check between them rather
    than one each. Only successes are kept, each with the key and context that verified it,
    and at most `most` of them (then it starts afresh)."""

    def __init__(self, verify_fn: VerifyFn | None = None, *, most: int = 4096) -> None:
        self._verify = verify_fn
        self._most = most
        self._verified: set[tuple[bytes, bytes, bytes, bytes]] = set()

    def check(self, key: bytes, context: bytes, data: bytes, signature: bytes) -> bool:
        """A signature checked with this cache's verify function, and not kept."""
        return (self._verify or verify)(key, context, data, signature)

    def verified(self, key: bytes, context: bytes, head: bytes, signature: bytes) -> bool:
        token = (key, context, head, signature)
        if token in self._verified:
            return True
        if not (self._verify or verify)(key, context, head, signature):
            return False
        if len(self._verified) >= self._most:
            self._verified.clear()
        self._verified.add(token)
        return True


def _signed_head(
    inclusion: envelope_pb2.TreeInclusion,
    head_type: type,
    *,
    key: bytes,
    context: bytes,
    heads: TreeHeads | None,
    field: str,
    signer: str,
) -> object:
    """The head `inclusion` names, parsed once its signature verified with `key`."""
    if not (heads or TreeHeads()).verified(key, context, inclusion.head, inclusion.signature):
        raise EnvelopeError(f"{field}.signature", f"does not verify with {signer}'s key")
    head = _parse(head_type, inclusion.head, f"{field}.head")
    if head.version != ENVELOPE_VERSION:  # type: ignore[attr-defined]
        raise EnvelopeError(
            f"{field}.head.version",
            f"unsupported version {head.version}",  # type: ignore[attr-defined]
        )
    return head


def _check_leaf(
    leaf: bytes, inclusion: envelope_pb2.TreeInclusion, size: int, root: bytes, field: str
) -> None:
    """`leaf` (exact bytes) is where `inclusion` says in the tree of `size` with `root`."""
    try:
        computed = root_from_inclusion_proof(
            leaf_hash(leaf), inclusion.leaf_index, size, inclusion.audit_path
        )
    except MerkleError as error:
        raise EnvelopeError(f"{field}.audit_path", str(error)) from None
    if computed != root:
        raise EnvelopeError(f"{field}.audit_path", "does not lead to the signed root")


def check_seal(
    opened: Opened,
    *,
    public_key: bytes,
    heads: TreeHeads | None = None,
) -> None:
    """The sender's signature on an opened envelope, in either form, or EnvelopeError naming
    the field: alone (64 bytes over "truc.v1/envelope\n" || header), or as a leaf of a
    signed tree of headers sealed together (`Envelope.sealed`: the head's signature with
    `public_key`, that it names the header's sender and key, and the inclusion proof)."""
    header = opened.header
    check_sealed_bytes(
        opened.header_bytes,
        opened.signature,
        public_key=public_key,
        sender=header.sender,
        key_id=header.key_id,
        heads=heads,
    )


def check_sealed_bytes(
    header_bytes: bytes,
    seal_bytes: bytes,
    *,
    public_key: bytes,
    sender: str,
    key_id: str,
    heads: TreeHeads | None = None,
) -> None:
    """`check_seal` on the bytes the ledger keeps: the header and what stands for its
    signature (64 bytes: a signature; longer: a serialised TreeInclusion)."""
    if len(seal_bytes) == SIGNATURE_BYTES:
        if not (heads or TreeHeads()).check(public_key, ENVELOPE_CONTEXT, header_bytes, seal_bytes):
            raise EnvelopeError("envelope.signature", f"does not verify with {sender}'s key")
        return
    inclusion = _parse(envelope_pb2.TreeInclusion, seal_bytes, "envelope.sealed")
    assert isinstance(inclusion, envelope_pb2.TreeInclusion)
    head = _signed_head(
        inclusion,
        envelope_pb2.EnvelopeTreeHead,
        key=public_key,
        context=ENVELOPES_CONTEXT,
        heads=heads,
        field="envelope.sealed",
        signer=sender,
    )
    assert isinstance(head, envelope_pb2.EnvelopeTreeHead)
    if (head.sender, head.key_id) != (sender, key_id):
        raise EnvelopeError(
            "envelope.sealed.head", "names another sender or key than the header it seals"
        )
    _check_leaf(header_bytes, inclusion, head.tree_size, head.root_hash, "envelope.sealed")


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
    head = _signed_head(
        routed.stamps,
        envelope_pb2.StampTreeHead,
        key=hub_public_key,
        context=STAMPS_CONTEXT,
        heads=heads,
        field="routed.stamps",
        signer="the hub",
    )
    assert isinstance(head, envelope_pb2.StampTreeHead)
    if head.recipient != recipient:
        raise EnvelopeError(
            "routed.stamps.head.recipient", f"addressed to {head.recipient}, not {recipient}"
        )
    _check_leaf(routed.stamp, routed.stamps, head.tree_size, head.root_hash, "routed.stamps")


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
    check_seal(opened, public_key=stamp.sender_public_key, heads=heads)
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
