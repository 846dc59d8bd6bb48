"""Attachments in the JetStream object store, streamed over gRPC both ways, bound to the
signed header by their SHA-256 and checked by the recipient's adapter.

Real parts: the test's nats-server, the hub, the adapters' gRPC over loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats
import pytest

from adapters.document.attachments import bucket_name
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack
from tests.conftest import document_stub
from tests.support import G22, H49, eventually

MiB = 1024 * 1024


class Generated:
    """`size` pseudo-random bytes produced chunk by chunk, hashed on the way."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk = size, chunk
        self.sha256 = hashlib.sha256()

    async def chunks(self, name: str) -> AsyncIterator[exchange_pb2.AttachmentChunk]:
        yield exchange_pb2.AttachmentChunk(name=name, content_type="application/octet-stream")
        sent = 0
        while sent < self.size:
            data = os.urandom(min(self.chunk, self.size - sent))
            self.sha256.update(data)
            sent += len(data)
            yield exchange_pb2.AttachmentChunk(data=data)


async def _upload(stack: Stack, generated: Generated, name: str) -> exchange_pb2.StoredAttachment:
    return await document_stub(stack, G22).UploadAttachment(generated.chunks(name), timeout=300)


async def _send(stack: Stack, stored: exchange_pb2.StoredAttachment, name: str) -> str:
    document = document_pb2.Document(
        subject="Hồ sơ kèm tệp lớn",
        attachments=[document_pb2.Attachment(name=name, object_name=stored.object_name)],
    )
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49], document=document, wait_for_receipt=True
        ),
        timeout=60,
    )
    return str(sent.document_id)


async def _arrived(stack: Stack, document_id: str) -> exchange_pb2.InboxItem | None:
    stub = document_stub(stack, H49)
    async for item in stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=True)):
        if item.document_id == document_id and item.kind == "document":
            return item
    return None


async def _download(stack: Stack, document_id: str) -> tuple[int, bytes, int]:
    """(size, SHA-256, chunks) of the download, keeping nothing."""
    digest, size, count = hashlib.sha256(), 0, 0
    stream = document_stub(stack, H49).DownloadAttachment(
        exchange_pb2.DownloadAttachmentRequest(document_id=document_id, index=0), timeout=300
    )
    async for chunk in stream:
        digest.update(chunk.data)
        size += len(chunk.data)
        count += 1
    return size, digest.digest(), count


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM).
    Path("/proc/self/clear_refs").write_text("5")


async def test_a_100_mib_attachment_goes_through_without_being_held_in_memory(
    stack: Stack,
) -> None:
    generated = Generated(100 * MiB)
    _reset_peak_rss()
    rss_before = _peak_rss_kib()
    tracemalloc.start()
    try:
        stored = await _upload(stack, generated, "ban-do.tif")
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        document_id = await _send(stack, stored, "ban-do.tif")
        item = await eventually(lambda: _arrived(stack, document_id), what="arrival", within=120)
        tracemalloc.reset_peak()
        size, sha256, chunks = await _download(stack, document_id)
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth_mib = (_peak_rss_kib() - rss_before) / 1024
    print(
        f"\n100 MiB: upload peak {upload_peak / MiB:.1f} MiB traced, download peak"
        f" {download_peak / MiB:.1f} MiB traced, peak RSS growth {rss_growth_mib:.0f} MiB,"
        f" {chunks} chunks"
    )
    assert stored.size == 100 * MiB and stored.sha256 == generated.sha256.digest()
    assert list(item.attachment_problems) == []
    assert item.document.attachments[0].sha256 == generated.sha256.digest()
    assert (size, sha256) == (100 * MiB, generated.sha256.digest())
    # Whatever the size, the adapters hold a few chunks at a time, never the file.
    assert upload_peak < 8 * MiB and download_peak < 8 * MiB
    assert rss_growth_mib < 60


async def _replace_object(stack: Stack, object_name: str, data: bytes) -> None:
    """What an attacker with write access to the store (or a faulty disk) would do."""
    nc = await nats.connect(stack.nats_url)
    try:
        store = await nc.jetstream().object_store(bucket_name(G22))
        await store.put(object_name, data)
    finally:
        await nc.close()


async def test_an_object_replaced_before_arrival_is_reported_by_the_recipient(
    stack: Stack,
) -> None:
    generated = Generated(300 * 1024)
    stored = await _upload(stack, generated, "qd.pdf")
    await _replace_object(stack, stored.object_name, os.urandom(300 * 1024))
    document_id = await _send(stack, stored, "qd.pdf")
    item = await eventually(lambda: _arrived(stack, document_id), what="arrival")
    assert len(item.attachment_problems) == 1
    problem = item.attachment_problems[0]
    assert problem.startswith("attachments[0]: attachment 'qd.pdf': SHA-256 differs")
    assert "altered or replaced" in problem
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _download(stack, document_id)
    assert refused.value.code() == grpc.StatusCode.DATA_LOSS


