"""The standing pull: a lone message is taken at once, a backlog comes in batches of at
most the batch size, in order, none lost or twice; what is asked for never exceeds the
prefetch; what was received and not taken comes again at once after a close; requests that
expire or that a restarted server forgot are made again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats
from adapters.nats.standing_pull import StandingPull, pull_request, refill
from tests.support import eventually

STREAM, DURABLE = "P", "puller"


def test_a_refill_tops_up_to_the_prefetch_only_once_half_of_it_is_missing() -> None:
    assert refill(prefetch=512, buffered=0, asked=0) == 512
    assert refill(prefetch=512, buffered=0, asked=300) == 0  # 212 missing: not yet
    assert refill(prefetch=512, buffered=100, asked=156) == 256
    assert refill(prefetch=512, buffered=512, asked=0) == 0  # all waiting to be taken
    assert refill(prefetch=1, buffered=0, asked=0) == 1
    assert refill(prefetch=8, buffered=7, asked=0) == 1  # nothing asked: ask for what fits


def test_a_pull_request_lingers_with_heartbeats() -> None:
    assert pull_request(64, 5.0, 1.0) == (
        b'{"batch": 64, "expires": 5000000000, "idle_heartbeat": 1000000000}'
    )


def test_expiry_must_leave_room_for_two_heartbeats() -> None:
    with pytest.raises(ValueError, match="expires"):
        StandingPull(NATS(), STREAM, DURABLE, prefetch=8, expires=1.0, heartbeat=0.6)
    with pytest.raises(ValueError, match="prefetch"):
        StandingPull(NATS(), STREAM, DURABLE, prefetch=0)


@pytest_asyncio.fixture
async def nc(nats_server: EmbeddedNats) -> AsyncIterator[NATS]:
    client = await jetstream.connect(nats_server.url, "test-standing-pull")
    js = client.jetstream()
    await js.add_stream(name=STREAM, subjects=["p.>"])
    await js.add_consumer(
        STREAM, ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    )
    try:
        yield client
    finally:
        await jetstream.close(client)


async def test_a_lone_message_then_a_backlog_in_batches_in_order(nc: NATS) -> None:
    js = nc.jetstream()
    pull = await StandingPull.bind(nc, STREAM, DURABLE, prefetch=512)
    try:
        await js.publish("p.x", b"alone")
        started = time.monotonic()
        (first,) = await pull.take(256, timeout=5.0)
        assert first.data == b"alone"
        assert time.monotonic() - started < 2.0  # delivered as stored, not at an expiry
        await first.ack()
        sent = [str(i).encode() for i in range(700)]
        for data in sent:
            await js.publish("p.x", data)
        seen: list[bytes] = []
        while len(seen) < len(sent):
            msgs = await pull.take(256, timeout=5.0)
            assert 1 <= len(msgs) <= 256
            assert pull.buffered + pull.asked <= 512
            for msg in msgs:
                await msg.ack()
            seen += [m.data for m in msgs]
        assert seen == sent  # in order, none lost, none twice
    finally:
        await pull.close()


async def test_a_slow_consumer_leaves_the_backlog_in_the_stream(nc: NATS) -> None:
    js = nc.jetstream()
    for i in range(100):
        await js.publish("p.x", str(i).encode())
    pull = await StandingPull.bind(nc, STREAM, DURABLE, prefetch=16)
    try:
        await eventually(lambda: pull.buffered == 16, what="the prefetch to fill")
        info = await js.consumer_info(STREAM, DURABLE)
        assert info.num_ack_pending == 16  # delivered: only what was asked for
        assert info.num_pending == 84
        assert len(await pull.take(100, timeout=1.0)) == 16
    finally:
        await pull.close()


async def test_what_was_received_and_not_taken_comes_again_at_once_after_close(
    nc: NATS,
) -> None:
    js = nc.jetstream()
    for i in range(10):
        await js.publish("p.x", str(i).encode())
    first = await StandingPull.bind(nc, STREAM, DURABLE, prefetch=10)
    await eventually(lambda: first.buffered == 10, what="ten messages received")
    taken = await first.take(3, timeout=1.0)
    for msg in taken:
        await msg.ack()
    await first.close()  # seven received, never taken: naked, not left to ack_wait (30 s)
    second = await StandingPull.bind(nc, STREAM, DURABLE, prefetch=10)
    try:
        again = await second.take(10, timeout=5.0)
        assert [m.data for m in again] == [str(i).encode() for i in range(3, 10)]
        assert all(m.metadata.num_delivered == 2 for m in again)
    finally:
        await second.close()


async def test_expired_requests_are_made_again(nc: NATS) -> None:
    pull = await StandingPull.bind(nc, STREAM, DURABLE, prefetch=8, expires=0.5, heartbeat=0.2)
    try:
        with pytest.raises(TimeoutError):
            await pull.take(8, timeout=1.2)  # the first request expired (408) meanwhile
        await nc.jetstream().publish("p.x", b"late")
        (late,) = await pull.take(8, timeout=5.0)
        assert late.data == b"late"
    finally:
        await pull.close()


async def test_a_restarted_server_gets_its_requests_again(nats_server: EmbeddedNats) -> None:
    client = await jetstream.connect(nats_server.url, "test-standing-pull-restart")
    js = client.jetstream()
    await js.add_stream(name=STREAM, subjects=["p.>"])
    await js.add_consumer(STREAM, ConsumerConfig(durable_name=DURABLE, ack_wait=30))
    pull = await StandingPull.bind(client, STREAM, DURABLE, prefetch=8, expires=4, heartbeat=0.5)
    try:
        nats_server.stop()  # the server forgets the waiting request
        nats_server.start(keep_ports=True)
        await eventually(lambda: client.is_connected, what="the client to reconnect")

        async def stored() -> bool:
            try:  # JetStream answers once it has recovered the stream
                await js.publish(
                    "p.x", b"after the restart", timeout=0.5, headers={"Nats-Msg-Id": "after"}
                )
            except Exception:
                return False
            return True

        await eventually(stored, what="JetStream to store a message after the restart")
        (msg,) = await pull.take(8, timeout=10.0)
        assert msg.data == b"after the restart"
    finally:
        await pull.close()
        await jetstream.close(client)
