"""Routed messages in bundles: an adapter takes each item of a bundle as if it came alone
(checks, mailbox, inbox), refuses a bad item without losing the others, and acknowledges
the bundle once everything in it is kept."""

from __future__ import annotations

import nats

from adapters.crypto import Signer
from adapters.envelope import ProtobufCodec
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import exchange_pb2
from hub import subjects
from hub.bootstrap import Stack
from tests.conftest import document_stub
from tests.support import H49, eventually, routed_copy


async def _inbox_ids(stack: Stack) -> list[str]:
    stub = document_stub(stack, H49)
    request = exchange_pb2.InboxRequest(include_acknowledged=True)
    return [item.message_id async for item in stub.Inbox(request)]


async def _settled(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(
            subjects.OUT_STREAM, subjects.delivery_consumer(H49)
        )
        return info.num_ack_pending == 0 and info.num_pending == 0
    finally:
        await nc.close()


async def test_each_item_of_a_bundle_arrives_and_a_forged_one_is_refused_alone(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    genuine = [routed_copy(stack, stack.hub_signer, f"Gói {i}") for i in range(3)]
    forged_id, forged = routed_copy(stack, Signer.generate("truc.test"), "Giả mạo")
    items = [genuine[0][1], forged, genuine[1][1], genuine[2][1]]
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().publish(
            subjects.deliveries(H49),
            ProtobufCodec(stack.hub_signer).bundle(items),
            headers={
                "Nats-Msg-Id": "bundle-test",
                subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE,
            },
        )
    finally:
        await nc.close()
    expected = [message_id for message_id, _ in genuine]

    async def arrived() -> list[str]:
        ids = await _inbox_ids(stack)
        return ids if set(expected) <= set(ids) else []

    ids = await eventually(arrived, within=20, what="the bundle's three genuine documents")
    assert forged_id not in ids and [i for i in ids if i in expected] == expected
    await eventually(lambda: _settled(nats_server.url), within=20, what="the bundle settled")


async def test_an_unreadable_bundle_is_set_aside_and_the_stream_moves_on(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().publish(
            subjects.deliveries(H49),
            b"\xff\xff not a bundle",
            headers={"Nats-Msg-Id": "junk", subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE},
        )
    finally:
        await nc.close()
    message_id, routed = routed_copy(stack, stack.hub_signer, "Sau gói hỏng")
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().publish(
            subjects.deliveries(H49), routed, headers={"Nats-Msg-Id": message_id}
        )
    finally:
        await nc.close()

    async def arrived() -> bool:
        return message_id in await _inbox_ids(stack)

    await eventually(arrived, within=20, what="the document after the unreadable bundle")
    await eventually(lambda: _settled(nats_server.url), within=20, what="both settled")
