"""Messages a member seals together (`seal_many`) carry one signature between them, as the
leaves of a signed Merkle tree of their headers: each envelope still opens and verifies on
its own, at the hub, at the recipient and in the offline audit; one check serves a tree; and
every way of moving, altering or re-signing a piece is refused naming the field."""

from __future__ import annotations

import base64
import uuid

import pytest

from adapters.audit_signatures import MemberSignatureChecker
from adapters.crypto import ENVELOPE_CONTEXT, ENVELOPES_CONTEXT, Signer, verify
from adapters.envelope import (
    ProtobufCodec,
    ToSeal,
    TreeHeads,
    check_seal,
    open_envelope,
    open_routed,
    seal,
    seal_many,
)
from adapters.pb.truc.v1 import envelope_pb2
from hub.errors import MalformedMessage
from hub.model import Kind
from ledger.audit import MemberKeyRecord, MemberRecord, SignedClaim
from ledger.merkle import leaf_hash, root_from_inclusion_proof
from tests.support import G15, G22, H49, count_verifications

NOW_MS = 1_750_000_000_000
SENDER = Signer.generate(G22)
IMPOSTOR = Signer.generate(G22)
HUB = Signer.generate("truc.test")
CODEC = ProtobufCodec(HUB)


def _messages(count: int) -> list[ToSeal]:
    return [
        ToSeal(Kind.STATUS, (H49, G15), str(uuid.uuid4()), f"payload {i}".encode())
        for i in range(count)
    ]


def _sealed(count: int, signer: Signer = SENDER) -> list[bytes]:
    return [raw for _, raw in seal_many(signer, _messages(count), signed_at_ms=NOW_MS)]


def _parsed(raw: bytes) -> envelope_pb2.Envelope:
    return envelope_pb2.Envelope.FromString(raw)


def _refusal(raw: bytes) -> str:
    with pytest.raises(MalformedMessage) as error:
        check_seal(open_envelope(raw), public_key=SENDER.public_key)
    return error.value.field


@pytest.mark.parametrize("count", [2, 5, 64, 300])
def test_each_envelope_sealed_together_verifies_alone_under_one_signed_head(count: int) -> None:
    messages = _messages(count)
    sealed = seal_many(SENDER, messages, signed_at_ms=NOW_MS)
    envelopes = [_parsed(raw) for _, raw in sealed]
    assert len({e.sealed for e in envelopes}) == count  # each its own proof
    inclusions = [envelope_pb2.TreeInclusion.FromString(e.sealed) for e in envelopes]
    assert len({(i.head, i.signature) for i in inclusions}) == 1  # one head, one signature
    head = envelope_pb2.EnvelopeTreeHead.FromString(inclusions[0].head)
    assert (head.version, head.sender, head.key_id, head.tree_size) == (
        1,
        G22,
        SENDER.key_id,
        count,
    )
    assert verify(SENDER.public_key, ENVELOPES_CONTEXT, inclusions[0].head, inclusions[0].signature)
    for index, ((message_id, raw), message, envelope, inclusion) in enumerate(
        zip(sealed, messages, envelopes, inclusions, strict=True)
    ):
        assert envelope.signature == b"" and envelope.payload == message.payload
        assert inclusion.leaf_index == index
        opened = open_envelope(raw)
        assert opened.header.message_id == message_id
        assert opened.signature == envelope.sealed  # what the ledger keeps, byte for byte
        check_seal(opened, public_key=SENDER.public_key)
        assert CODEC.sender_signature_valid(opened, SENDER.public_key)
        assert (
            root_from_inclusion_proof(
                leaf_hash(envelope.header), index, count, inclusion.audit_path
            )
            == head.root_hash
        )


def test_nothing_to_seal_signs_nothing() -> None:
    assert seal_many(SENDER, [], signed_at_ms=NOW_MS) == []


def test_a_lone_message_keeps_the_single_form() -> None:
    ((_, raw),) = seal_many(SENDER, _messages(1), signed_at_ms=NOW_MS)
    envelope = _parsed(raw)
    assert envelope.sealed == b"" and len(envelope.signature) == 64
    assert verify(SENDER.public_key, ENVELOPE_CONTEXT, envelope.header, envelope.signature)
    _, alone = seal(
        SENDER,
        kind=Kind.STATUS,
        recipients=(H49,),
        document_id=str(uuid.uuid4()),
        payload=b"",
        signed_at_ms=NOW_MS,
    )
    assert _parsed(alone).sealed == b""


