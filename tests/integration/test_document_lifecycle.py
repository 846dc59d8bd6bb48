"""The status life cycle through the whole stack: real nats-server, hub, ledger, gRPC.

An illegal status is refused at the reporter (gRPC status naming the rule) and recorded as
a refusal in the ledger; a recall travels to every recipient, and both answers (15 agreed,
16 refused) travel back to the sender and are recorded.
"""

from __future__ import annotations

import time
import uuid

import grpc
import nats
import pytest

from adapters.envelope import seal
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub import subjects
from hub.bootstrap import Stack
from hub.model import Kind
from ledger.refusal import refusal_aggregate_id
from tests.conftest import document_stub
from tests.support import G15, G22, H49, eventually


async def _send(stack: Stack) -> str:
    document = document_pb2.Document(
        subject="Về việc thu hồi văn bản",
        from_organ=document_pb2.Organization(organ_id=G22),
        to_organs=[
            document_pb2.Organization(organ_id=H49),
            document_pb2.Organization(organ_id=G15),
        ],
        edxml_document_id="000.00.00.G22,2026/11/24,7816/VPCP-TTĐT",
    )
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49, G15], document=document, wait_for_receipt=True
        ),
        timeout=20,
    )
    return str(sent.document_id)


async def _status(stack: Stack, member: str, document_id: str, code: str) -> None:
    await document_stub(stack, member).UpdateStatus(
        exchange_pb2.UpdateStatusRequest(
            document_id=document_id, status_code=code, wait_for_receipt=True
        ),
        timeout=20,
    )


async def _inbox_statuses(stack: Stack, member: str) -> list[tuple[str, str]]:
    stub = document_stub(stack, member)
    return [
        (item.sender, item.status.status_code)
        async for item in stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=True))
        if item.kind == "status"
    ]


async def test_an_illegal_status_is_refused_at_the_reporter_and_recorded(stack: Stack) -> None:
    document_id = await _send(stack)
    await eventually(lambda: _arrived(stack, H49, document_id), what="H49 inbox")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _status(stack, H49, document_id, "05")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "illegal_transition" in (refused.value.details() or "")
    assert "status 05 cannot follow nothing yet" in (refused.value.details() or "")
    # The refusal is in the ledger, attributed to the (authenticated) reporter.
    [row] = [r for r in stack.adapters[H49].mailbox.sent_for(document_id) if r.kind == "status"]
    [(_, event)] = stack.ledger.history(refusal_aggregate_id(row.message_id))
    assert event.reason_code == "illegal_transition" and event.claimed_sender == H49
    assert event.authenticated and event.document_id == document_id
    # A recall from a recipient is refused too: 13 comes only from the sender.
    with pytest.raises(grpc.aio.AioRpcError) as not_sender:
        await _status(stack, H49, document_id, "13")
    assert not_sender.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "13 (recall) may only come from the document's sender" in (
        not_sender.value.details() or ""
    )


async def test_a_recall_accepted_and_refused_both_reach_the_sender_and_the_ledger(
    stack: Stack,
) -> None:
    document_id = await _send(stack)
    for member in (H49, G15):
        await eventually(lambda m=member: _arrived(stack, m, document_id), what=f"{member} inbox")
    await _status(stack, H49, document_id, "03")
    await _status(stack, G22, document_id, "13")
    for member in (H49, G15):
        await eventually(
            lambda m=member: _has(stack, m, (G22, "13")), what=f"the recall at {member}"
        )
    await _status(stack, H49, document_id, "15")
    await _status(stack, G15, document_id, "16")
    await eventually(
        lambda: _has(stack, G22, (H49, "15"), (G15, "16")), what="both answers at the sender"
    )
    answers = [
        (e.fields["reporter"], e.fields["status_code"])
        for e in stack.ledger.trace(document_id)
        if e.event.endswith("StatusReported")
    ]
    assert answers == [(H49, "03"), (G22, "13"), (H49, "15"), (G15, "16")]
    # H49 agreed: its copy is withdrawn, and the hub refuses anything more from it.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _status(stack, H49, document_id, "05")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # G15 refused the recall: its copy carries on.
    await _status(stack, G15, document_id, "03")


async def _arrived(stack: Stack, member: str, document_id: str) -> bool:
    stub = document_stub(stack, member)
    return any(
        [
            item.document_id == document_id
            async for item in stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=True))
        ]
    )


async def _has(stack: Stack, member: str, *wanted: tuple[str, str]) -> bool:
    seen = await _inbox_statuses(stack, member)
    return all(w in seen for w in wanted)


async def test_an_invalid_document_that_bypasses_its_adapter_is_refused_and_recorded(
    stack: Stack,
) -> None:
    """The hub trusts no adapter: a signed document breaking an edXML rule (here a due date
    in the wrong form) is refused by the hub, recorded against its authenticated sender,
    and dead-lettered; nothing reaches the recipient."""
    signer = stack.adapters[G22].gateway._signer
    payload = document_pb2.Document(subject="Công văn", due_date="15-10-2026")
    message_id, envelope = seal(
        signer,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=payload.SerializeToString(deterministic=True),
        signed_at_ms=int(time.time() * 1000),
    )
    nc = await nats.connect(stack.nats_url)
    try:
        await nc.jetstream().publish(
            subjects.inbound(G22), envelope, headers={"Nats-Msg-Id": message_id}
        )
    finally:
        await nc.close()

    def refused() -> list[object]:
        try:
            return stack.ledger.history(refusal_aggregate_id(message_id))
        except Exception:
            return []

    [(_, event)] = await eventually(refused, what="the refusal in the ledger")
    assert event.reason_code == "invalid_payload" and event.authenticated
    assert event.reason == "due_date: '15-10-2026' is not a date in yyyy/MM/dd form"
    stub = document_stub(stack, H49)
    inbox = stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=True))
    assert [item async for item in inbox] == []
