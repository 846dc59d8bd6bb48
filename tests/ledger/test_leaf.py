"""The canonical leaf encoding: exact bytes, injectivity, strict decoding."""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.leaf import (
    LEAF_TAG_V1,
    LeafFormatError,
    LeafRecord,
    decode_leaf,
    encode_leaf,
    leaf_from_notification,
)
from ledger.merkle import leaf_hash

OID = UUID("7323d0f5-12cd-5c24-bb94-d3b15ffdf40d")
TOPIC = "ledger.document:Document.Sent"
STATE = b'{"sender":"000.00.00.G22"}'

# The documented layout, written out by hand: if this changes, every proof ever issued breaks.
GOLDEN = (
    b"truc.v1/leaf\n"
    + struct.pack(">Q", 42)
    + struct.pack(">I", 36)
    + b"7323d0f5-12cd-5c24-bb94-d3b15ffdf40d"
    + struct.pack(">Q", 3)
    + struct.pack(">I", len(TOPIC))
    + TOPIC.encode()
    + struct.pack(">I", len(STATE))
    + STATE
)


def test_encoding_is_the_documented_layout() -> None:
    assert encode_leaf(42, OID, 3, TOPIC, STATE) == GOLDEN
    assert leaf_hash(GOLDEN).hex() == leaf_hash(encode_leaf(42, str(OID), 3, TOPIC, STATE)).hex()


def test_a_uuid_and_its_canonical_string_give_the_same_leaf() -> None:
    # SQLite stores the id as 32 hex digits, PostgreSQL as a uuid: both reach us as UUID.
    assert encode_leaf(1, OID, 1, TOPIC, STATE) == encode_leaf(1, str(OID), 1, TOPIC, STATE)
    assert encode_leaf(1, OID.hex, 1, TOPIC, STATE) != encode_leaf(1, OID, 1, TOPIC, STATE)


def test_from_notification_uses_the_notification_id_as_position() -> None:
    class Note:
        id = 42
        originator_id = OID
        originator_version = 3
        topic = TOPIC
        state = STATE

    assert leaf_from_notification(Note()) == GOLDEN


@pytest.mark.parametrize(
    "changed",
    [
        (43, OID, 3, TOPIC, STATE),
        (42, UUID(int=OID.int ^ 1), 3, TOPIC, STATE),
        (42, OID, 4, TOPIC, STATE),
        (42, OID, 3, TOPIC + "x", STATE),
        (42, OID, 3, TOPIC, STATE[:-1] + b"!"),
    ],
    ids=["position", "originator", "version", "topic", "state"],
)
def test_every_field_is_bound(changed: tuple[int, UUID, int, str, bytes]) -> None:
    assert encode_leaf(*changed) != GOLDEN


def test_length_prefixes_prevent_shifting_bytes_between_fields() -> None:
    assert encode_leaf(1, "ab", 1, "c", b"") != encode_leaf(1, "a", 1, "bc", b"")
    assert encode_leaf(1, "a", 1, "b", b"c") != encode_leaf(1, "a", 1, "bc", b"")


def test_decode_round_trips() -> None:
    record = decode_leaf(GOLDEN)
    assert record == LeafRecord(42, str(OID), 3, TOPIC, STATE)
    assert record.encode() == GOLDEN


@given(
    position=st.integers(1, 2**63 - 1),
    originator=st.text(min_size=1, max_size=50),
    version=st.integers(0, 2**63 - 1),
    topic=st.text(max_size=50),
    state=st.binary(max_size=200),
)
def test_decode_inverts_encode(
    position: int, originator: str, version: int, topic: str, state: bytes
) -> None:
    try:
        data = encode_leaf(position, originator, version, topic, state)
    except LeafFormatError:  # lone surrogates cannot be UTF-8
        return
    assert decode_leaf(data) == LeafRecord(position, originator, version, topic, state)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"truc.v2/leaf\n" + GOLDEN[13:], "tag"),
        (GOLDEN[:-1], "ends inside state"),
        (GOLDEN + b"\x00", "trailing"),
        (GOLDEN[:20], "ends inside position"),
        (LEAF_TAG_V1 + struct.pack(">QI", 0, 1) + b"a" + GOLDEN[13 + 12 + 36 :], "position"),
    ],
    ids=["tag", "truncated", "trailing", "short", "position-zero"],
)
def test_decode_refuses_non_canonical_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(LeafFormatError, match=reason):
        decode_leaf(data)


def test_decode_refuses_invalid_utf8() -> None:
    bad = LEAF_TAG_V1 + struct.pack(">QI", 1, 1) + b"\xff" + struct.pack(">QI", 1, 0)
    with pytest.raises(LeafFormatError, match="originator_id is not valid UTF-8"):
        decode_leaf(bad + struct.pack(">I", 0))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, OID, 1, TOPIC, STATE), "position"),
        ((2**63, OID, 1, TOPIC, STATE), "position"),
        ((True, OID, 1, TOPIC, STATE), "position"),
        ((1, OID, -1, TOPIC, STATE), "originator_version"),
        ((1, "", 1, TOPIC, STATE), "originator_id"),
        ((1, OID, 1, TOPIC, "text"), "state"),
        ((1, OID, 1, "\ud800", STATE), "topic"),
    ],
)
def test_encode_refuses_values_naming_the_field(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(LeafFormatError, match=field) as caught:
        encode_leaf(*args)  # type: ignore[arg-type]
    assert isinstance(caught.value, LedgerError)
