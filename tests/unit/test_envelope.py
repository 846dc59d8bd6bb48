"""The wire format: sealing, opening, countersigning and receipts (adapters/envelope.py,
adapters/crypto.py). Signatures are over exact bytes; every broken part names its field."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.crypto import (
    ENVELOPE_CONTEXT,
    RECEIPT_CONTEXT,
    RECEIPTS_CONTEXT,
    STAMP_CONTEXT,
    CryptoError,
    Signer,
    key_id,
    load_key,
    load_or_create_key,
    verify,
    verify_raw,
)
from adapters.envelope import (
    MAX_MESSAGE_BYTES,
    MAX_RECIPIENTS,
    EnvelopeError,
    ProtobufCodec,
    check_payload_digest,
    inspect_payload,
    open_envelope,
    open_receipt,
    open_receipts,
    open_routed,
    seal,
)
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from hub.errors import MalformedMessage
from hub.model import AttachmentDigest, Kind, Opened, ReceiptFacts
from tests.support import G15, G22, H49

NOW_MS = 1_750_000_000_000
DOC_ID = "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"
MSG_ID = "0b7b5e4a-8f0a-4d3e-9c41-5a2f6f0e9d11"

# Built once: Ed25519 key generation is cheap, but hypothesis runs many examples.
SENDER = Signer.generate(G22)
OTHER = Signer.generate(G22)
HUB = Signer.generate("truc.test")
OTHER_HUB = Signer.generate("truc.test")
CODEC = ProtobufCodec(HUB)

no_surrogates = st.characters(exclude_categories=["Cs"])


def _document(subject: str = "Về việc triển khai trục liên thông văn bản") -> bytes:
    return document_pb2.Document(
        subject=subject,
        from_organ=document_pb2.Organization(organ_id=G22),
        to_organs=[document_pb2.Organization(organ_id=H49)],
    ).SerializeToString()


def _seal(
    signer: Signer = SENDER,
    *,
    kind: Kind = Kind.DOCUMENT,
    recipients: tuple[str, ...] = (H49,),
    payload: bytes | None = None,
    message_id: str = MSG_ID,
    attachments: tuple[AttachmentDigest, ...] = (),
) -> bytes:
    _, raw = seal(
        signer,
        kind=kind,
        recipients=recipients,
        document_id=DOC_ID,
        payload=_document() if payload is None else payload,
        signed_at_ms=NOW_MS,
        message_id=message_id,
        attachments=attachments,
    )
    return raw


def _flip(data: bytes, position: int, mask: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


def _wire_header(**overrides: Any) -> envelope_pb2.EnvelopeHeader:
    fields: dict[str, Any] = {
        "version": 1,
        "message_id": MSG_ID,
        "kind": envelope_pb2.MESSAGE_KIND_DOCUMENT,
        "sender": G22,
        "recipients": [H49],
        "document_id": DOC_ID,
        "signed_at_ms": NOW_MS,
        "key_id": SENDER.key_id,
        "payload_sha256": hashlib.sha256(b"payload").digest(),
        "payload_size": len(b"payload"),
    }
    fields.update(overrides)
    return envelope_pb2.EnvelopeHeader(**fields)


def _envelope(header: bytes, signature: bytes = b"\x00" * 64, payload: bytes = b"payload") -> bytes:
    return envelope_pb2.Envelope(
        header=header, signature=signature, payload=payload
    ).SerializeToString()


def _raw_with(**overrides: Any) -> bytes:
    return _envelope(_wire_header(**overrides).SerializeToString())


def _malformed(raw: bytes) -> MalformedMessage:
    with pytest.raises(MalformedMessage) as error:
        open_envelope(raw)
    return error.value


def _routed(
    opened: Opened,
    *,
    recipient: str = H49,
    codec: ProtobufCodec = CODEC,
    sender_public_key: bytes = SENDER.public_key,
) -> bytes:
    return codec.routed(
        opened,
        recipient=recipient,
        ledger_position=42,
        received_at_ms=NOW_MS + 5,
        sender_public_key=sender_public_key,
    )


def _signed_stamp(envelope: bytes, **overrides: Any) -> bytes:
    """A routed envelope whose stamp the real hub key signs, with chosen stamp fields."""
    opened = open_envelope(envelope)
    fields: dict[str, Any] = {
        "version": 1,
        "message_id": opened.header.message_id,
        "recipient": H49,
        "ledger_position": 42,
        "received_at_ms": NOW_MS,
        "header_sha256": hashlib.sha256(opened.header_bytes).digest(),
        "sender_public_key": SENDER.public_key,
        "hub_key_id": HUB.key_id,
    }
    fields.update(overrides)
    stamp = envelope_pb2.HubStamp(**fields).SerializeToString()
    return envelope_pb2.RoutedEnvelope(
        envelope=envelope, stamp=stamp, hub_signature=HUB.sign(STAMP_CONTEXT, stamp)
    ).SerializeToString()


# -- sealing and opening ------------------------------------------------------------------


def test_seal_then_open_gives_back_every_header_field() -> None:
    payload = _document()
    attachment = AttachmentDigest("qd.pdf", hashlib.sha256(b"%PDF").digest(), 4)
    message_id, raw = seal(
        SENDER,
        kind=Kind.DOCUMENT,
        recipients=[H49, G15],
        document_id=DOC_ID,
        payload=payload,
        signed_at_ms=NOW_MS,
        attachments=[attachment],
    )
    opened = open_envelope(raw)
    header = opened.header
    assert str(uuid.UUID(message_id)) == message_id
    assert header.message_id == message_id
    assert header.version == 1
    assert header.kind is Kind.DOCUMENT
    assert header.sender == G22
    assert header.recipients == (H49, G15)
    assert header.document_id == DOC_ID
    assert header.signed_at_ms == NOW_MS
    assert header.key_id == SENDER.key_id
    assert header.payload_sha256 == hashlib.sha256(payload).digest()
    assert header.payload_size == len(payload)
    assert header.attachments == (attachment,)
    assert opened.payload == payload
    assert opened.raw == raw


def test_seal_uses_the_given_message_id() -> None:
    assert open_envelope(_seal(message_id=MSG_ID)).header.message_id == MSG_ID


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_survives_the_round_trip(kind: Kind) -> None:
    assert open_envelope(_seal(kind=kind)).header.kind is kind


def test_signature_is_over_the_exact_header_bytes_with_the_envelope_context() -> None:
    opened = open_envelope(_seal())
    wire = envelope_pb2.Envelope.FromString(opened.raw)
    assert opened.header_bytes == wire.header
    assert verify(SENDER.public_key, ENVELOPE_CONTEXT, opened.header_bytes, opened.signature)
    assert CODEC.sender_signature_valid(opened, SENDER.public_key)
    # Domain separation: the same bytes signed for another purpose never verify as this one.
    assert not verify(SENDER.public_key, STAMP_CONTEXT, opened.header_bytes, opened.signature)
    assert not verify_raw(SENDER.public_key, opened.header_bytes, opened.signature)


def test_signature_does_not_verify_with_another_key() -> None:
    opened = open_envelope(_seal())
    assert not CODEC.sender_signature_valid(opened, OTHER.public_key)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [(b"", b"\x00" * 64), (b"\x00" * 31, b"\x00" * 64), (SENDER.public_key, b"")],
)
def test_verify_fails_closed_on_short_input(public_key: bytes, signature: bytes) -> None:
    assert not verify(public_key, ENVELOPE_CONTEXT, b"data", signature)


def test_verify_rejects_a_public_key_that_is_not_a_curve_point() -> None:
    opened = open_envelope(_seal())
    assert not verify(b"\xff" * 32, ENVELOPE_CONTEXT, opened.header_bytes, opened.signature)


def test_inspect_payload_returns_the_document_facts() -> None:
    facts = inspect_payload(open_envelope(_seal(payload=_document("Công văn"))))
    assert facts.subject == "Công văn"
    assert facts.business_type == 0


@given(data=st.data())
def test_any_single_byte_change_to_the_header_breaks_the_signature(data: st.DataObject) -> None:
    opened = open_envelope(_seal())
    position = data.draw(st.integers(0, len(opened.header_bytes) - 1))
    mask = data.draw(st.integers(1, 255))
    header = _flip(opened.header_bytes, position, mask)
    assert not verify(SENDER.public_key, ENVELOPE_CONTEXT, header, opened.signature)
    try:
        reopened = open_envelope(_envelope(header, opened.signature, opened.payload))
    except MalformedMessage:
        return
    assert not CODEC.sender_signature_valid(reopened, SENDER.public_key)


@given(position=st.integers(0, 63), mask=st.integers(1, 255))
def test_any_single_byte_change_to_the_signature_breaks_it(position: int, mask: int) -> None:
    opened = open_envelope(_seal())
    raw = _envelope(opened.header_bytes, _flip(opened.signature, position, mask), opened.payload)
    assert not CODEC.sender_signature_valid(open_envelope(raw), SENDER.public_key)


@given(data=st.data())
def test_any_single_byte_change_to_the_payload_fails_the_digest_check(
    data: st.DataObject,
) -> None:
    opened = open_envelope(_seal())
    position = data.draw(st.integers(0, len(opened.payload) - 1))
    mask = data.draw(st.integers(1, 255))
    raw = _envelope(opened.header_bytes, opened.signature, _flip(opened.payload, position, mask))
    tampered = open_envelope(raw)
    # The signature still verifies: the payload is bound only through the signed digest.
    assert CODEC.sender_signature_valid(tampered, SENDER.public_key)
    with pytest.raises(MalformedMessage) as error:
        check_payload_digest(tampered)
    assert error.value.field == "payload"


@given(data=st.data())
def test_any_single_byte_change_to_a_sealed_envelope_is_detected(data: st.DataObject) -> None:
    raw = _seal()
    position = data.draw(st.integers(0, len(raw) - 1))
    mask = data.draw(st.integers(1, 255))
    try:
        opened = open_envelope(_flip(raw, position, mask))
        if not CODEC.sender_signature_valid(opened, SENDER.public_key):
            return
        check_payload_digest(opened)
    except MalformedMessage:
        return
    pytest.fail(f"flipping byte {position} with {mask:#04x} went unnoticed")


def test_payload_of_another_size_is_refused_by_size() -> None:
    opened = open_envelope(_seal())
    tampered = open_envelope(_envelope(opened.header_bytes, opened.signature, b"x"))
    with pytest.raises(MalformedMessage, match="size differs"):
        check_payload_digest(tampered)


# -- header shape -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"version": 0}, "header.version"),
        ({"version": 2}, "header.version"),
        ({"message_id": ""}, "header.message_id"),
        ({"message_id": "not-a-uuid"}, "header.message_id"),
        ({"message_id": MSG_ID.upper()}, "header.message_id"),
        ({"message_id": "{" + MSG_ID + "}"}, "header.message_id"),
        ({"message_id": "urn:uuid:" + MSG_ID}, "header.message_id"),
        ({"message_id": MSG_ID.replace("-", "")}, "header.message_id"),
        ({"kind": envelope_pb2.MESSAGE_KIND_UNSPECIFIED}, "header.kind"),
        ({"kind": 99}, "header.kind"),
        ({"sender": ""}, "header.sender"),
        ({"sender": "000.00.00.g22"}, "header.sender"),
        ({"recipients": []}, "header.recipients"),
        ({"recipients": [H49, H49]}, "header.recipients"),
        ({"recipients": [H49, G22]}, "header.recipients"),
        ({"recipients": ["not a code"]}, "header.recipients[0]"),
        ({"recipients": [H49, "000..00.G15"]}, "header.recipients[1]"),
        ({"recipients": [f"X{i}" for i in range(MAX_RECIPIENTS + 1)]}, "header.recipients"),
        ({"document_id": ""}, "header.document_id"),
        ({"document_id": DOC_ID.upper()}, "header.document_id"),
        ({"payload_sha256": b""}, "header.payload_sha256"),
        ({"payload_sha256": b"\x00" * 31}, "header.payload_sha256"),
        ({"payload_sha256": b"\x00" * 33}, "header.payload_sha256"),
        ({"key_id": ""}, "header.key_id"),
        ({"key_id": "abc"}, "header.key_id"),
        ({"key_id": "0123456789"}, "header.key_id"),
    ],
)
def test_bad_header_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    assert _malformed(_raw_with(**overrides)).field == field


def test_well_formed_header_opens() -> None:
    opened = open_envelope(_raw_with())
    assert opened.header.sender == G22


def test_exactly_max_recipients_is_accepted() -> None:
    recipients = [f"X{i}" for i in range(MAX_RECIPIENTS)]
    assert len(open_envelope(_raw_with(recipients=recipients)).header.recipients) == 500


def test_duplicate_recipient_message_says_listed_twice() -> None:
    assert "listed twice" in str(_malformed(_raw_with(recipients=[H49, H49])))


def test_sender_among_recipients_message_says_cannot_send_to_itself() -> None:
    assert "itself" in str(_malformed(_raw_with(recipients=[G22])))


def test_non_hex_key_id_is_refused() -> None:
    assert _malformed(_raw_with(key_id="zzzzzzzz")).field == "header.key_id"


def test_oversize_envelope_is_refused_before_parsing() -> None:
    error = _malformed(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    assert error.field == "envelope"
    assert "larger than" in error.reason


def test_unparseable_envelope_is_refused() -> None:
    assert _malformed(b"\xff\xff\xff").field == "envelope"


def test_envelope_without_header_is_refused() -> None:
    assert _malformed(_envelope(b"")).field == "envelope.header"


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_the_wrong_length_is_refused(length: int) -> None:
    raw = _envelope(_wire_header().SerializeToString(), b"\x01" * length)
    assert _malformed(raw).field == "envelope.signature"


def test_unparseable_header_is_refused() -> None:
    assert _malformed(_envelope(b"\xff\xff\xff")).field == "envelope.header"


def test_malformed_message_carries_field_and_reason() -> None:
    error = MalformedMessage("header.sender", "not an agency code")
    assert str(error) == "header.sender: not an agency code"
    assert (error.field, error.reason) == ("header.sender", "not an agency code")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_open_envelope_on_arbitrary_bytes_returns_or_raises_malformed(raw: bytes) -> None:
    try:
        opened = open_envelope(raw)
    except MalformedMessage:
        return
    assert opened.raw == raw


@given(header=st.binary(max_size=512), payload=st.binary(max_size=64))
def test_open_envelope_on_arbitrary_header_bytes_returns_or_raises_malformed(
    header: bytes, payload: bytes
) -> None:
    with contextlib.suppress(MalformedMessage):
        open_envelope(_envelope(header, b"\x00" * 64, payload))


@given(
    version=st.integers(0, 2**32 - 1),
    message_id=st.one_of(st.just(MSG_ID), st.text(no_surrogates, max_size=40)),
    kind=st.integers(-(2**31), 2**31 - 1),
    sender=st.one_of(st.just(G22), st.text(no_surrogates, max_size=40)),
    recipients=st.lists(
        st.one_of(st.sampled_from([G22, H49, G15]), st.text(no_surrogates, max_size=40)),
        max_size=4,
    ),
    signed_at_ms=st.integers(-(2**63), 2**63 - 1),
    key_id_=st.text(no_surrogates, max_size=10),
    digest=st.binary(max_size=40),
)
def test_open_envelope_on_arbitrary_header_fields_returns_or_raises_malformed(
    version: int,
    message_id: str,
    kind: int,
    sender: str,
    recipients: list[str],
    signed_at_ms: int,
    key_id_: str,
    digest: bytes,
) -> None:
    header = _wire_header(
        version=version,
        message_id=message_id,
        kind=kind,
        sender=sender,
        recipients=recipients,
        signed_at_ms=signed_at_ms,
        key_id=key_id_,
        payload_sha256=digest,
    )
    with contextlib.suppress(MalformedMessage):
        open_envelope(_envelope(header.SerializeToString()))


# -- routed envelopes (hub countersignature) ----------------------------------------------


def test_routed_then_open_routed_round_trip() -> None:
    raw = _seal(recipients=(H49, G15))
    opened = open_envelope(raw)
    routed = _routed(opened, recipient=G15)
    verified = open_routed(routed, hub_public_key=HUB.public_key, recipient=G15)
    assert verified.routed_bytes == routed
    assert verified.opened.raw == raw
    assert verified.opened.header == opened.header
    stamp = verified.stamp
    assert stamp.version == 1
    assert stamp.message_id == MSG_ID
    assert stamp.recipient == G15
    assert stamp.ledger_position == 42
    assert stamp.received_at_ms == NOW_MS + 5
    assert stamp.header_sha256 == hashlib.sha256(opened.header_bytes).digest()
    assert stamp.sender_public_key == SENDER.public_key
    assert stamp.hub_key_id == HUB.key_id


def test_routed_envelope_carries_the_senders_bytes_unchanged() -> None:
    raw = _seal()
    routed = envelope_pb2.RoutedEnvelope.FromString(_routed(open_envelope(raw)))
    assert routed.envelope == raw
    assert verify(HUB.public_key, STAMP_CONTEXT, routed.stamp, routed.hub_signature)


def test_open_routed_refuses_a_stamp_signed_by_another_hub_key() -> None:
    routed = _routed(open_envelope(_seal()), codec=ProtobufCodec(OTHER_HUB))
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed.hub_signature"


def test_open_routed_refuses_a_stamp_for_another_recipient() -> None:
    routed = _routed(open_envelope(_seal(recipients=(H49, G15))), recipient=G15)
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed.stamp.recipient"


def test_open_routed_refuses_a_stamp_whose_header_digest_does_not_match() -> None:
    routed = _signed_stamp(_seal(), header_sha256=hashlib.sha256(b"another header").digest())
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed.stamp.header_sha256"


def test_open_routed_refuses_a_valid_stamp_moved_onto_another_envelope() -> None:
    first = envelope_pb2.RoutedEnvelope.FromString(_routed(open_envelope(_seal())))
    other = _seal(message_id=str(uuid.uuid4()))
    swapped = envelope_pb2.RoutedEnvelope(
        envelope=other, stamp=first.stamp, hub_signature=first.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError) as error:
        open_routed(swapped, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed.stamp.header_sha256"


def test_open_routed_refuses_a_stamp_naming_another_message() -> None:
    routed = _signed_stamp(_seal(), message_id=str(uuid.uuid4()))
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed.stamp.message_id"


def test_open_routed_refuses_a_sender_signature_that_fails_with_the_stamped_key() -> None:
    routed = _routed(open_envelope(_seal()), sender_public_key=OTHER.public_key)
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "envelope.signature"


def test_open_routed_refuses_a_document_for_someone_not_among_its_recipients() -> None:
    routed = _routed(open_envelope(_seal(recipients=(H49,))), recipient=G15)
    with pytest.raises(EnvelopeError) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=G15)
    assert error.value.field == "header.recipients"


def test_open_routed_refuses_a_countersigned_envelope_with_a_tampered_payload() -> None:
    opened = open_envelope(_seal())
    tampered = _envelope(opened.header_bytes, opened.signature, _flip(opened.payload, 3, 0x20))
    routed = _routed(open_envelope(tampered))
    with pytest.raises(MalformedMessage) as error:
        open_routed(routed, hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "payload"


def test_open_routed_refuses_garbage() -> None:
    with pytest.raises(MalformedMessage) as error:
        open_routed(b"\xff\xff", hub_public_key=HUB.public_key, recipient=H49)
    assert error.value.field == "routed"


def test_envelope_error_is_a_malformed_message() -> None:
    assert issubclass(EnvelopeError, MalformedMessage)


@given(st.binary(max_size=1024))
def test_open_routed_on_arbitrary_bytes_raises_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage):
        open_routed(raw, hub_public_key=HUB.public_key, recipient=H49)


@given(data=st.data())
def test_any_single_byte_change_to_a_routed_envelope_is_refused(data: st.DataObject) -> None:
    routed = _routed(open_envelope(_seal()))
    position = data.draw(st.integers(0, len(routed) - 1))
    mask = data.draw(st.integers(1, 255))
    with pytest.raises(MalformedMessage):
        open_routed(_flip(routed, position, mask), hub_public_key=HUB.public_key, recipient=H49)


# -- receipts -----------------------------------------------------------------------------


def _receipt(codec: ProtobufCodec = CODEC, /, **facts: Any) -> bytes:
    """One receipt, as the hub writes a lone one."""
    return codec.receipts([ReceiptFacts(**facts)])


def test_accepting_receipt_round_trip() -> None:
    raw = _receipt(
        message_id=MSG_ID,
        document_id=DOC_ID,
        accepted=True,
        ledger_position=7,
        recorded_at_ms=NOW_MS,
        delivered_to=H49,
    )
    receipt = open_receipt(raw, hub_public_key=HUB.public_key)
    assert receipt.version == 1
    assert receipt.message_id == MSG_ID
    assert receipt.document_id == DOC_ID
    assert receipt.accepted
    assert receipt.ledger_position == 7
    assert receipt.recorded_at_ms == NOW_MS
    assert receipt.delivered_to == H49
    assert receipt.reject_code == ""


def test_refusing_receipt_round_trip() -> None:
    raw = _receipt(
        message_id=MSG_ID,
        document_id=DOC_ID,
        accepted=False,
        reject_code="route_not_allowed",
        reject_reason="header.recipients: no",
    )
    receipt = open_receipt(raw, hub_public_key=HUB.public_key)
    assert not receipt.accepted
    assert receipt.reject_code == "route_not_allowed"
    assert receipt.reject_reason == "header.recipients: no"


def test_receipt_whose_verdict_was_changed_is_refused() -> None:
    signed = envelope_pb2.SignedReceipt.FromString(
        _receipt(message_id=MSG_ID, document_id=DOC_ID, accepted=False, reject_code="x")
    )
    receipt = envelope_pb2.Receipt.FromString(signed.receipt)
    receipt.accepted = True
    receipt.reject_code = ""
    forged = envelope_pb2.SignedReceipt(
        receipt=receipt.SerializeToString(), hub_signature=signed.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError) as error:
        open_receipt(forged, hub_public_key=HUB.public_key)
    assert error.value.field == "receipt.hub_signature"


@given(data=st.data())
def test_any_single_byte_change_to_a_receipt_is_refused(data: st.DataObject) -> None:
    raw = _receipt(message_id=MSG_ID, document_id=DOC_ID, accepted=True, ledger_position=7)
    position = data.draw(st.integers(0, len(raw) - 1))
    mask = data.draw(st.integers(1, 255))
    with pytest.raises(MalformedMessage):
        open_receipt(_flip(raw, position, mask), hub_public_key=HUB.public_key)


def test_receipt_signed_by_another_hub_is_refused() -> None:
    raw = _receipt(ProtobufCodec(OTHER_HUB), message_id=MSG_ID, document_id=DOC_ID, accepted=True)
    with pytest.raises(EnvelopeError, match="hub_signature"):
        open_receipt(raw, hub_public_key=HUB.public_key)


def test_a_stamp_signature_cannot_pass_as_a_receipt_signature() -> None:
    routed = envelope_pb2.RoutedEnvelope.FromString(_routed(open_envelope(_seal())))
    forged = envelope_pb2.SignedReceipt(
        receipt=routed.stamp, hub_signature=routed.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError):
        open_receipt(forged, hub_public_key=HUB.public_key)
    assert verify(HUB.public_key, STAMP_CONTEXT, routed.stamp, routed.hub_signature)
    assert not verify(HUB.public_key, RECEIPT_CONTEXT, routed.stamp, routed.hub_signature)


def _batch(*positions: int) -> bytes:
    return CODEC.receipts(
        [
            ReceiptFacts(
                message_id=str(uuid.uuid4()), document_id=DOC_ID, accepted=True, ledger_position=p
            )
            for p in positions
        ]
    )


def test_a_receipt_batch_opens_to_each_receipt_in_order() -> None:
    receipts = open_receipts(_batch(3, 5, 9), hub_public_key=HUB.public_key)
    assert [r.ledger_position for r in receipts] == [3, 5, 9]
    assert all(r.version == 1 and r.accepted for r in receipts)


def test_a_lone_receipt_is_written_as_before_batching() -> None:
    facts = ReceiptFacts(message_id=MSG_ID, document_id=DOC_ID, accepted=True, ledger_position=7)
    signed = envelope_pb2.SignedReceipt.FromString(CODEC.receipts([facts]))
    assert signed.receipts == b""
    assert verify(HUB.public_key, RECEIPT_CONTEXT, signed.receipt, signed.hub_signature)
    receipt = envelope_pb2.Receipt.FromString(signed.receipt)
    assert (receipt.version, receipt.message_id, receipt.ledger_position) == (1, MSG_ID, 7)


@given(data=st.data())
def test_any_single_byte_change_to_a_receipt_batch_is_refused(data: st.DataObject) -> None:
    raw = _batch(1, 2)
    position = data.draw(st.integers(0, len(raw) - 1))
    mask = data.draw(st.integers(1, 255))
    with pytest.raises(MalformedMessage):
        open_receipts(_flip(raw, position, mask), hub_public_key=HUB.public_key)


def test_a_receipt_batch_with_one_receipt_dropped_is_refused() -> None:
    signed = envelope_pb2.SignedReceipt.FromString(_batch(1, 2))
    batch = envelope_pb2.ReceiptBatch.FromString(signed.receipts)
    del batch.receipts[1]
    forged = envelope_pb2.SignedReceipt(
        receipts=batch.SerializeToString(), hub_signature=signed.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError, match="hub_signature"):
        open_receipts(forged, hub_public_key=HUB.public_key)


def test_a_single_receipt_signature_cannot_pass_for_a_batch() -> None:
    single = envelope_pb2.SignedReceipt.FromString(
        _receipt(message_id=MSG_ID, document_id=DOC_ID, accepted=True)
    )
    batch = envelope_pb2.ReceiptBatch(
        receipts=[envelope_pb2.Receipt.FromString(single.receipt)]
    ).SerializeToString()
    forged = envelope_pb2.SignedReceipt(
        receipts=batch, hub_signature=single.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError, match="hub_signature"):
        open_receipts(forged, hub_public_key=HUB.public_key)


def test_a_receipt_message_must_carry_one_form_and_something() -> None:
    signed = envelope_pb2.SignedReceipt.FromString(_batch(1, 2))
    both = envelope_pb2.SignedReceipt(
        receipt=b"x", receipts=signed.receipts, hub_signature=signed.hub_signature
    ).SerializeToString()
    with pytest.raises(EnvelopeError, match="both"):
        open_receipts(both, hub_public_key=HUB.public_key)
    empty = b""
    signature = HUB.sign(RECEIPTS_CONTEXT, empty)
    with pytest.raises(EnvelopeError):
        open_receipts(
            envelope_pb2.SignedReceipt(hub_signature=signature).SerializeToString(),
            hub_public_key=HUB.public_key,
        )


# -- keys ---------------------------------------------------------------------------------


def test_key_id_matches_the_c2sp_signed_note_vector() -> None:
    # C2SP signed-note spec: PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
    vkey = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert vkey[0] == 1
    assert key_id("PeterNeumann", vkey[1:]) == "c74f20a3"


def test_key_id_is_eight_lowercase_hex_characters_of_the_named_key() -> None:
    value = SENDER.key_id
    assert len(value) == 8
    assert set(value) <= set("0123456789abcdef")
    assert value == key_id(G22, SENDER.public_key)
    expected = hashlib.sha256(G22.encode() + b"\n\x01" + SENDER.public_key).digest()[:4].hex()
    assert value == expected


def test_key_id_depends_on_the_name_and_the_key() -> None:
    assert key_id(G22, SENDER.public_key) != key_id(H49, SENDER.public_key)
    assert key_id(G22, SENDER.public_key) != key_id(G22, OTHER.public_key)


def test_signer_public_key_is_raw_32_bytes() -> None:
    assert len(SENDER.public_key) == 32


def test_load_or_create_key_writes_a_0600_demo_key_and_reloads_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "000_00_00_G22.pem"
    created = load_or_create_key(path, G22, demo=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# DEMO KEY")
    assert "never use it in production" in text.splitlines()[0]
    assert "-----BEGIN PRIVATE KEY-----" in text
    reloaded = load_or_create_key(path, G22, demo=True)
    assert reloaded.public_key == created.public_key
    assert reloaded.key_id == created.key_id
    assert load_key(path, G22).public_key == created.public_key
    signature = reloaded.sign(ENVELOPE_CONTEXT, b"header")
    assert verify(created.public_key, ENVELOPE_CONTEXT, b"header", signature)


def test_load_or_create_key_without_demo_writes_no_banner(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    load_or_create_key(path, "truc.test", demo=False)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_or_create_key_does_not_replace_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    first = load_or_create_key(path, G22, demo=True)
    before = path.read_bytes()
    second = load_or_create_key(path, G22, demo=True)
    assert path.read_bytes() == before
    assert second.public_key == first.public_key


def test_load_key_refuses_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.pem"
    path.write_text("not a key")
    with pytest.raises(CryptoError, match="cannot read private key"):
        load_key(path, G22)


def test_load_key_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CryptoError):
        load_key(tmp_path / "missing.pem", G22)


def test_load_key_refuses_a_key_that_is_not_ed25519(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CryptoError, match="not an Ed25519 private key"):
        load_key(path, G22)
