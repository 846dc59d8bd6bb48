"""The reference postal service over real gRPC (loopback) and the postal worker's ordering:
idempotency keys, injected failures, order states with a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from adapters.pb.truc.v1 import postal_pb2, postal_pb2_grpc
from adapters.postal.reference import ReferencePostal, ReferenceSettings, start_reference_postal
from adapters.postal.worker import RetryPolicy, tracking_message_id

CODE = "000.01.01.H49-260428-0001"


class Clock:
    def __init__(self) -> None:
        self.ms = 1_780_000_000_000

    def __call__(self) -> int:
        return self.ms


def order(key: str, kind: int = postal_pb2.ORDER_KIND_DELIVERY) -> postal_pb2.CreateOrderRequest:
    return postal_pb2.CreateOrderRequest(
        idempotency_key=key,
        order=postal_pb2.PostalOrder(order_id=key, kind=kind, dossier_code=CODE),
    )


@pytest_asyncio.fixture
async def clock() -> Clock:
    return Clock()


async def _start(tmp_path: Path, clock: Clock, **settings: object) -> ReferencePostal:
    # A step longer than any test: states move only when the test moves the clock.
    return await start_reference_postal(
        tmp_path / "orders.sqlite3",
        ReferenceSettings(step_seconds=3600, seed=7, **settings),  # type: ignore[arg-type]
        clock,
    )


@pytest_asyncio.fixture
async def operator(
    tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[ReferencePostal, postal_pb2_grpc.PostalOperatorStub]]:
    running = await _start(tmp_path, clock, lose_replies=1)
    channel = grpc.aio.insecure_channel(running.url)
    try:
        yield running, postal_pb2_grpc.PostalOperatorStub(channel)
    finally:
        await channel.close()
        await running.stop()


async def test_a_lost_reply_then_a_retry_makes_one_order(
    operator: tuple[ReferencePostal, postal_pb2_grpc.PostalOperatorStub], clock: Clock
) -> None:
    running, stub = operator
    with pytest.raises(grpc.aio.AioRpcError) as lost:
        await stub.CreateDeliveryOrder(order("o-1"))
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    first = await stub.CreateDeliveryOrder(order("o-1"))
    again = await stub.CreateDeliveryOrder(order("o-1"))
    assert first.order_number == again.order_number and running.service.store.count() == 1
    assert first.state == postal_pb2.ORDER_STATE_REGISTERED
    other = await stub.CreatePickupOrder(order("o-2", postal_pb2.ORDER_KIND_PICKUP))
    assert other.order_number != first.order_number and running.service.store.count() == 2


async def test_orders_move_registered_collecting_delivered_and_tracking_follows(
    operator: tuple[ReferencePostal, postal_pb2_grpc.PostalOperatorStub], clock: Clock
) -> None:
    running, stub = operator
    store = running.service.store
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.CreateDeliveryOrder(order("o-1"))  # the injected lost reply; stored anyway
    cancelled = await stub.CreatePickupOrder(order("o-2", postal_pb2.ORDER_KIND_PICKUP))
    assert (await stub.CancelOrder(postal_pb2.GetOrderRequest(idempotency_key="o-2"))).state == 4
    for _ in range(3):
        clock.ms += 3_600_000
        store.advance(clock(), running.service.step_ms)
    got = await stub.GetOrder(postal_pb2.GetOrderRequest(idempotency_key="o-1"))
    assert got.state == postal_pb2.ORDER_STATE_DELIVERED
    events = (await stub.PollTracking(postal_pb2.TrackingRequest())).events
    assert [(e.idempotency_key, e.state) for e in events] == [
        ("o-1", 1),
        ("o-2", 1),
        ("o-2", 4),
        ("o-1", 2),
        ("o-1", 3),
    ]
    later = await stub.PollTracking(postal_pb2.TrackingRequest(after_sequence=events[2].sequence))
    assert [e.sequence for e in later.events] == [e.sequence for e in events[3:]]
    assert (
        await stub.GetOrder(postal_pb2.GetOrderRequest(order_number=cancelled.order_number))
    ).state == 4
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetOrder(postal_pb2.GetOrderRequest(order_number="nope"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_calls_without_an_idempotency_key_or_at_the_wrong_method_are_refused(
    operator: tuple[ReferencePostal, postal_pb2_grpc.PostalOperatorStub],
) -> None:
    _, stub = operator
    for call, request in (
        (stub.CreateDeliveryOrder, order("")),
        (stub.CreatePickupOrder, order("o-3", postal_pb2.ORDER_KIND_DELIVERY)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_busy_operator_refuses_at_the_configured_rate(tmp_path: Path, clock: Clock) -> None:
    running = await _start(tmp_path, clock, fail_rate=0.5)
    channel = grpc.aio.insecure_channel(running.url)
    stub = postal_pb2_grpc.PostalOperatorStub(channel)
    try:
        refused = 0
        for i in range(40):
            try:
                await stub.CreateDeliveryOrder(order(f"o-{i}"))
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                refused += 1
        assert 8 <= refused <= 32 and running.service.store.count() == 40 - refused
    finally:
        await channel.close()
        await running.stop()


def test_tracking_message_ids_are_stable_per_order_and_sequence() -> None:
    assert tracking_message_id("o-1", 3) == tracking_message_id("o-1", 3)
    assert tracking_message_id("o-1", 3) != tracking_message_id("o-1", 4)
    assert RetryPolicy().attempts > 1