async def test_an_object_replaced_after_arrival_never_reaches_the_agency_whole(
    stack: Stack,
) -> None:
    generated = Generated(1 * MiB)
    stored = await _upload(stack, generated, "phu-luc.zip")
    document_id = await _send(stack, stored, "phu-luc.zip")
    item = await eventually(lambda: _arrived(stack, document_id), what="arrival")
    assert list(item.attachment_problems) == []
    size, sha256, _ = await _download(stack, document_id)
    assert (size, sha256) == (MiB, generated.sha256.digest())
    await _replace_object(stack, stored.object_name, b"x" * (2 * MiB))
    received = 0

    async def partial() -> None:
        nonlocal received
        stream = document_stub(stack, H49).DownloadAttachment(
            exchange_pb2.DownloadAttachmentRequest(document_id=document_id, index=0), timeout=60
        )
        async for chunk in stream:
            received += len(chunk.data)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await partial()
    assert refused.value.code() == grpc.StatusCode.DATA_LOSS
    assert "longer than the 1048576 bytes signed" in (refused.value.details() or "")
    assert received < MiB


async def test_only_objects_this_adapter_uploaded_can_be_attached(stack: Stack) -> None:
    document = document_pb2.Document(
        subject="x",
        attachments=[
            document_pb2.Attachment(
                name="a.pdf", object_name="6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"
            )
        ],
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await document_stub(stack, G22).SendDocument(
            exchange_pb2.SendDocumentRequest(recipients=[H49], document=document), timeout=20
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "attachments[0].object_name" in (refused.value.details() or "")
    # A digest the caller made up is not taken either.
    stored = await _upload(stack, Generated(1000), "b.pdf")
    document.attachments[0].object_name = stored.object_name
    document.attachments[0].sha256 = b"\x00" * 32
    with pytest.raises(grpc.aio.AioRpcError) as lied:
        await document_stub(stack, G22).SendDocument(
            exchange_pb2.SendDocumentRequest(recipients=[H49], document=document), timeout=20
        )
    assert "differs from what was uploaded" in (lied.value.details() or "")


async def _cli(*args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli.main",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out, err


async def test_the_cli_streams_large_files_and_gets_them_back(stack: Stack, tmp_path: Path) -> None:
    data_dir = str(stack.data_dir)
    big = tmp_path / "so-lieu.bin"
    big.write_bytes(os.urandom(3 * MiB + 17))
    code, out, err = await _cli(
        "send",
        "--from",
        G22,
        "--to",
        H49,
        "--subject",
        "Số liệu",
        "--attach",
        str(big),
        "--data-dir",
        data_dir,
    )
    assert code == 0, err.decode()
    document_id = out.decode().strip()
    item = await eventually(lambda: _arrived(stack, document_id), what="arrival")
    [attachment] = item.document.attachments
    assert attachment.object_name and not attachment.content  # by reference, not inline
    assert attachment.sha256 == hashlib.sha256(big.read_bytes()).digest()
    target = tmp_path / "got.bin"
    code, _, err = await _cli(
        "attachment", "get", H49, document_id, "0", "-o", str(target), "--data-dir", data_dir
    )
    assert code == 0, err.decode()
    assert target.read_bytes() == big.read_bytes()
    # Altered in the store: the CLI fails, and leaves no file behind.
    await _replace_object(stack, attachment.object_name, os.urandom(3 * MiB + 17))
    target.unlink()
    code, _, err = await _cli(
        "attachment", "get", H49, document_id, "0", "-o", str(target), "--data-dir", data_dir
    )
    assert code == 1 and b"DATA_LOSS" in err and b"SHA-256 differs" in err
    assert not target.exists() and not (tmp_path / "got.bin.part").exists()


async def test_inline_attachments_download_the_same_way(stack: Stack) -> None:
    content = os.urandom(300 * 1024)
    document = document_pb2.Document(
        subject="Tệp nhỏ", attachments=[document_pb2.Attachment(name="nho.pdf", content=content)]
    )
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49], document=document, wait_for_receipt=True
        ),
        timeout=30,
    )
    await eventually(lambda: _arrived(stack, sent.document_id), what="arrival")
    size, sha256, chunks = await _download(stack, sent.document_id)
    assert (size, sha256) == (len(content), hashlib.sha256(content).digest())
    assert chunks == 3  # 128 KiB at a time
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        stream = document_stub(stack, H49).DownloadAttachment(
            exchange_pb2.DownloadAttachmentRequest(document_id=sent.document_id, index=1)
        )
        await stream.read()
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "has 1 attachment(s)" in (missing.value.details() or "")
