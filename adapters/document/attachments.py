"""Attachments in the JetStream object store, streamed chunk by chunk in both directions.

Each member has its own bucket (`TRUC_ATT_<token>`, created by the hub), which only its own
adapter may write; recipients read the sender's bucket. The layout is the standard NATS
object store one (chunks on `$O.<bucket>.C.<nuid>`, a rolled-up meta message on
`$O.<bucket>.M.<base64 name>`), so stock tools (`nats object ls`) see the objects too. We
write and read it ourselves rather than through nats-py's ObjectStore because that one reads
an upload from a blocking file and assembles a download whole in memory; here at most one
chunk is held, whatever the size.

Trust comes from the signed header, not from the store: the sender's adapter computes the
SHA-256 as the bytes stream in and puts it in the envelope it signs; the recipient's adapter
recomputes it from the store on arrival and again while streaming it out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError

from hub.model import AttachmentDigest
from ledger.agency import to_token

CHUNK_SIZE = 128 * 1024
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024 * 1024  # 4 GiB


class AttachmentProblem(Exception):
    """A stored attachment is missing, too large, or not the bytes its sender signed."""


@dataclass(frozen=True)
class StoredObject:
    object_name: str
    size: int
    sha256: bytes


def bucket_name(member: str) -> str:
    return f"TRUC_ATT_{to_token(member)}"


def stream_name(member: str) -> str:
    return f"OBJ_{bucket_name(member)}"


def bucket_subjects(member: str) -> str:
    """Every subject of a member's bucket (what its adapter may publish on)."""
    return f"$O.{bucket_name(member)}.>"


def _meta_subject(member: str, object_name: str) -> str:
    encoded = base64.urlsafe_b64encode(object_name.encode()).decode()
    return f"$O.{bucket_name(member)}.M.{encoded}"


def _chunk_subject(member: str, nuid: str) -> str:
    return f"$O.{bucket_name(member)}.C.{nuid}"


async def ensure_bucket(js: JetStreamContext, member: str, replicas: int = 1) -> None:
    """Create a member's attachment bucket (the hub does this; adapters cannot)."""
    with contextlib.suppress(BadRequestError):  # it exists already
        await js.create_object_store(
            bucket_name(member),
            config=api.ObjectStoreConfig(
                description=f"attachments sent by {member}",
                storage=api.StorageType.FILE,
                replicas=replicas,
            ),
        )


class AttachmentStore:
    """One adapter's view of the attachment buckets: write its own, read anyone's."""

    def __init__(self, js: JetStreamContext, member: str) -> None:
        self._js = js
        self.member = member

    async def put(
        self, chunks: AsyncIterable[bytes], *, max_size: int = MAX_ATTACHMENT_BYTES
    ) -> StoredObject:
        """Store a stream of bytes as a new object in this member's bucket; at most one
        chunk is held in memory. The name is a fresh UUID, so nothing is ever overwritten."""
        object_name = str(uuid.uuid4())
        nuid = uuid.uuid4().hex
        subject = _chunk_subject(self.member, nuid)
        digest = hashlib.sha256()
        pending = bytearray()
        size = count = 0

        async def flush(block: bytes) -> None:
            nonlocal count
            await self._js.publish(subject, block)
            count += 1

        async for piece in chunks:
            size += len(piece)
            if size > max_size:
                raise AttachmentProblem(f"larger than {max_size} bytes")
            digest.update(piece)
            pending += piece
            while len(pending) >= CHUNK_SIZE:
                await flush(bytes(pending[:CHUNK_SIZE]))
                del pending[:CHUNK_SIZE]
        if pending:
            await flush(bytes(pending))
        sha256 = digest.digest()
        info = api.ObjectInfo(
            name=object_name,
            bucket=bucket_name(self.member),
            nuid=nuid,
            size=size,
            chunks=count,
            digest="SHA-256=" + base64.urlsafe_b64encode(sha256).decode(),
            mtime=datetime.now(UTC).isoformat(),
            options=api.ObjectMetaOptions(max_chunk_size=CHUNK_SIZE),
        )
        await self._js.publish(
            _meta_subject(self.member, object_name),
            json.dumps(info.as_dict()).encode(),
            headers={"Nats-Rollup": "sub"},
        )
        return StoredObject(object_name, size, sha256)

    async def read(self, sender: str, object_name: str) -> AsyncIterator[bytes]:
        """The object's chunks in order, one at a time, as the store holds them now
        (unchecked: see `verified`)."""
        stream = stream_name(sender)
        try:
            meta = await self._js.get_last_msg(stream, _meta_subject(sender, object_name))
        except NotFoundError:
            raise AttachmentProblem(
                f"object {object_name} is not in {sender}'s attachment bucket"
            ) from None
        try:
            info = json.loads(meta.data or b"{}")
            nuid, chunks = str(info["nuid"]), int(info.get("chunks") or 0)
        except (ValueError, KeyError, TypeError):
            raise AttachmentProblem(f"object {object_name}: unreadable meta data") from None
        if info.get("deleted"):
            raise AttachmentProblem(f"object {object_name} was deleted from the store")
        subject = _chunk_subject(sender, nuid)
        sequence = 0
        for _ in range(chunks):
            try:
                message = await self._js.get_msg(
                    stream, seq=sequence + 1, subject=subject, next=True
                )
            except NotFoundError:
                raise AttachmentProblem(f"object {object_name}: a chunk is missing") from None
            sequence = int(message.seq or 0)
            yield message.data or b""

    async def verified(
        self, sender: str, object_name: str, expected: AttachmentDigest
    ) -> AsyncIterator[bytes]:
        """The chunks, checked against the signed digest: the size is checked as they come,
        the SHA-256 before the last chunk is handed out, so a caller never gets a complete
        altered file."""
        digest = hashlib.sha256()
        size = 0
        held: bytes | None = None
        async for chunk in self.read(sender, object_name):
            size += len(chunk)
            if size > expected.size:
                raise _altered(expected, f"longer than the {expected.size} bytes signed")
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        if size != expected.size:
            raise _altered(expected, f"{size} bytes, not the {expected.size} signed")
        if digest.digest() != expected.sha256:
            raise _altered(expected, "SHA-256 differs from the one the sender signed")
        if held is not None:
            yield held

    async def check(self, sender: str, object_name: str, expected: AttachmentDigest) -> None:
        """Read the whole object through `verified`, keeping nothing."""
        async for _ in self.verified(sender, object_name, expected):
            pass


def _altered(expected: AttachmentDigest, what: str) -> AttachmentProblem:
    return AttachmentProblem(
        f"attachment {expected.name!r}: {what}; the stored object was altered or replaced"
    )
