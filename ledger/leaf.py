r"""The canonical bytes of one ledger event: what leaf i of the Merkle log commits to.

Why a format of our own: the notification log is stored by eventsourcing in backend-specific
columns (SQLite keeps the originator id as 32 hex digits, PostgreSQL as a uuid), so hashing
"the row" would give different trees for the same history. The leaf is therefore defined
here, once, from the five values eventsourcing's ``Notification`` exposes on every backend,
and never changes meaning: a new layout gets a new tag (``truc.v2/leaf``) and the old one
stays decodable, so proofs issued today verify forever.

Layout of version 1 (all integers unsigned big-endian; every variable-length field is
prefixed by its length, so the encoding is self-delimiting and injective)::

    offset  size  field
    0       13    tag: the ASCII bytes "truc.v1/leaf\n"
    13      8     position: the ledger position (notification id), 1 .. 2**63-1
    21      4     n1: length of the originator id in bytes
    25      n1    originator id: UTF-8; a UUID is written in its canonical lowercase
                  hyphenated form (str(uuid)), whatever the backend stores
    ..      8     originator version: 0 .. 2**63-1
    ..      4     n2: length of the topic
    ..      n2    topic: UTF-8, e.g. "ledger.document:Document.Sent"
    ..      4     n3: length of the state
    ..      n3    state: the stored event state, byte for byte (eventsourcing's JSON)

Binding the position into the leaf makes a receipt ("your message is at position p") and an
inclusion proof ("leaf i hashes to ...") one statement, and lets an auditor see a deleted or
reordered event as a jump in positions, even on PostgreSQL where positions may have gaps.
The leaf hash is RFC 9162's ``SHA-256(0x00 || leaf)`` (``ledger.merkle.leaf_hash``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.errors import LedgerError

__all__ = [
    "LEAF_TAG_V1",
    "MAX_FIELD_BYTES",
    "MAX_POSITION",
    "LeafFormatError",
    "LeafRecord",
    "NotificationLike",
    "decode_leaf",
    "encode_leaf",
    "leaf_from_notification",
]

LEAF_TAG_V1 = b"truc.v1/leaf\n"
"""Version tag opening every version 1 leaf (domain separation from any other signed bytes)."""

MAX_POSITION = 2**63 - 1
"""Largest position or version accepted: a signed 64-bit integer, as both backends store."""

MAX_FIELD_BYTES = 2**32 - 1
"""Largest variable-length field: its length must fit the 4-byte prefix."""

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">QI")  # position, originator id length


class LeafFormatError(LedgerError, ValueError):
    """Bytes are not a canonical leaf, or values cannot be encoded as one; names the field."""


class NotificationLike(Protocol):
    """What a leaf is made from: eventsourcing's ``Notification`` has exactly these."""

    @property
    def id(self) -> int: ...

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...


@dataclass(frozen=True)
class LeafRecord:
    """The five values a version 1 leaf carries, decoded."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes

    def encode(self) -> bytes:
        """The canonical leaf bytes."""
        return encode_leaf(
            self.position, self.originator_id, self.originator_version, self.topic, self.state
        )


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LeafFormatError(f"{name} must be an int, got {type(value).__name__}")
    if not minimum <= value <= MAX_POSITION:
        raise LeafFormatError(f"{name} {value} outside [{minimum}, {MAX_POSITION}]")


def _utf8(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise LeafFormatError(f"{name} must be str, got {type(value).__name__}")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LeafFormatError(f"{name} is not encodable as UTF-8") from exc
    if len(raw) > MAX_FIELD_BYTES:
        raise LeafFormatError(f"{name} is longer than {MAX_FIELD_BYTES} bytes")
    return raw


def canonical_originator_id(originator_id: UUID | str) -> str:
    """``str(uuid)`` for UUIDs (lowercase, hyphenated); other ids unchanged."""
    return str(originator_id) if isinstance(originator_id, UUID) else originator_id


def encode_leaf(
    position: int,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """Canonical version 1 leaf bytes of one event (layout in the module docstring)."""
    _check_int("position", position, 1)
    _check_int("originator_version", originator_version, 0)
    originator = _utf8("originator_id", canonical_originator_id(originator_id))
    if not originator:
        raise LeafFormatError("originator_id must not be empty")
    topic_bytes = _utf8("topic", topic)
    if not isinstance(state, bytes):
        raise LeafFormatError(f"state must be bytes, got {type(state).__name__}")
    if len(state) > MAX_FIELD_BYTES:
        raise LeafFormatError(f"state is longer than {MAX_FIELD_BYTES} bytes")
    return b"".join(
        (
            LEAF_TAG_V1,
            _HEAD.pack(position, len(originator)),
            originator,
            _HEAD.pack(originator_version, len(topic_bytes)),
            topic_bytes,
            _U32.pack(len(state)),
            state,
        )
    )


def leaf_from_notification(notification: NotificationLike) -> bytes:
    """Leaf bytes of an eventsourcing notification (its id is the ledger position)."""
    return encode_leaf(
        notification.id,
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


class _Reader:
    """Bounds-checked cursor over leaf bytes, naming the field that runs short."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def take(self, size: int, field: str) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            raise LeafFormatError(f"leaf ends inside {field} (offset {self._offset})")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def u64(self, field: str) -> int:
        value: int = _U64.unpack(self.take(8, field))[0]
        return value

    def sized(self, field: str) -> bytes:
        length: int = _U32.unpack(self.take(4, f"{field} length"))[0]
        return self.take(length, field)

    def done(self) -> None:
        if self._offset != len(self._data):
            raise LeafFormatError(f"{len(self._data) - self._offset} trailing bytes after state")


def _text(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LeafFormatError(f"{field} is not valid UTF-8") from exc


def decode_leaf(data: bytes) -> LeafRecord:
    """Strictly decode leaf bytes; re-encoding the result gives ``data`` back exactly."""
    if not isinstance(data, bytes):
        raise LeafFormatError(f"leaf must be bytes, got {type(data).__name__}")
    if not data.startswith(LEAF_TAG_V1):
        raise LeafFormatError("leaf does not start with the truc.v1/leaf tag")
    reader = _Reader(data)
    reader.take(len(LEAF_TAG_V1), "tag")
    position = reader.u64("position")
    originator_id = _text(reader.sized("originator_id"), "originator_id")
    originator_version = reader.u64("originator_version")
    topic = _text(reader.sized("topic"), "topic")
    state = reader.sized("state")
    reader.done()
    record = LeafRecord(position, originator_id, originator_version, topic, state)
    if record.encode() != data:  # e.g. position 0, a version above 2**63-1, an empty id
        raise LeafFormatError("leaf is not in canonical form")
    return record
