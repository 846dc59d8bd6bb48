"""A bundle's routed copies countersigned once, as the leaves of a signed Merkle tree: each
copy still verifies on its own, one signature check serves a whole bundle, and every way of
moving, altering or re-signing a piece is refused naming the field."""

from __future__ import annotations

import uuid

import pytest

from adapters.crypto import STAMP_CONTEXT, STAMPS_CONTEXT, Signer, verify
from adapters.envelope import (
    EnvelopeError,
    ProtobufCodec,
    TreeHeads,
    check_countersignature,
    open_envelope,
    open_routed,
    seal,
)
from adapters.pb.truc.v1 import envelope_pb2
from hub.errors import MalformedMessage
from hub.model import Kind
from ledger.merkle import leaf_hash, root_from_inclusion_proof
from tests.support import G15, G22, H49, count_verifications

NOW_MS = 1_750_000_000_000
SENDER = Signer.generate(G22)
HUB = Signer.generate("truc.test")
OTHER_HUB = Signer.generate("truc.test")
CODEC = ProtobufCodec(HUB)


def _copies(count: int, *, recipient: str = H49) -> list[tuple[bytes, bytes]]:
    """(envelope, stamp) pairs of `count` documents for `recipient`, as the hub makes them."""
    pairs = []
    for position in range(count):
        _, raw = seal(
            SENDER,
            kind=Kind.STATUS,
            recipients=(H49, G15),
            document_id=str(uuid.uuid4()),
            payload=b"",
            signed_at_ms=NOW_MS,
        )
        stamp = CODEC.stamp(
            open_envelope(raw),
            recipient=recipient,
            ledger_position=100 + position,
            received_at_ms=NOW_MS + 5,
            sender_public_key=SENDER.public_key,
        )
        pairs.append((raw, stamp))
    return pairs


def _parsed(data: bytes) -> envelope_pb2.RoutedEnvelope:
    return envelope_pb2.RoutedEnvelope.FromString(data)


def _refusal(routed: envelope_pb2.RoutedEnvelope, *, recipient: str = H49) -> str:
    with pytest.raises(MalformedMessage) as error:  # EnvelopeError, or a part unreadable
        open_routed(routed.SerializeToString(), hub_public_key=HUB.public_key, recipient=recipient)
    return error.value.field


@pytest.mark.parametrize("count", [2, 3, 7, 28, 128])
def test_each_copy_of_a_bundle_verifies_alone_under_one_signed_head(count: int) -> None:
    pairs = _copies(count)
    signed = CODEC.countersign(H49, pairs)
    assert len(signed) == count
    heads = {_parsed(data).stamps.head for data in signed}
    assert len(heads) == 1
    head = envelope_pb2.StampTreeHead.FromString(heads.pop())
    assert (head.version, head.recipient, head.tree_size, head.hub_key_id) == (
        1,
        H49,
        count,
        HUB.key_id,
    )
    for index, (data, (raw, stamp)) in enumerate(zip(signed, pairs, strict=True)):
        routed = _parsed(data)
        assert (routed.envelope, routed.stamp, routed.hub_signature) == (raw, stamp, b"")
        assert routed.stamps.leaf_index == index
        assert verify(HUB.public_key, STAMPS_CONTEXT, routed.stamps.head, routed.stamps.signature)
        verified = open_routed(data, hub_public_key=HUB.public_key, recipient=H49)
        assert verified.stamp.ledger_position == 100 + index
        assert verified.opened.raw == raw and verified.routed_bytes == data
        assert root_from_inclusion_proof(
            leaf_hash(stamp), index, count, routed.stamps.audit_path
        ) == (head.root_hash)


def test_a_lone_copy_keeps_the_single_form() -> None:
    (data,) = CODEC.countersign(H49, _copies(1))
    routed = _parsed(data)
    assert not routed.HasField("stamps")
    assert verify(HUB.public_key, STAMP_CONTEXT, routed.stamp, routed.hub_signature)
    assert open_routed(data, hub_public_key=HUB.public_key, recipient=H49).stamp.recipient == H49


def test_shared_heads_check_a_bundles_signature_once(monkeypatch: pytest.MonkeyPatch) -> None:
    signed = CODEC.countersign(H49, _copies(5))
    calls = count_verifications(monkeypatch)
    heads = TreeHeads()
    for data in signed:
        open_routed(data, hub_public_key=HUB.public_key, recipient=H49, heads=heads)
    # One head check for the bundle; each copy still checks its sender's own signature.
    assert calls.count(STAMPS_CONTEXT) == 1
    calls.clear()
    for data in signed:
        open_routed(data, hub_public_key=HUB.public_key, recipient=H49)
    assert calls.count(STAMPS_CONTEXT) == 5


