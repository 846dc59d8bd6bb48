"""The batch API over real gRPC and a real nats-server: SendDocuments (one stream, one result
per request, in order) and AckInbox with many delivery ids."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable

import grpc
import pytest

from adapters.pb.truc.v1 import document_pb2, envelope_pb2, exchange_pb2
from hub.bootstrap import Stack
from tests.conftest import document_stub
from tests.support import G15, G22, H49, eventually


def _request(
    recipient: str, subject: str, *, message_id: str = "", wait: bool = False
) -> exchange_pb2.SendDocumentRequest:
    return exchange_pb2.SendDocumentRequest(
        recipients=[recipient],
        document=document_pb2.Document(
            subject=subject,
            code=document_pb2.DocumentCode(code_number="12", code_notation="UBND-VP"),
        ),
        document_id=str(uuid.uuid4()),
        message_id=message_id,
        wait_for_receipt=wait,
    )


async def _stream(
    stack: Stack, requests: Iterable[exchange_pb2.SendDocumentRequest]
) -> list[exchange_pb2.SendDocumentResult]:
    async def each() -> AsyncIterator[exchange_pb2.SendDocumentRequest]:
        for request in requests:
            yield request

    call = document_stub(stack, G22).SendDocuments(each(), timeout=30)
    return [result async for result in call]


async def _inbox(
    stack: Stack, member: str, *, acknowledged: bool = True
) -> list[exchange_pb2.InboxItem]:
    stub = document_stub(stack, member)
    request = exchange_pb2.InboxRequest(include_acknowledged=acknowledged)
    return [item async for item in stub.Inbox(request) if item.kind == "document"]


async def _documents_at(stack: Stack, member: str, count: int) -> list[exchange_pb2.InboxItem]:
    async def arrived() -> list[exchange_pb2.InboxItem]:
        items = await _inbox(stack, member)
        return items if len(items) >= count else []

    return await eventually(arrived, within=20, what=f"{count} documents at {member}")


def _events(stack: Stack, document_id: str) -> list[str]:
    return [e.event.split(".")[-1] for e in stack.ledger.trace(document_id)]


async def test_a_stream_of_documents_is_answered_in_order_and_each_arrives_once(
    stack: Stack,
) -> None:
    requests = [_request(H49 if i % 2 else G15, f"Công văn số {i}") for i in range(6)]
    results = await _stream(stack, requests)
    assert [r.index for r in results] == list(range(6))
    assert [r.WhichOneof("outcome") for r in results] == ["sent"] * 6
    assert [r.sent.document_id for r in results] == [q.document_id for q in requests]
    message_ids = [r.sent.message_id for r in results]
    assert len(set(message_ids)) == 6 and all(uuid.UUID(m) for m in message_ids)
    for member, expected in ((H49, requests[1::2]), (G15, requests[0::2])):
        items = await _documents_at(stack, member, 3)
        assert sorted(i.document_id for i in items) == sorted(q.document_id for q in expected)
        assert {i.document.subject for i in items} == {q.document.subject for q in expected}
        assert all(i.sender == G22 for i in items)
    # The hub recorded each one, and its receipts reached the sender's adapter.
    mailbox = stack.adapters[G22].mailbox

    def all_accepted() -> bool:
        rows = [mailbox.sent(m) for m in message_ids]
        return all(row is not None and row.accepted for row in rows)

    await eventually(all_accepted, what="the hub's receipts for the six documents")
    for request in requests:
        assert _events(stack, request.document_id) == ["Sent", "Routed"]


async def test_a_bad_request_gets_its_error_and_the_others_go_on(stack: Stack) -> None:
    good_first = _request(H49, "Trước")
    too_long = _request(H49, "x" * 501)
    waits = _request(H49, "Chờ biên nhận", wait=True)
    good_last = _request(H49, "Sau")
    results = await _stream(stack, [good_first, too_long, waits, good_last])
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.WhichOneof("outcome") for r in results] == ["sent", "error", "error", "sent"]
    refused = results[1].error
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] == 3
    assert refused.field == "subject"
    # Exactly what SendDocument says of the same request.
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await document_stub(stack, G22).SendDocument(too_long, timeout=10)
    assert unary.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.message == unary.value.details() == "subject: at most 500 characters, got 501"
    assert (results[2].error.code, results[2].error.field) == (3, "wait_for_receipt")
    assert results[2].error.message == (
        "wait_for_receipt: not supported on SendDocuments; use GetReceipt"
    )
    items = await _documents_at(stack, H49, 2)
    assert sorted(i.document_id for i in items) == sorted(
        [good_first.document_id, good_last.document_id]
    )
    mailbox = stack.adapters[G22].mailbox
    assert mailbox.sent_for(too_long.document_id) == []
    assert mailbox.sent_for(waits.document_id) == []


async def test_sending_again_with_the_same_message_ids_duplicates_nothing(stack: Stack) -> None:
    requests = [_request(H49, f"Gửi lại {i}", message_id=str(uuid.uuid4())) for i in range(3)]
    first = await _stream(stack, requests)
    # The whole stream again (a client retrying after a lost answer), plus a request sent
    # twice within one stream.
    again = await _stream(stack, [*requests, requests[0]])
    assert [r.sent.message_id for r in first] == [q.message_id for q in requests]
    assert [r.sent.message_id for r in again] == [q.message_id for q in [*requests, requests[0]]]
    assert [r.sent.document_id for r in again[:3]] == [r.sent.document_id for r in first]
    # A later document, recorded and delivered after the copies were published, so the hub
    # and H49 have seen everything the retries could have caused.
    marker = await document_stub(stack, G22).SendDocument(
        _request(H49, "Mốc", wait=True), timeout=20
    )
    assert marker.recorded
    items = await _documents_at(stack, H49, 4)
    counted = [i.document_id for i in items]
    for request in requests:
        assert counted.count(request.document_id) == 1
        assert _events(stack, request.document_id) == ["Sent", "Routed"]
        kept = stack.adapters[G22].mailbox.sent_for(request.document_id)
        assert [row.message_id for row in kept] == [request.message_id]
    assert len(counted) == 4


async def test_a_retry_without_a_document_id_is_told_the_kept_documents_id(
    stack: Stack,
) -> None:
    request = _request(H49, "Không ghi mã văn bản", message_id=str(uuid.uuid4()))
    request.ClearField("document_id")  # the adapter makes one up, on each attempt anew
    (first,) = await _stream(stack, [request])
    (again,) = await _stream(stack, [request])
    assert first.sent.message_id == again.sent.message_id == request.message_id
    assert again.sent.document_id == first.sent.document_id
    kept = stack.adapters[G22].mailbox.sent(request.message_id)
    assert kept is not None and kept.document_id == first.sent.document_id


async def test_many_items_are_acknowledged_in_one_call_with_one_proof(stack: Stack) -> None:
    results = await _stream(stack, [_request(H49, f"Nhận {i}") for i in range(3)])
    items = await _documents_at(stack, H49, 3)
    ids = [i.delivery_id for i in items]
    stub = document_stub(stack, H49)
    single = await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_id=ids[0]))
    assert not single.already_acknowledged and list(single.acknowledged_ids) == [ids[0]]
    unknown = max(ids) + 1000
    batch = await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_ids=[*ids, unknown]))
    assert list(batch.acknowledged_ids) == ids[1:]
    assert list(batch.already_acknowledged_ids) == [ids[0]]
    assert list(batch.unknown_ids) == [unknown]
    assert not batch.already_acknowledged  # only about delivery_id, not given here
    assert await _inbox(stack, H49, acknowledged=False) == []
    # Both forms at once: delivery_id joins the batch (unknown: reported, not NOT_FOUND).
    both = await stub.AckInbox(
        exchange_pb2.AckInboxRequest(delivery_id=unknown, delivery_ids=[ids[1]])
    )
    assert (list(both.unknown_ids), list(both.already_acknowledged_ids)) == ([unknown], [ids[1]])
    # The single-id form keeps its answers: already acknowledged, and NOT_FOUND.
    assert (
        await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_id=ids[2]))
    ).already_acknowledged
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_id=unknown))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing.value.details() == f"delivery_id: no inbox item {unknown}"
    # A delivery of each document reached the ledger and, as a receipt, the sender.
    mailbox = stack.adapters[G22].mailbox
    for result in results:

        def delivered(r: exchange_pb2.SendDocumentResult = result) -> bool:
            return mailbox.deliveries(r.sent.message_id) != []

        await eventually(delivered, what=f"the delivery proof of {result.sent.document_id}")
        assert [(who, pos > 0) for who, pos in mailbox.deliveries(result.sent.message_id)] == [
            (H49, True)
        ]
        assert _events(stack, result.sent.document_id) == ["Sent", "Routed", "Delivered"]
    # One signed proof per acknowledgement that marked anything: the single id's (single
    # form), the batch's listing its two documents; none for the repeated acknowledgements.
    h49 = stack.adapters[H49].mailbox
    proofs = {
        row.message_id: envelope_pb2.Delivery.FromString(row.payload)
        for result in results
        for row in h49.sent_for(result.sent.document_id)
        if row.kind == "delivery"
    }
    assert sorted(
        [proof.message_id] if proof.message_id else [i.message_id for i in proof.items]
        for proof in proofs.values()
    ) == sorted([[items[0].message_id], [i.message_id for i in items[1:]]])
    delivered = {
        e.fields["message_id"]
        for result in results
        for e in stack.ledger.trace(result.sent.document_id)
        if e.event.endswith("Delivered")
    }
    assert delivered == set(proofs)


async def test_an_item_stored_while_the_inbox_stream_was_busy_is_not_missed(
    stack: Stack,
) -> None:
    """An Inbox stream that was writing items when the next one arrived (its notification
    gone to nobody) must see it before waiting, not a re-check later (5 s: batched traffic
    fell from ~900 to ~70 documents/s in `truc bench` before this)."""
    gateway = stack.adapters[H49].gateway
    gateway.mailbox.store_received(
        message_id=str(uuid.uuid4()),
        kind="status",
        document_id=str(uuid.uuid4()),
        sender=G22,
        ledger_position=1,
        received_at_ms=1,
        routed=b"",
    )  # stored, and nobody notified
    await asyncio.wait_for(gateway.wait_arrival(after=0, within=120), 10)


async def test_an_ack_that_fails_says_whether_the_items_were_acknowledged(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _stream(stack, [_request(H49, f"Xác nhận lỗi {i}") for i in range(2)])
    ids = [i.delivery_id for i in await _documents_at(stack, H49, 2)]
    gateway, stub = stack.adapters[H49].gateway, document_stub(stack, H49)

    def mailbox_down(*args: object) -> list[int]:
        raise OSError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(gateway.mailbox, "acknowledge_many", mailbox_down)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_ids=ids[:1]))
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failed.value.details().startswith("nothing acknowledged")
    assert len(await _inbox(stack, H49, acknowledged=False)) == 2

    async def nats_away(messages: object) -> list[BaseException | None]:
        return [ConnectionError("NATS away for a moment")]

    with monkeypatch.context() as patch:
        patch.setattr(gateway, "_publish_each", nats_away)
        with pytest.raises(grpc.aio.AioRpcError) as pending:
            await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_ids=ids[:1]))
    assert pending.value.code() == grpc.StatusCode.UNAVAILABLE
    assert pending.value.details().startswith("acknowledged, but the delivery proofs")
    assert [i.delivery_id for i in await _inbox(stack, H49, acknowledged=False)] == ids[1:]


async def _batch(
    stack: Stack, requests: Iterable[exchange_pb2.SendDocumentRequest]
) -> list[exchange_pb2.SendDocumentResult]:
    call = document_stub(stack, G22).SendDocumentBatch(
        exchange_pb2.SendDocumentBatchRequest(documents=list(requests)), timeout=30
    )
    return list((await call).results)


async def _inbox_batches(
    stack: Stack, member: str, max_items: int
) -> list[list[exchange_pb2.InboxItem]]:
    request = exchange_pb2.InboxRequest(include_acknowledged=True, max_items=max_items)
    return [list(b.items) async for b in document_stub(stack, member).InboxBatches(request)]


async def test_a_batch_call_answers_each_document_in_order_and_refuses_only_the_bad_ones(
    stack: Stack,
) -> None:
    good = [_request(H49, f"Gửi theo lô {i}", message_id=str(uuid.uuid4())) for i in range(5)]
    too_long = _request(H49, "x" * 501)
    waits = _request(H49, "Chờ biên nhận", wait=True)
    requests = [good[0], too_long, *good[1:3], waits, *good[3:]]
    results = await _batch(stack, requests)
    assert [r.index for r in results] == list(range(7))
    outcomes = [r.WhichOneof("outcome") for r in results]
    assert outcomes == ["sent", "error", "sent", "sent", "error", "sent", "sent"]
    assert (results[1].error.code, results[1].error.field) == (3, "subject")
    assert results[1].error.message == "subject: at most 500 characters, got 501"
    assert (results[4].error.field, results[4].error.message) == (
        "wait_for_receipt",
        "wait_for_receipt: not supported on SendDocumentBatch; use GetReceipt",
    )
    sent = [r.sent for r in results if r.WhichOneof("outcome") == "sent"]
    assert [(s.document_id, s.message_id) for s in sent] == [
        (q.document_id, q.message_id) for q in good
    ]
    # The same batch again (a retry after a lost answer) duplicates nothing.
    again = await _batch(stack, good)
    assert [r.sent.message_id for r in again] == [q.message_id for q in good]
    items = await _documents_at(stack, H49, 5)
    assert sorted(i.document_id for i in items) == sorted(q.document_id for q in good)
    for request in good:
        assert _events(stack, request.document_id) == ["Sent", "Routed"]


@pytest.mark.parametrize("count", [0, 1001])
async def test_an_empty_or_oversized_batch_call_is_refused_as_a_whole(
    stack: Stack, count: int
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _batch(stack, [_request(H49, f"Lô {i}") for i in range(count)])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == f"documents: 1 to 1000 documents a call, not {count}"
    assert stack.adapters[G22].mailbox.sent_documents() == []


async def test_inbox_batches_hold_the_inbox_in_order_at_most_max_items_each(
    stack: Stack,
) -> None:
    results = await _batch(stack, [_request(H49, f"Hộp thư {i}") for i in range(5)])
    items = await _documents_at(stack, H49, 5)
    batches = await _inbox_batches(stack, H49, max_items=2)
    assert [len(b) for b in batches] == [2, 2, 1]
    flat = [item for b in batches for item in b]
    assert flat == items  # the very items Inbox gives, in the same order
    assert {i.document_id for i in flat} == {r.sent.document_id for r in results}
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _inbox_batches(stack, H49, max_items=257)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "max_items: at most 256, not 257"


async def test_a_followed_inbox_batches_stream_brings_what_arrives_later(stack: Stack) -> None:
    stub = document_stub(stack, H49)
    call = stub.InboxBatches(exchange_pb2.InboxRequest(follow=True), timeout=30)
    results = await _batch(stack, [_request(H49, f"Đến sau {i}") for i in range(3)])
    expected = {r.sent.document_id for r in results}
    seen: set[str] = set()
    async for batch in call:
        seen |= {item.document_id for item in batch.items if item.kind == "document"}
        if seen >= expected:
            break
    call.cancel()
    assert seen == expected


async def test_a_message_id_given_to_another_document_is_refused_not_dropped(
    stack: Stack,
) -> None:
    """A retry must repeat its document: another document under a kept id would otherwise
    be answered "sent" with the first one's id, and never leave."""
    kept = _request(H49, "Bản gốc", message_id=str(uuid.uuid4()))
    (first,) = await _stream(stack, [kept])
    assert first.WhichOneof("outcome") == "sent"
    other = _request(H49, "Một văn bản khác", message_id=kept.message_id)
    twins = [_request(H49, f"Song sinh {i}", message_id=str(uuid.uuid4())) for i in range(2)]
    twins[1].message_id = twins[0].message_id  # two documents, one id, in one call
    results = await _stream(stack, [other, kept, *twins])
    refused = [r for r in results if r.WhichOneof("outcome") == "error"]
    assert [r.index for r in refused] == [0, 3]
    for result in refused:
        assert result.error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
        assert result.error.field == "message_id"
        assert "already used for another message" in result.error.message
    assert results[1].sent.message_id == kept.message_id  # the true retry still answers
    assert results[2].sent.message_id == twins[0].message_id
    mailbox = stack.adapters[G22].mailbox
    assert mailbox.sent_for(other.document_id) == []
    assert mailbox.sent_for(twins[1].document_id) == []
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await document_stub(stack, G22).SendDocument(other, timeout=20)
    assert unary.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "message_id" in (unary.value.details() or "")
