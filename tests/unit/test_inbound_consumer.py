"""InboundConsumer: the next batch is prepared while the previous one publishes, yet
publications keep their order, nothing is acknowledged before it is published, and a batch
whose publication fails is taken apart without overtaking the one behind it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from hub.inbound import InboundConsumer
from hub.service import BatchReport, HubService, Inbound, Prepared
from tests.support import eventually


@dataclass
class FakeMsg:
    """What the consumer reads of a NATS message, and what it did with it."""

    data: bytes
    subject: str = "truc.in.G22"
    headers: dict[str, str] | None = None
    done: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> Any:
        raise AttributeError("not a JetStream message")

    async def ack(self) -> None:
        self.done.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.done.append("nak")

    async def term(self) -> None:
        self.done.append("term")


@dataclass
class FakeService:
    """Records the order of prepares and publishes; a publication of a batch whose first
    item is in `held` waits for its event; one in `failing` raises once."""

    log: list[str] = field(default_factory=list)
    held: dict[bytes, asyncio.Event] = field(default_factory=dict)
    failing: set[bytes] = field(default_factory=set)

    async def prepare(self, batch: list[Inbound]) -> Prepared:
        self.log.append("prepare " + b",".join(i.data for i in batch).decode())
        report = BatchReport(accepted=len(batch))
        return Prepared(report, [cast(Any, i.data) for i in batch])

    async def publish(self, prepared: Prepared) -> BatchReport:
        names = b",".join(cast(list[bytes], prepared.publications))
        first = cast(list[bytes], prepared.publications)[0]
        self.log.append("publishing " + names.decode())
        if first in self.held:
            await self.held[first].wait()
        if first in self.failing:
            self.failing.discard(first)
            self.log.append("failed " + names.decode())
            raise RuntimeError("JetStream away")
        self.log.append("published " + names.decode())
        return prepared.report

    async def process(self, batch: list[Inbound]) -> BatchReport:
        return await self.publish(await self.prepare(batch))


def consumer(service: FakeService) -> tuple[InboundConsumer, list[BatchReport]]:
    observed: list[BatchReport] = []
    return InboundConsumer(cast(HubService, service), observed.append), observed


async def test_the_next_batch_is_prepared_while_the_previous_one_publishes() -> None:
    release = asyncio.Event()
    service = FakeService(held={b"a": release})
    inbound, observed = consumer(service)
    first, second = [FakeMsg(b"a")], [FakeMsg(b"b")]

    # Returns with the first batch still publishing (a handler that waited would time out).
    await asyncio.wait_for(inbound.handle(cast(Any, first)), 5)
    await eventually(lambda: "publishing a" in service.log, what="the first publication")
    # The pull loop calls again at once: the second batch is prepared meanwhile...
    handled = asyncio.create_task(inbound.handle(cast(Any, second)))
    await eventually(lambda: "prepare b" in service.log, what="the second batch prepared")
    # ...but not published, nor is anything acknowledged, before the first is published.
    assert "publishing b" not in service.log
    assert first[0].done == [] and second[0].done == []
    release.set()
    await handled
    await inbound.drain()
    assert service.log == [
        "prepare a",
        "publishing a",
        "prepare b",
        "published a",
        "publishing b",
        "published b",
    ]
    assert first[0].done == ["ack"] and second[0].done == ["ack"]
    assert [r.accepted for r in observed] == [1, 1]


async def test_a_failed_publication_is_retried_alone_before_the_next_batch_publishes() -> None:
    service = FakeService(failing={b"a"})
    inbound, _ = consumer(service)
    first = [FakeMsg(b"a"), FakeMsg(b"c")]
    second = [FakeMsg(b"b")]

    await inbound.handle(cast(Any, first))
    await inbound.handle(cast(Any, second))
    await inbound.drain()
    log = service.log
    # Taken apart: each message of the failed batch published alone, then the next batch.
    assert log.index("failed a,c") < log.index("published a") < log.index("published b")
    assert log.index("published c") < log.index("publishing b")
    assert [m.done for m in first] == [["ack"], ["ack"]] and second[0].done == ["ack"]


async def test_drain_without_a_batch_in_flight_returns() -> None:
    inbound, observed = consumer(FakeService())
    await asyncio.wait_for(inbound.drain(), 1)
    assert observed == []


async def test_a_failure_to_observe_a_published_batch_neither_stops_its_ack_nor_the_next() -> None:
    service = FakeService()
    seen: list[BatchReport] = []

    def observe(report: BatchReport) -> None:
        seen.append(report)
        if len(seen) == 1:
            raise RuntimeError("a metrics bug")

    inbound = InboundConsumer(cast(HubService, service), observe)
    first, second = [FakeMsg(b"a")], [FakeMsg(b"b")]
    await inbound.handle(cast(Any, first))
    await inbound.handle(cast(Any, second))  # does not inherit the first batch's error
    await inbound.drain()
    assert first[0].done == ["ack"] and second[0].done == ["ack"]
    assert len(seen) == 2
