"""Attachments under least privilege (the embedded NATS with one user per adapter): an
adapter writes only its own bucket, reads others' objects message by message, and can
neither write, purge nor consume another member's bucket. The whole exchange still works."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.document.attachments import bucket_name, stream_name
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack, start_stack
from tests.conftest import document_stub
from tests.integration.test_nats_permissions import Violations, _connect_as
from tests.support import G22, H49, eventually, make_config


@pytest_asyncio.fixture
async def embedded_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The stack with its embedded, authenticated NATS (one user per adapter)."""
    running = await start_stack(make_config(""), tmp_path / "data")
    try:
        yield running
    finally:
        await running.stop()


async def _chunks(data: bytes) -> AsyncIterator[exchange_pb2.AttachmentChunk]:
    yield exchange_pb2.AttachmentChunk(name="bao-cao.pdf")
    for start in range(0, len(data), 50_000):
        yield exchange_pb2.AttachmentChunk(data=data[start : start + 50_000])


async def test_attachments_flow_with_each_adapter_on_its_own_nats_user(
    embedded_stack: Stack,
) -> None:
    stack = embedded_stack
    data = bytes(range(256)) * 2000
    stored = await document_stub(stack, G22).UploadAttachment(_chunks(data), timeout=30)
    document = document_pb2.Document(
        subject="Báo cáo",
        attachments=[document_pb2.Attachment(name="bao-cao.pdf", object_name=stored.object_name)],
    )
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49], document=document, wait_for_receipt=True
        ),
        timeout=30,
    )

    async def downloaded() -> bytes:
        try:
            stream = document_stub(stack, H49).DownloadAttachment(
                exchange_pb2.DownloadAttachmentRequest(document_id=sent.document_id), timeout=10
            )
            return b"".join([chunk.data async for chunk in stream])
        except Exception:
            return b""

    got = await eventually(downloaded, what="H49 downloads the attachment")
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize(
    "subject",
    [
        f"$O.{bucket_name(G22)}.C.forged",  # write chunks into G22's bucket
        f"$O.{bucket_name(G22)}.M.Zm9yZ2Vk",  # replace an object's meta
        f"$JS.API.STREAM.PURGE.{stream_name(G22)}",  # wipe G22's attachments
        f"$JS.API.STREAM.DELETE.{stream_name(G22)}",
        f"$JS.API.CONSUMER.CREATE.{stream_name(G22)}",  # follow everything G22 stores
    ],
)
async def test_an_adapter_cannot_write_purge_or_consume_another_bucket(
    embedded_stack: Stack, subject: str
) -> None:
    violations = Violations()
    nc = await _connect_as(embedded_stack, H49, violations)
    try:
        await nc.publish(subject, b"{}")
        await nc.flush()
        await eventually(
            lambda: violations.saw(f'Permissions Violation for Publish to "{subject}"'),
            what=f"denial of {subject}",
        )
    finally:
        await nc.close()
