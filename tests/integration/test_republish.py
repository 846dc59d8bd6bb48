"""What an adapter kept but failed to publish goes out again without waiting for a restart.

A publish can fail after the signed message is in the adapter's mailbox (NATS away for a
moment, a cluster electing a leader). The caller is told (UNAVAILABLE); the adapter then
publishes the very same bytes again on its own, and the hub records the message once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
import pytest

from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack
from tests.conftest import document_stub
from tests.support import G22, H49, eventually


async def test_a_failed_publish_is_published_again_and_recorded_once(
    stack: Stack, nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = stack.adapters[G22].gateway
    real_publish = gateway._publish_each
    failures: list[str] = []

    async def flaky_publish(messages: Sequence[tuple[str, bytes]]) -> list[BaseException | None]:
        if not failures:
            failures.extend(message_id for message_id, _ in messages)
            return [ConnectionError("NATS away for a moment") for _ in messages]
        return await real_publish(messages)

    monkeypatch.setattr(gateway, "_publish_each", flaky_publish)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await document_stub(stack, G22).SendDocument(
            exchange_pb2.SendDocumentRequest(
                recipients=[H49],
                document=document_pb2.Document(subject="Gửi lại sau sự cố"),
                document_id="5b0c1f0e-8f5e-4d7e-9a57-1c2f3e4d5a6b",
            ),
            timeout=20,
        )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    (message_id,) = failures
    assert gateway.mailbox.sent(message_id) is not None  # kept, unanswered
    # A republisher on a short period (the adapter's own runs every 30 s).
    gateway.republish_every = 0.2
    task = asyncio.create_task(gateway._republish_unanswered())
    try:

        def answered() -> bool:
            row = gateway.mailbox.sent(message_id)
            return row is not None and row.accepted is True

        await eventually(answered, within=20, what="the hub's receipt for the kept message")
    finally:
        task.cancel()
    recorded = [
        n
        for n in stack.ledger.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith("Document.Sent") and message_id.encode() in n.state
    ]
    assert len(recorded) == 1
