"""One signed document from a ministry to a province and a ministry, end to end, on real
parts: a real nats-server, the hub, the SQLite ledger and the adapters' gRPC over loopback."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import grpc
import nats
import pytest

from adapters.crypto import Signer, verify
from adapters.envelope import open_routed, seal
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, envelope_pb2, exchange_pb2
from hub import subjects
from hub.bootstrap import Stack, start_stack
from hub.model import Kind
from tests.conftest import document_stub
from tests.support import G15, G22, H49, POST, eventually, make_config, routed_copy


def _document(subject: str = "Về việc triển khai trục liên thông văn bản") -> document_pb2.Document:
    return document_pb2.Document(
        subject=subject,
        code=document_pb2.DocumentCode(code_number="7816", code_notation="VPCP-TTĐT"),
        from_organ=document_pb2.Organization(organ_id=G22, organ_name="Văn phòng Chính phủ"),
        to_organs=[
            document_pb2.Organization(organ_id=H49),
            document_pb2.Organization(organ_id=G15),
        ],
        attachments=[document_pb2.Attachment(name="qd.pdf", content=b"%PDF-1.7 demo")],
    )


async def _inbox(
    stack: Stack, member: str, *, all_items: bool = True
) -> list[exchange_pb2.InboxItem]:
    stub = document_stub(stack, member)
    return [
        item async for item in stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=all_items))
    ]


async def _send(
    stack: Stack, subject: str = "Công văn", wait: bool = True
) -> exchange_pb2.SendDocumentResponse:
    stub = document_stub(stack, G22)
    return await stub.SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49, G15], document=_document(subject), wait_for_receipt=wait
        ),
        timeout=20,
    )


async def test_document_arrives_once_at_each_recipient_with_valid_signatures(stack: Stack) -> None:
    sent = await _send(stack)
    assert sent.recorded and sent.ledger_position > 0
    for member in (H49, G15):
        items = await eventually(lambda m=member: _inbox(stack, m), what=f"{member} inbox")
        assert [i.document_id for i in items] == [sent.document_id]
        item = items[0]
        assert item.sender == G22
        assert item.document.subject == "Công văn"
        assert item.document.attachments[0].content == b"%PDF-1.7 demo"
        # The agency system can check both signatures itself, from the bytes it was given.
        verified = open_routed(
            item.routed_envelope, hub_public_key=stack.hub_signer.public_key, recipient=member
        )
        routed = envelope_pb2.RoutedEnvelope.FromString(item.routed_envelope)
        assert verify(
            stack.hub_signer.public_key, b"truc.v1/stamp\n", routed.stamp, routed.hub_signature
        )
        assert verified.stamp.ledger_position == sent.ledger_position
    # Nothing else arrived anywhere, even after the hub had every chance to route twice.
    assert await _inbox(stack, G22) == []
    assert await _inbox(stack, POST) == []


async def test_trace_shows_sent_routed_delivered_in_ledger_order(stack: Stack) -> None:
    sent = await _send(stack)
    for member in (H49, G15):
        items = await eventually(lambda m=member: _inbox(stack, m), what=f"{member} inbox")
        ack = await document_stub(stack, member).AckInbox(
            exchange_pb2.AckInboxRequest(delivery_id=items[0].delivery_id)
        )
        assert not ack.already_acknowledged

    def delivered() -> list[str]:
        trace = stack.ledger.trace(sent.document_id)
        return [e.fields["recipient"] for e in trace if e.event == "Document.Delivered"]

    await eventually(lambda: len(delivered()) == 2, what="two deliveries recorded")
    trace = stack.ledger.trace(sent.document_id)
    assert [e.event.split(".")[-1] for e in trace] == [
        "Sent",
        "Routed",
        "Routed",
        "Delivered",
        "Delivered",
    ]
    positions = [e.position for e in trace]
    assert positions == sorted(positions) and positions[0] == sent.ledger_position
    assert {e.fields["recipient"] for e in trace if e.event.endswith("Routed")} == {H49, G15}
    # A second acknowledgement is harmless and records nothing more.
    again = await document_stub(stack, H49).AckInbox(exchange_pb2.AckInboxRequest(delivery_id=1))
    assert again.already_acknowledged
    # The sender's adapter learnt of both deliveries through signed receipts.
    await eventually(
        lambda: len(stack.adapters[G22].mailbox.deliveries(trace[0].fields["message_id"])) == 2,
        what="delivery receipts at the sender",
    )


async def test_statuses_travel_back_to_the_sender_and_illegal_ones_are_refused(
    stack: Stack,
) -> None:
    sent = await _send(stack)
    await eventually(lambda: _inbox(stack, H49), what="H49 inbox")
    h49 = document_stub(stack, H49)
    for code in ("01", "03", "05"):
        response = await h49.UpdateStatus(
            exchange_pb2.UpdateStatusRequest(
                document_id=sent.document_id, status_code=code, wait_for_receipt=True
            ),
            timeout=20,
        )
        assert response.recorded
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await h49.UpdateStatus(
            exchange_pb2.UpdateStatusRequest(
                document_id=sent.document_id, status_code="01", wait_for_receipt=True
            ),
            timeout=20,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "01 cannot follow 05" in (refused.value.details() or "")
    await eventually(lambda: _count_statuses(stack), what="three statuses at G22")


async def _count_statuses(stack: Stack) -> bool:
    items = await _inbox(stack, G22)
    return [i.status.status_code for i in items if i.kind == "status"] == ["01", "03", "05"]


async def test_invalid_documents_are_refused_with_the_field_and_reason(stack: Stack) -> None:
    stub = document_stub(stack, G22)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.SendDocument(
            exchange_pb2.SendDocumentRequest(recipients=[H49], document=_document("x" * 501))
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details() == "subject: at most 500 characters, got 501"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.SendDocument(
            exchange_pb2.SendDocumentRequest(recipients=["not a code"], document=_document())
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.value.details() or "").startswith("recipients[0]:")
    # A route the registry does not allow is refused by the hub, and said so at the sender.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.SendDocument(
            exchange_pb2.SendDocumentRequest(
                recipients=[POST], document=_document(), wait_for_receipt=True
            ),
            timeout=20,
        )
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "route_not_allowed" in (error.value.details() or "")
    assert await _inbox(stack, POST) == []


async def _dead_letters(url: str, count: int) -> list[dict[str, object]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subjects.DEAD_ALL, stream=subjects.DEAD_STREAM)
        letters: list[dict[str, object]] = []
        while len(letters) < count:
            for msg in await sub.fetch(count - len(letters), timeout=10):
                letters.append(json.loads(msg.data))
                await msg.ack()
        return letters
    finally:
        await nc.close()


async def _publish_raw(url: str, subject: str, data: bytes, msg_id: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(subject, data, headers={"Nats-Msg-Id": msg_id})
    finally:
        await nc.close()


def _forged(sender: str, signer: Signer) -> tuple[str, bytes]:
    payload = document_pb2.Document(subject="Giả mạo").SerializeToString()
    return seal(
        signer,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=payload,
        signed_at_ms=1_700_000_000_000,
    )


async def test_wrong_key_and_unregistered_sender_are_dead_lettered_and_never_delivered(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    impostor = Signer.generate(G22)  # claims to be G22, with a key the registry never saw
    wrong_id, wrong = _forged(G22, impostor)
    await _publish_raw(nats_server.url, subjects.inbound(G22), wrong, wrong_id)
    stranger = Signer.generate("000.00.00.G99")
    stranger_id, unknown = _forged("000.00.00.G99", stranger)
    await _publish_raw(nats_server.url, subjects.inbound("000.00.00.G99"), unknown, stranger_id)
    # Same key id as G22's real key, but a signature by another key: a bad signature.
    real = stack.adapters[G22].gateway._signer
    forged_sig = envelope_pb2.Envelope.FromString(
        seal(
            real,
            kind=Kind.DOCUMENT,
            recipients=[H49],
            document_id=str(uuid.uuid4()),
            payload=b"",
            signed_at_ms=1,
        )[1]
    )
    forged_sig.signature = impostor.sign(b"truc.v1/envelope\n", forged_sig.header)
    forged_id = envelope_pb2.EnvelopeHeader.FromString(forged_sig.header).message_id
    await _publish_raw(
        nats_server.url, subjects.inbound(G22), forged_sig.SerializeToString(), forged_id
    )

    letters = {
        str(letter["message_id"]): letter for letter in await _dead_letters(nats_server.url, 3)
    }
    assert letters[wrong_id]["code"] == "unknown_key"
    assert letters[stranger_id]["code"] == "unknown_sender"
    assert letters[forged_id]["code"] == "bad_signature"
    assert "does not verify" in str(letters[forged_id]["reason"])

    # Refusals attributable to a member's channel are in the ledger; none reached H49.
    def topics() -> list[str]:
        notifications = stack.ledger.recorder.select_notifications(start=1, limit=1000)
        return [n.topic for n in notifications]

    await eventually(
        lambda: topics().count("ledger.refusal:RefusedMessage.Refused") == 2,
        what="two refusals recorded",
    )
    assert not any("Document" in t for t in topics())
    assert await _inbox(stack, H49) == []


async def test_adapter_refuses_routed_messages_not_signed_by_the_hub(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    message_id, routed = routed_copy(stack, Signer.generate("truc.test"), "x")
    await _publish_raw(nats_server.url, subjects.deliveries(H49), routed, f"{message_id}:x")
    # Then a genuine one: once it is in, the forged one (published first) was dealt with.
    sent = await _send(stack)
    items = await eventually(lambda: _inbox(stack, H49), what="genuine document")
    assert [i.document_id for i in items] == [sent.document_id]


async def test_health_and_reflection_on_adapter_grpc(stack: Stack) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel = grpc.aio.insecure_channel(stack.adapters[H49].address)
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service="truc.v1.DocumentExchange"))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "truc.v1.DocumentExchange" in names


async def test_hub_restart_loses_nothing_acknowledged(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = await start_stack(make_config(nats_server.url), data)
    try:
        before = [(await _send(first, f"trước {i}")).document_id for i in range(3)]
        # The hub stops; adapters keep accepting (JetStream holds the messages).
        await first.stop_hub()
        queued = [
            (await _send(first, f"trong lúc dừng {i}", wait=False)).document_id for i in range(3)
        ]
    finally:
        await first.stop()
    second = await start_stack(make_config(nats_server.url), data)
    try:
        expected = sorted(before + queued)
        for member in (H49, G15):
            items = await eventually(
                lambda m=member: _all_arrived(second, m, len(expected)), what=f"{member} gets all"
            )
            assert sorted(i.document_id for i in items) == expected
        for document_id in expected:
            sent_events = [
                e for e in second.ledger.trace(document_id) if e.event == "Document.Sent"
            ]
            assert len(sent_events) == 1
    finally:
        await second.stop()


async def _all_arrived(
    stack: Stack, member: str, count: int
) -> list[exchange_pb2.InboxItem] | None:
    items = await _inbox(stack, member)
    return items if len(items) >= count else None


async def test_a_captured_message_replayed_later_is_refused_recorded_and_dead_lettered(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    import time

    real = stack.adapters[G22].gateway._signer
    twenty_minutes_ago = time.time_ns() // 1_000_000 - 20 * 60 * 1000
    message_id, old = seal(
        real,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=document_pb2.Document(subject="Bản cũ").SerializeToString(),
        signed_at_ms=twenty_minutes_ago,
    )
    await _publish_raw(nats_server.url, subjects.inbound(G22), old, message_id)
    (letter,) = await _dead_letters(nats_server.url, 1)
    assert letter["message_id"] == message_id
    assert letter["code"] == "replayed_or_stale" and letter["authenticated"] is True
    assert "replay window is 900 s" in str(letter["reason"])
    await eventually(
        lambda: any(
            n.topic.endswith("RefusedMessage.Refused")
            for n in stack.ledger.recorder.select_notifications(start=1, limit=1000)
        ),
        what="the refusal in the ledger",
    )
    assert await _inbox(stack, H49) == []
