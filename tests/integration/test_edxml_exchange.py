"""edXML through the whole stack: a package imported at the sender's adapter, exchanged
through the hub (signed, recorded, routed), and exported at each recipient's adapter keeps
every field, unknown elements included. Through gRPC and through the `truc edxml` CLI."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
import pytest

from adapters.pb.truc.v1 import exchange_pb2
from hub.bootstrap import Stack
from hub.cli.documents import loader
from ledger.document import document_chain
from tests.conftest import document_stub
from tests.edxml.support import SAMPLE, sample, tree
from tests.support import G15, G22, H49, eventually

CLI = [sys.executable, "-m", "hub.cli.main"]


async def _exported(stack: Stack, member: str, document_id: str) -> bytes | None:
    try:
        package = await document_stub(stack, member).GetEdxml(
            exchange_pb2.GetDocumentRequest(document_id=document_id), timeout=10
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return bytes(package.edxml)


async def _cli(*args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out, err


async def test_import_exchange_export_keeps_every_field(stack: Stack) -> None:
    sent = await document_stub(stack, G22).SendEdxml(
        exchange_pb2.SendEdxmlRequest(edxml=sample(), wait_for_receipt=True), timeout=30
    )
    assert sent.recorded
    for member in (H49, G15):
        exported = await eventually(
            lambda m=member: _exported(stack, m, sent.document_id), what=f"{member} copy"
        )
        assert tree(exported) == tree(sample())
    # The sender's own copy too.
    assert tree(await _exported(stack, G22, sent.document_id) or b"") == tree(sample())
    [sent_event] = [e for e in stack.ledger.trace(sent.document_id) if e.event.endswith("Sent")]
    assert sent_event.fields["subject"].startswith("Về việc triển khai")
    assert sent_event.fields["due_date"] == "2018/10/15"


async def test_the_cli_imports_and_exports(stack: Stack, tmp_path: Path) -> None:
    data_dir = str(stack.data_dir)
    code, out, err = await _cli("edxml", "import", str(SAMPLE), "--as", G22, "--data-dir", data_dir)
    assert code == 0, err.decode()
    document_id = out.decode().strip()
    target = tmp_path / "out.edxml"

    async def exported() -> bool:
        code, _, _ = await _cli(
            "edxml", "export", document_id, "--as", H49, "-o", str(target), "--data-dir", data_dir
        )
        return code == 0

    await eventually(exported, what="export at H49")
    assert tree(target.read_bytes()) == tree(sample())
    # Without --as, a recipient holding the document is found through the ledger.
    code, out, err = await _cli("edxml", "export", document_id, "--data-dir", data_dir)
    assert code == 0, err.decode()
    assert tree(out) == tree(sample())
    # Refusals: a package sent as someone else, and a document nobody here holds.
    code, _, err = await _cli("edxml", "import", str(SAMPLE), "--as", H49, "--data-dir", data_dir)
    assert code == 4
    assert b"MessageHeader/From/OrganId: 000.00.00.G22 is not this adapter's member" in err
    code, _, err = await _cli(
        "edxml",
        "export",
        "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10",
        "--as",
        H49,
        "--data-dir",
        data_dir,
    )
    assert code == 5 and b"neither sent nor received" in err


@pytest.mark.parametrize(
    ("package", "words"),
    [
        (b"<edXML", "edxml: not well-formed XML"),
        (
            b'<!DOCTYPE x [<!ENTITY a "b">]><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',
            "DTDs, entities and external references are refused",
        ),
        (sample().replace(b"<edXML:Priority>1<", b"<edXML:Priority>9<"), "other_info.priority"),
    ],
)
async def test_bad_packages_are_refused_at_the_sender_with_the_reason(
    stack: Stack, package: bytes, words: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await document_stub(stack, G22).SendEdxml(
            exchange_pb2.SendEdxmlRequest(edxml=package, wait_for_receipt=True), timeout=20
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in (refused.value.details() or "")


async def test_an_edxml_revocation_refers_to_the_earlier_document(stack: Stack) -> None:
    stub = document_stub(stack, G22)
    first = await stub.SendEdxml(
        exchange_pb2.SendEdxmlRequest(edxml=sample(), wait_for_receipt=True), timeout=30
    )
    own_id = "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT</edXML:DocumentId>\n        <edXML:Sec"
    revocation = (
        sample()
        .replace(own_id.encode(), own_id.replace("7816", "7817").encode())
        .replace(
            b"<edXML:BussinessDocType>0</edXML:BussinessDocType>",
            "<edXML:BussinessDocType>1</edXML:BussinessDocType>"
            "<edXML:DocumentId>000.00.00.G22,2018/09/20,7816/VPCP-TTĐT</edXML:DocumentId>".encode(),
        )
    )
    second = await stub.SendEdxml(
        exchange_pb2.SendEdxmlRequest(edxml=revocation, wait_for_receipt=True), timeout=30
    )
    chain = document_chain(loader(stack.ledger), second.document_id)
    assert [(link["document_id"], link["relation"]) for link in chain] == [
        (first.document_id, ""),
        (second.document_id, "revoked"),
    ]
    # A revocation of something this member never sent is refused at its adapter.
    unknown = revocation.replace(b"G22,2018/09/20,7816", b"G22,2018/09/21,7816")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SendEdxml(exchange_pb2.SendEdxmlRequest(edxml=unknown), timeout=20)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Bussiness/DocumentId: this member never sent" in (refused.value.details() or "")