def test_the_hub_checks_a_trees_signature_once(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = [open_envelope(raw) for raw in _sealed(6)]
    calls = count_verifications(monkeypatch)
    codec = ProtobufCodec(HUB)
    assert all(codec.sender_signature_valid(o, SENDER.public_key) for o in opened)
    assert calls == [ENVELOPES_CONTEXT]
    assert not codec.sender_signature_valid(opened[0], IMPOSTOR.public_key)  # not cached


def test_the_recipient_checks_a_senders_tree_once_per_pull(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = []
    for position, raw in enumerate(_sealed(4)):
        stamp = CODEC.stamp(
            open_envelope(raw),
            recipient=H49,
            ledger_position=position + 1,
            received_at_ms=NOW_MS,
            sender_public_key=SENDER.public_key,
        )
        pairs.append((raw, stamp))
    routed = CODEC.countersign(H49, pairs)
    calls = count_verifications(monkeypatch)
    heads = TreeHeads()
    for data in routed:
        open_routed(data, hub_public_key=HUB.public_key, recipient=H49, heads=heads)
    assert sorted(calls) == sorted([ENVELOPES_CONTEXT, b"truc.v1/stamps\n"])


def test_a_tree_signed_with_another_key_is_refused() -> None:
    assert _refusal(_sealed(3, IMPOSTOR)[1]) == "envelope.sealed.signature"


def test_a_header_moved_onto_another_leafs_proof_is_refused() -> None:
    first, second = (_parsed(raw) for raw in _sealed(2))
    first.header = second.header
    assert _refusal(first.SerializeToString()) == "envelope.sealed.audit_path"


def test_a_changed_index_or_path_is_refused() -> None:
    envelope = _parsed(_sealed(5)[3])
    for change in ("index", "path", "short"):
        inclusion = envelope_pb2.TreeInclusion.FromString(envelope.sealed)
        if change == "index":
            inclusion.leaf_index = 2
        elif change == "path":
            inclusion.audit_path[1] = bytes(32)
        else:
            del inclusion.audit_path[-1]
        altered = envelope_pb2.Envelope()
        altered.CopyFrom(envelope)
        altered.sealed = inclusion.SerializeToString()
        assert _refusal(altered.SerializeToString()) == "envelope.sealed.audit_path", change


def test_a_head_naming_another_sender_or_key_is_refused() -> None:
    """A member's valid tree head cannot vouch for a header naming another key of its own,
    or another member: the head says whose headers it covers."""
    envelope = _parsed(_sealed(2)[0])
    inclusion = envelope_pb2.TreeInclusion.FromString(envelope.sealed)
    head = envelope_pb2.EnvelopeTreeHead.FromString(inclusion.head)
    head.key_id = "00000000"
    inclusion.head = head.SerializeToString()
    inclusion.signature = SENDER.sign(ENVELOPES_CONTEXT, inclusion.head)
    envelope.sealed = inclusion.SerializeToString()
    assert _refusal(envelope.SerializeToString()) == "envelope.sealed.head"


def test_an_envelope_with_both_forms_or_a_stub_seal_does_not_open() -> None:
    envelope = _parsed(_sealed(2)[0])
    both = envelope_pb2.Envelope()
    both.CopyFrom(envelope)
    both.signature = SENDER.sign(ENVELOPE_CONTEXT, envelope.header)
    with pytest.raises(MalformedMessage) as error:
        open_envelope(both.SerializeToString())
    assert error.value.field == "envelope.signature"
    stub = envelope_pb2.Envelope()
    stub.CopyFrom(envelope)
    stub.sealed = SENDER.sign(ENVELOPE_CONTEXT, envelope.header)  # a signature, mislabelled
    with pytest.raises(MalformedMessage) as error:
        open_envelope(stub.SerializeToString())
    assert error.value.field == "envelope.sealed"


def test_a_tree_signature_cannot_pass_as_a_single_one() -> None:
    """Domain separation: the head is signed over another context than a header."""
    envelope = _parsed(_sealed(2)[0])
    inclusion = envelope_pb2.TreeInclusion.FromString(envelope.sealed)
    forged = envelope_pb2.Envelope(
        header=inclusion.head, signature=inclusion.signature, payload=b""
    ).SerializeToString()
    with pytest.raises(MalformedMessage):
        check_seal(open_envelope(forged), public_key=SENDER.public_key)


@pytest.mark.parametrize("prefer_sodium", [True, False], ids=["libsodium", "openssl"])
def test_the_offline_audit_checks_either_form_from_what_the_ledger_keeps(
    prefer_sodium: bool,
) -> None:
    checker = MemberSignatureChecker(
        [MemberRecord(G22, G22, "document", (MemberKeyRecord(SENDER.key_id, SENDER.public_key),))],
        prefer_sodium=prefer_sodium,
    )

    def claim(raw: bytes) -> SignedClaim:
        opened = open_envelope(raw)
        return SignedClaim(
            1,
            "ledger.document:Document.Sent",
            G22,
            opened.header.message_id,
            base64.b64encode(opened.header_bytes).decode(),
            base64.b64encode(opened.signature).decode(),
        )

    together = _sealed(3)
    assert [checker(claim(raw)) for raw in together] == [None, None, None]
    assert checker(claim(_sealed(1)[0])) is None
    moved = _parsed(together[0])
    moved.header = _parsed(together[1]).header
    reason = checker(claim(moved.SerializeToString()))
    assert reason is not None and "does not verify with key" in reason and "audit_path" in reason
    resigned = _parsed(together[2])
    inclusion = envelope_pb2.TreeInclusion.FromString(resigned.sealed)
    inclusion.signature = IMPOSTOR.sign(ENVELOPES_CONTEXT, inclusion.head)
    resigned.sealed = inclusion.SerializeToString()
    forged = checker(claim(resigned.SerializeToString()))
    assert forged is not None and "does not verify with key" in forged
