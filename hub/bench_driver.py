"""The agency systems of `truc bench`, in a process of their own.

Load generators share nothing with what they measure: in the hub's process the driver's
gRPC clients competed for the same interpreter lock as the adapters they called, so the
benchmark measured the driver as much as Truc. The parent sends commands over a pipe and
gets numbers back; latencies are taken here, where both the send and the arrival are seen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import grpc

from adapters.pb.truc.v1 import document_pb2, exchange_pb2, exchange_pb2_grpc


@dataclass(frozen=True)
class Throughput:
    documents: int
    concurrency: int


@dataclass(frozen=True)
class OpenLoop:
    rate: float
    seconds: float


@dataclass(frozen=True)
class Stop:
    pass


Command = Throughput | OpenLoop | Stop


class Driver:
    """Agency systems: senders calling SendDocument, receivers following their Inbox."""

    def __init__(self, addresses: dict[str, str]) -> None:
        self.members = sorted(addresses)
        self.channels = {m: grpc.aio.insecure_channel(a) for m, a in addresses.items()}
        self.stubs = {
            m: exchange_pb2_grpc.DocumentExchangeStub(c) for m, c in self.channels.items()
        }
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.received = 0
        self.expected = 0
        self.done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start_receivers(self) -> None:
        self._tasks = [asyncio.create_task(self._receive(m)) for m in self.members]

    async def _receive(self, member: str) -> None:
        stub = self.stubs[member]
        async for item in stub.Inbox(exchange_pb2.InboxRequest(follow=True)):
            if item.kind != "document":
                continue
            sent = self.sent_at.pop(item.document_id, None)
            if sent is not None:
                self.latencies.append(time.perf_counter() - sent)
            self.received += 1
            await stub.AckInbox(exchange_pb2.AckInboxRequest(delivery_id=item.delivery_id))
            if self.received >= self.expected:
                self.done.set()

    async def send(self, index: int) -> None:
        sender = self.members[index % len(self.members)]
        recipient = self.members[(index + 1) % len(self.members)]
        document_id = str(uuid.uuid4())
        self.sent_at[document_id] = time.perf_counter()
        await self.stubs[sender].SendDocument(
            exchange_pb2.SendDocumentRequest(
                recipients=[recipient],
                document_id=document_id,
                document=document_pb2.Document(
                    subject=f"Công văn số {index} về việc đo hiệu năng trục liên thông",
                    content="Nội dung " * 20,
                    code=document_pb2.DocumentCode(code_number=str(index), code_notation="UBND-VP"),
                ),
            ),
            timeout=60,
        )

    async def throughput(self, documents: int, concurrency: int, first: int) -> float:
        self.expected = self.received + documents
        self.done.clear()
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with semaphore:
                await self.send(i)

        start = time.perf_counter()
        await asyncio.gather(*(one(first + i) for i in range(documents)))
        await asyncio.wait_for(self.done.wait(), 300)
        return documents / (time.perf_counter() - start)

    async def open_loop(self, rate: float, seconds: float, first: int) -> list[float]:
        """Send at a fixed rate (open loop) and return the end-to-end latencies, seconds."""
        count = max(1, int(rate * seconds))
        self.latencies.clear()
        self.expected = self.received + count
        self.done.clear()
        start = time.perf_counter()
        tasks = []
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the open-loop load, not synchronising
            tasks.append(asyncio.create_task(self.send(first + i)))
        await asyncio.gather(*tasks)
        await asyncio.wait_for(self.done.wait(), 300)
        return list(self.latencies)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.channels.values():
            await channel.close()


async def _serve(conn: Connection, addresses: dict[str, str]) -> None:
    loop = asyncio.get_running_loop()
    driver = Driver(addresses)
    driver.start_receivers()
    sent = 0
    try:
        while True:
            command: Command = await loop.run_in_executor(None, conn.recv)
            answer: Any
            if isinstance(command, Throughput):
                answer = await driver.throughput(command.documents, command.concurrency, sent)
                sent += command.documents
            elif isinstance(command, OpenLoop):
                answer = await driver.open_loop(command.rate, command.seconds, sent)
                sent += int(command.rate * command.seconds) + 1
            else:
                return
            conn.send(answer)
    except BaseException as error:  # report, so the parent does not wait forever
        conn.send(error)
        raise
    finally:
        await driver.close()


def main(conn: Connection, addresses: dict[str, str]) -> None:
    """Child-process entry point (multiprocessing, spawn)."""
    from hub.runtime import run

    run(_serve(conn, addresses))
