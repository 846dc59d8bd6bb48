"""Intake.judge with the real ProtobufCodec and Registry, and a fake clock: who is speaking,
with which key, what they may say, and which field is wrong when they may not."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.crypto import ENVELOPE_CONTEXT, STAMP_CONTEXT, Signer
from adapters.envelope import ProtobufCodec, seal
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from hub.intake import MAX_FUTURE_SKEW_MS, Accepted, Intake, Rejected, iso_ms
from hub.model import Kind
from hub.registry import Member, MemberKey, Registry, Route
from ledger.commands import DeliveredItem, RecordDelivery, RecordDocument, RecordStatus
from tests.support import G15, G22, H49, POST

NOW_MS = 1_750_000_000_000  # 2025-06-15T15:06:40Z
SIGNED_MS = NOW_MS - 2_000
DOC_ID = "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"

G22_KEY = Signer.generate(G22)
H49_KEY = Signer.generate(H49)
G15_KEY = Signer.generate(G15)
POST_KEY = Signer.generate(POST)
HUB_KEY = Signer.generate("truc.test")


@dataclass
class FakeClock:
    now: int = NOW_MS

    def now_ms(self) -> int:
        return self.now


def _registry(
    g22_key: MemberKey | None = None,
    routes: tuple[Route, ...] = (Route("000.*", "000.*"),),
) -> Registry:
    def member(signer: Signer, kind: str = "document") -> Member:
        return Member(
            signer.name, signer.name, kind, (MemberKey(signer.key_id, signer.public_key),)
        )

    g22 = Member(G22, "Văn phòng Chính phủ", "document", (g22_key or _key(),))
    return Registry([g22, member(H49_KEY), member(G15_KEY), member(POST_KEY, "postal")], routes)


def _key(**bounds: int) -> MemberKey:
    return MemberKey(G22_KEY.key_id, G22_KEY.public_key, **bounds)


def _intake(registry: Registry | None = None, clock: FakeClock | None = None) -> Intake:
    return Intake(registry or _registry(), ProtobufCodec(HUB_KEY), clock or FakeClock())


def _document(
    subject: str = "Về việc triển khai trục liên thông văn bản", **fields: object
) -> bytes:
    return document_pb2.Document(subject=subject, **fields).SerializeToString()  # type: ignore[arg-type]


def _seal(
    signer: Signer = G22_KEY,
    *,
    kind: Kind = Kind.DOCUMENT,
    recipients: tuple[str, ...] = (H49, G15),
    payload: bytes | None = None,
    signed_at_ms: int = SIGNED_MS,
    document_id: str = DOC_ID,
    message_id: str | None = None,
) -> tuple[str, bytes]:
    return seal(
        signer,
        kind=kind,
        recipients=recipients,
        document_id=document_id,
        payload=_document() if payload is None else payload,
        signed_at_ms=signed_at_ms,
        message_id=message_id,
    )


def _rejected(verdict: Accepted | Rejected) -> Rejected:
    assert isinstance(verdict, Rejected), verdict
    return verdict


def _accepted(verdict: Accepted | Rejected) -> Accepted:
    assert isinstance(verdict, Accepted), verdict
    return verdict


def _resign(raw: bytes, signer: Signer, context: bytes = ENVELOPE_CONTEXT) -> bytes:
    envelope = envelope_pb2.Envelope.FromString(raw)
    envelope.signature = signer.sign(context, envelope.header)
    return envelope.SerializeToString()


def _replace_payload(raw: bytes, payload: bytes) -> bytes:
    envelope = envelope_pb2.Envelope.FromString(raw)
    envelope.payload = payload
    return envelope.SerializeToString()


# -- accepted messages --------------------------------------------------------------------


def test_an_accepted_document_becomes_record_document_with_the_signed_facts() -> None:
    payload = _document("Công văn 7816", due_date="2025/07/01")
    message_id, raw = _seal(payload=payload)
    verdict = _accepted(_intake().judge(G22, raw))
    command = verdict.command
    assert isinstance(command, RecordDocument)
    assert command.message_id == message_id
    assert command.document_id == DOC_ID
    assert command.sender == G22
    assert command.recipients == (H49, G15)
    assert command.key_id == G22_KEY.key_id
    assert command.signed_at == "2025-06-15T15:06:38.000+00:00"
    assert command.received_at == "2025-06-15T15:06:40.000+00:00"
    assert command.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert command.subject == "Công văn 7816"
    assert command.business_type == 0
    assert command.due_date == "2025/07/01"
    envelope = envelope_pb2.Envelope.FromString(raw)
    assert base64.b64decode(command.header_b64) == envelope.header
    assert base64.b64decode(command.signature_b64) == envelope.signature
    assert verdict.sender_public_key == G22_KEY.public_key
    assert verdict.received_at_ms == NOW_MS
    assert verdict.facts.subject == "Công văn 7816"
    assert verdict.opened.raw == raw


def test_an_update_carries_business_type_and_refers_to() -> None:
    earlier = str(uuid.uuid4())
    payload = _document(business_type=document_pb2.BUSINESS_TYPE_UPDATE, refers_to=earlier)
    command = _accepted(_intake().judge(G22, _seal(payload=payload)[1])).command
    assert isinstance(command, RecordDocument)
    assert (command.business_type, command.refers_to) == (2, earlier)


def test_a_status_becomes_record_status_reported_by_its_sender() -> None:
    payload = document_pb2.StatusUpdate(
        document_id=DOC_ID, status_code="01", description="Đã đến"
    ).SerializeToString()
    message_id, raw = _seal(H49_KEY, kind=Kind.STATUS, recipients=(G22,), payload=payload)
    command = _accepted(_intake().judge(H49, raw)).command
    assert isinstance(command, RecordStatus)
    assert command.message_id == message_id
    assert command.document_id == DOC_ID
    assert command.reporter == H49
    assert (command.status_code, command.description) == ("01", "Đã đến")
    assert command.received_at == iso_ms(NOW_MS)


def test_a_delivery_becomes_record_delivery_by_its_sender() -> None:
    delivered = str(uuid.uuid4())
    payload = envelope_pb2.Delivery(message_id=delivered, delivered_at_ms=SIGNED_MS)
    message_id, raw = _seal(
        H49_KEY, kind=Kind.DELIVERY, recipients=(G22,), payload=payload.SerializeToString()
    )
    command = _accepted(_intake().judge(H49, raw)).command
    assert isinstance(command, RecordDelivery)
    assert command.message_id == message_id
    assert command.recipient == H49
    assert command.items == (DeliveredItem(DOC_ID, delivered),)


def _proof_of(*items: tuple[str, str], message_id: str = "") -> bytes:
    return envelope_pb2.Delivery(
        message_id=message_id,
        items=[envelope_pb2.DeliveredItem(document_id=d, message_id=m) for d, m in items],
        delivered_at_ms=SIGNED_MS,
    ).SerializeToString()


def test_a_proof_listing_documents_becomes_one_record_delivery_of_them_all() -> None:
    items = [(DOC_ID, str(uuid.uuid4())), (str(uuid.uuid4()), str(uuid.uuid4()))]
    _, raw = _seal(H49_KEY, kind=Kind.DELIVERY, recipients=(G22,), payload=_proof_of(*items))
    command = _accepted(_intake().judge(H49, raw)).command
    assert isinstance(command, RecordDelivery)
    assert command.items == tuple(DeliveredItem(d, m) for d, m in items)


@pytest.mark.parametrize(
    ("items", "message_id", "reason_start"),
    [
        (
            [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(2)],
            "",
            "delivery.items[0].document_id: differs from header.document_id",
        ),
        (
            [(DOC_ID, "x"), (str(uuid.uuid4()), str(uuid.uuid4()))],
            "",
            "delivery.items[0].message_id:",
        ),
        (
            [(DOC_ID, str(uuid.uuid4())), (DOC_ID, str(uuid.uuid4()))],
            "",
            "delivery.items[1].document_id: listed twice",
        ),
        ([(DOC_ID, str(uuid.uuid4()))], str(uuid.uuid4()), "delivery.message_id: must be empty"),
        (
            [(DOC_ID, str(uuid.uuid4()))]
            + [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(256)],
            "",
            "delivery.items: at most 256",
        ),
    ],
    ids=[
        "first-not-the-headers-document",
        "bad-message-id",
        "document-twice",
        "both-forms",
        "too-many",
    ],
)
def test_a_bad_list_of_deliveries_is_refused_naming_the_item(
    items: list[tuple[str, str]], message_id: str, reason_start: str
) -> None:
    payload = _proof_of(*items, message_id=message_id)
    _, raw = _seal(H49_KEY, kind=Kind.DELIVERY, recipients=(G22,), payload=payload)
    verdict = _rejected(_intake().judge(H49, raw))
    assert verdict.code == "invalid_payload"
    assert verdict.reason.startswith(reason_start)


# -- who is speaking ----------------------------------------------------------------------


def test_a_message_on_another_members_subject_is_a_sender_mismatch() -> None:
    _, raw = _seal()
    verdict = _rejected(_intake().judge(G15, raw))
    assert verdict.code == "sender_mismatch"
    assert verdict.reason.startswith("header.sender:")
    assert G22 in verdict.reason and G15 in verdict.reason
    assert verdict.notify == G15
    assert not verdict.authenticated
    assert verdict.opened is not None


def test_a_message_on_no_members_subject_is_a_sender_mismatch_nobody_is_told() -> None:
    verdict = _rejected(_intake().judge(None, _seal()[1]))
    assert verdict.code == "sender_mismatch"
    assert verdict.notify is None


def test_an_unknown_sender_is_refused() -> None:
    stranger = Signer.generate("000.00.00.G99")
    _, raw = _seal(stranger)
    verdict = _rejected(_intake().judge("000.00.00.G99", raw))
    assert verdict.code == "unknown_sender"
    assert verdict.reason.startswith("header.sender/key_id:")
    assert verdict.notify is None
    assert not verdict.authenticated


def test_an_unknown_key_id_is_refused() -> None:
    impostor = Signer.generate(G22)
    verdict = _rejected(_intake().judge(G22, _seal(impostor)[1]))
    assert verdict.code == "unknown_key"
    assert impostor.key_id in verdict.reason
    assert verdict.notify == G22
    assert not verdict.authenticated


def test_a_key_revoked_before_signing_is_refused() -> None:
    registry = _registry(_key(revoked_from_ms=SIGNED_MS - 1))
    verdict = _rejected(_intake(registry).judge(G22, _seal()[1]))
    assert verdict.code == "key_revoked"
    assert not verdict.authenticated


def test_a_key_revoked_at_the_signing_instant_is_refused() -> None:
    registry = _registry(_key(revoked_from_ms=SIGNED_MS))
    assert _rejected(_intake(registry).judge(G22, _seal()[1])).code == "key_revoked"


def test_a_message_signed_before_its_key_was_revoked_is_accepted() -> None:
    registry = _registry(_key(revoked_from_ms=SIGNED_MS + 1))
    _accepted(_intake(registry).judge(G22, _seal()[1]))


def test_a_key_not_yet_valid_at_signing_is_refused() -> None:
    registry = _registry(_key(valid_from_ms=SIGNED_MS + 1))
    verdict = _rejected(_intake(registry).judge(G22, _seal()[1]))
    assert verdict.code == "key_not_valid"


def test_a_key_valid_from_the_signing_instant_is_accepted() -> None:
    _accepted(_intake(_registry(_key(valid_from_ms=SIGNED_MS))).judge(G22, _seal()[1]))


def test_a_retired_key_is_refused() -> None:
    registry = _registry(_key(valid_until_ms=SIGNED_MS))
    assert _rejected(_intake(registry).judge(G22, _seal()[1])).code == "key_not_valid"


def test_a_signature_by_another_key_is_a_bad_signature() -> None:
    raw = _resign(_seal()[1], Signer.generate(G22))
    verdict = _rejected(_intake().judge(G22, raw))
    assert verdict.code == "bad_signature"
    assert verdict.reason == f"signature: does not verify with key {G22_KEY.key_id} of {G22}"
    assert verdict.notify == G22
    assert not verdict.authenticated


def test_a_signature_made_for_another_purpose_is_a_bad_signature() -> None:
    raw = _resign(_seal()[1], G22_KEY, STAMP_CONTEXT)
    assert _rejected(_intake().judge(G22, raw)).code == "bad_signature"


def test_a_malformed_message_is_refused_and_its_subject_member_told() -> None:
    verdict = _rejected(_intake().judge(G22, b"\xff\xff"))
    assert verdict.code == "malformed"
    assert verdict.reason.startswith("envelope:")
    assert verdict.notify == G22
    assert verdict.opened is None
    assert verdict.message_id == ""
    assert verdict.received_at_ms == NOW_MS


def test_a_malformed_message_from_a_non_member_subject_tells_nobody() -> None:
    verdict = _rejected(_intake().judge("000.00.00.G99", b"\xff\xff"))
    assert verdict.code == "malformed"
    assert verdict.notify is None


@given(st.binary(max_size=512))
def test_judge_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    verdict = _intake().judge(G22, raw)
    assert isinstance(verdict, Rejected)
    assert verdict.code == "malformed"


# -- what they may say --------------------------------------------------------------------


def test_a_document_to_a_recipient_no_route_allows_is_refused_after_authentication() -> None:
    message_id, raw = _seal(recipients=(H49, POST))
    verdict = _rejected(_intake().judge(G22, raw))
    assert verdict.code == "route_not_allowed"
    assert verdict.reason == f"header.recipients: {G22} may not send document messages to {POST}"
    assert verdict.authenticated
    assert verdict.notify == G22
    assert verdict.message_id == message_id


def test_a_document_to_an_unregistered_recipient_is_refused() -> None:
    verdict = _rejected(_intake().judge(G22, _seal(recipients=("000.00.00.G99",))[1]))
    assert verdict.code == "unknown_member"
    assert verdict.reason.startswith("header.recipients:")
    assert verdict.authenticated


def test_a_route_limited_to_some_kinds_refuses_documents() -> None:
    registry = _registry(routes=(Route("*", "*", frozenset({Kind.STATUS})),))
    assert _rejected(_intake(registry).judge(G22, _seal()[1])).code == "route_not_allowed"


def test_a_status_no_route_allows_is_refused() -> None:
    registry = _registry(routes=(Route("*", "*", frozenset({Kind.DOCUMENT})),))
    payload = document_pb2.StatusUpdate(document_id=DOC_ID, status_code="01")
    _, raw = _seal(
        H49_KEY, kind=Kind.STATUS, recipients=(G22,), payload=payload.SerializeToString()
    )
    assert _rejected(_intake(registry).judge(H49, raw)).code == "route_not_allowed"


def test_an_invalid_payload_is_an_authenticated_refusal_naming_the_field() -> None:
    _, raw = _seal(payload=_document("x" * 501))
    verdict = _rejected(_intake().judge(G22, raw))
    assert verdict.code == "invalid_payload"
    assert verdict.reason == "subject: at most 500 characters, got 501"
    assert verdict.authenticated
    assert verdict.notify == G22


def test_a_payload_that_is_not_a_document_is_invalid() -> None:
    verdict = _rejected(_intake().judge(G22, _seal(payload=b"\xff\xff\xff")[1]))
    assert verdict.code == "invalid_payload"
    assert verdict.reason.startswith("payload:")


def test_a_payload_swapped_after_signing_fails_the_digest() -> None:
    _, raw = _seal(payload=_document("Công văn A"))
    verdict = _rejected(_intake().judge(G22, _replace_payload(raw, _document("Công văn B"))))
    assert verdict.code == "invalid_payload"
    assert verdict.reason == "payload: SHA-256 differs from header.payload_sha256"
    assert verdict.authenticated


def test_a_payload_of_another_size_fails_the_digest() -> None:
    _, raw = _seal()
    verdict = _rejected(_intake().judge(G22, _replace_payload(raw, _document("ngắn"))))
    assert verdict.reason == "payload: size differs from header.payload_size"


def test_a_message_signed_beyond_the_clock_skew_is_refused() -> None:
    _, raw = _seal(signed_at_ms=NOW_MS + MAX_FUTURE_SKEW_MS + 1)
    verdict = _rejected(_intake().judge(G22, raw))
    assert verdict.code == "signed_in_future"
    assert verdict.reason.startswith("header.signed_at_ms:")
    assert verdict.authenticated


def test_a_message_signed_at_the_edge_of_the_clock_skew_is_accepted() -> None:
    _accepted(_intake().judge(G22, _seal(signed_at_ms=NOW_MS + MAX_FUTURE_SKEW_MS)[1]))


def test_the_skew_is_judged_against_the_clock_at_judging_time() -> None:
    clock = FakeClock(SIGNED_MS - MAX_FUTURE_SKEW_MS - 1)
    intake = _intake(clock=clock)
    _, raw = _seal()
    assert _rejected(intake.judge(G22, raw)).code == "signed_in_future"
    clock.now = NOW_MS
    _accepted(intake.judge(G22, raw))


@pytest.mark.parametrize(
    ("payload", "reason_start"),
    [
        (document_pb2.StatusUpdate(document_id=DOC_ID, status_code="07"), "status_code:"),
        (
            document_pb2.StatusUpdate(document_id=str(uuid.uuid4()), status_code="01"),
            "document_id:",
        ),
        (
            document_pb2.StatusUpdate(document_id=DOC_ID, status_code="02", description="x" * 2001),
            "description:",
        ),
    ],
)
def test_an_invalid_status_is_refused_naming_the_field(
    payload: document_pb2.StatusUpdate, reason_start: str
) -> None:
    _, raw = _seal(
        H49_KEY, kind=Kind.STATUS, recipients=(G22,), payload=payload.SerializeToString()
    )
    verdict = _rejected(_intake().judge(H49, raw))
    assert verdict.code == "invalid_payload"
    assert verdict.reason.startswith(reason_start)


def test_a_delivery_of_a_non_uuid_message_is_refused() -> None:
    payload = envelope_pb2.Delivery(message_id="not-a-uuid").SerializeToString()
    _, raw = _seal(H49_KEY, kind=Kind.DELIVERY, recipients=(G22,), payload=payload)
    verdict = _rejected(_intake().judge(H49, raw))
    assert verdict.code == "invalid_payload"
    assert verdict.reason.startswith("delivery.message_id:")


def test_iso_ms_is_utc_with_milliseconds() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000+00:00"
    assert iso_ms(NOW_MS + 123) == "2025-06-15T15:06:40.123+00:00"


def _ms_of(text: str) -> int:
    parsed = datetime.fromisoformat(text)
    return (parsed - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# Up to the year 2200: far beyond any signing time the skew check lets through.
@given(st.integers(0, 7_258_118_400_000))
def test_iso_ms_keeps_every_millisecond_of_realistic_times(ms: int) -> None:
    assert _ms_of(iso_ms(ms)) == ms


def test_iso_ms_keeps_every_millisecond_of_far_future_times() -> None:
    assert _ms_of(iso_ms(10_574_017_066_751)) == 10_574_017_066_751


def test_a_message_stored_long_after_it_was_signed_is_a_replay() -> None:
    from hub.intake import REPLAY_WINDOW_MS

    _, raw = _seal(signed_at_ms=SIGNED_MS)
    verdict = _rejected(_intake().judge(G22, raw, stored_at_ms=SIGNED_MS + REPLAY_WINDOW_MS + 1))
    assert verdict.code == "replayed_or_stale" and verdict.authenticated
    assert verdict.reason.startswith("header.signed_at_ms: signed 900 s before")


def test_a_message_queued_while_the_hub_was_down_is_not_a_replay() -> None:
    from hub.intake import REPLAY_WINDOW_MS

    # The hub's clock is far past the window, but JetStream stored the message at once.
    _, raw = _seal(signed_at_ms=SIGNED_MS)
    clock = FakeClock()
    clock.now = SIGNED_MS + 10 * REPLAY_WINDOW_MS
    _accepted(_intake(clock=clock).judge(G22, raw, stored_at_ms=SIGNED_MS + 1000))