def test_a_head_verified_with_one_key_is_not_taken_for_another() -> None:
    routed = _parsed(CODEC.countersign(H49, _copies(2))[0])
    heads = TreeHeads()
    check_countersignature(routed, hub_public_key=HUB.public_key, recipient=H49, heads=heads)
    with pytest.raises(EnvelopeError) as error:
        check_countersignature(
            routed, hub_public_key=OTHER_HUB.public_key, recipient=H49, heads=heads
        )
    assert error.value.field == "routed.stamps.signature"


def test_a_tree_signed_by_another_hub_key_is_refused() -> None:
    signed = ProtobufCodec(OTHER_HUB).countersign(H49, _copies(3))
    assert _refusal(_parsed(signed[1])) == "routed.stamps.signature"


def test_a_copy_moved_to_another_member_is_refused_by_its_head() -> None:
    routed = _parsed(CODEC.countersign(H49, _copies(3))[0])
    assert _refusal(routed, recipient=G15) == "routed.stamps.head.recipient"


def test_a_stamp_from_another_leaf_does_not_lead_to_the_root() -> None:
    signed = [_parsed(data) for data in CODEC.countersign(H49, _copies(4))]
    signed[0].stamp = signed[1].stamp
    assert _refusal(signed[0]) == "routed.stamps.audit_path"


def test_a_changed_index_or_path_does_not_lead_to_the_root() -> None:
    routed = _parsed(CODEC.countersign(H49, _copies(4))[2])
    moved = envelope_pb2.RoutedEnvelope()
    moved.CopyFrom(routed)
    moved.stamps.leaf_index = 3
    assert _refusal(moved) == "routed.stamps.audit_path"
    bent = envelope_pb2.RoutedEnvelope()
    bent.CopyFrom(routed)
    bent.stamps.audit_path[0] = bytes(32)
    assert _refusal(bent) == "routed.stamps.audit_path"
    short = envelope_pb2.RoutedEnvelope()
    short.CopyFrom(routed)
    del short.stamps.audit_path[-1]
    assert _refusal(short) == "routed.stamps.audit_path"
    beyond = envelope_pb2.RoutedEnvelope()
    beyond.CopyFrom(routed)
    beyond.stamps.leaf_index = 9
    assert _refusal(beyond) == "routed.stamps.audit_path"


def test_a_valid_leaf_moved_onto_another_envelope_is_refused_by_the_stamp() -> None:
    """Stamp, index and path moved together still lead to the root: the stamp's digest of
    the sender's header is what ties it to its envelope."""
    signed = [_parsed(data) for data in CODEC.countersign(H49, _copies(3))]
    signed[0].envelope = signed[1].envelope
    check_countersignature(signed[0], hub_public_key=HUB.public_key, recipient=H49)
    assert _refusal(signed[0]) == "routed.stamp.header_sha256"


def test_a_copy_carrying_both_forms_is_refused() -> None:
    routed = _parsed(CODEC.countersign(H49, _copies(2))[0])
    routed.hub_signature = HUB.sign(STAMP_CONTEXT, routed.stamp)
    assert _refusal(routed) == "routed.hub_signature"


def test_an_unreadable_or_unknown_head_is_refused() -> None:
    routed = _parsed(CODEC.countersign(H49, _copies(2))[0])
    unreadable = b"\xff\xff\xff"
    routed.stamps.head = unreadable
    routed.stamps.signature = HUB.sign(STAMPS_CONTEXT, unreadable)
    assert _refusal(routed) == "routed.stamps.head"
    future = envelope_pb2.StampTreeHead.FromString(
        _parsed(CODEC.countersign(H49, _copies(2))[0]).stamps.head
    )
    future.version = 2
    routed.stamps.head = future.SerializeToString()
    routed.stamps.signature = HUB.sign(STAMPS_CONTEXT, routed.stamps.head)
    assert _refusal(routed) == "routed.stamps.head.version"


def test_a_stamp_tree_signature_cannot_pass_as_a_lone_stamps() -> None:
    """Domain separation: the head's signature is over another context than a stamp's."""
    routed = _parsed(CODEC.countersign(H49, _copies(2))[0])
    lone = envelope_pb2.RoutedEnvelope(
        envelope=routed.envelope,
        stamp=routed.stamps.head,
        hub_signature=routed.stamps.signature,
    )
    assert _refusal(lone) == "routed.hub_signature"
