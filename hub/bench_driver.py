"""The agency systems of `truc bench`, in a process of their own.

Load generators share nothing with what they measure: in the hub's process the driver's
gRPC clients competed for the same interpreter lock as the adapters they called, so the
benchmark measured the driver as much as Truc. The parent sends commands over a pipe and
gets numbers back; latencies are taken here, where both the send and the arrival are seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
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


@dataclass(frozen=True)
class OpenLoopResult:
    """An open-loop run: latencies (seconds), and per document id the Unix ms at which it
    was handed to the sender's adapter and received by the recipient's system."""

    latencies: list[float]
    handed_ms: dict[str, float]
    received_ms: dict[str, float]

# How the agency systems call their adapters: "batch", SendDocumentBatch with whatever is
# waiting to go (up to BATCH_MAX, one call in flight per sender) and InboxBatches;
# "stream", one SendDocuments stream per sender and Inbox; "unary", one SendDocument per
# document and one AckInbox per item. With batch and stream, a receiver acknowledges with
# one AckInbox of every item received and not yet acknowledged (one call in flight).
APIS = ("batch", "stream", "unary")
BATCH_MAX = 256


_Sent = asyncio.Future[exchange_pb2.SendDocumentResponse]


def _complete(future: _Sent, result: exchange_pb2.SendDocumentResult) -> None:
    """Finish the send waiting for `result`: its response, or its error as an exception."""
    if result.WhichOneof("outcome") == "error":
        future.set_exception(RuntimeError(f"request {result.index}: {result.error.message}"))
    else:
        future.set_result(result.sent)


class SenderStream:
    """One agency system's SendDocuments call: requests go in as they come, results come
    back in the same order, each completing the send that is waiting for it."""

    def __init__(self, stub: exchange_pb2_grpc.DocumentExchangeStub) -> None:
        self._requests: asyncio.Queue[exchange_pb2.SendDocumentRequest | None] = asyncio.Queue()
        self._waiting: deque[asyncio.Future[exchange_pb2.SendDocumentResponse]] = deque()
        self._call = stub.SendDocuments(self._each())
        self._reader = asyncio.create_task(self._read())

    async def _each(self) -> AsyncIterator[exchange_pb2.SendDocumentRequest]:
        while (request := await self._requests.get()) is not None:
            yield request

    async def _read(self) -> None:
        ended: BaseException = RuntimeError("SendDocuments ended before answering")
        try:
            async for result in self._call:
                _complete(self._waiting.popleft(), result)
        except grpc.aio.AioRpcError as error:
            ended = error
        finally:
            while self._waiting:
                self._waiting.popleft().set_exception(ended)

    async def send(
        self, request: exchange_pb2.SendDocumentRequest
    ) -> exchange_pb2.SendDocumentResponse:
        future: asyncio.Future[exchange_pb2.SendDocumentResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append(future)
        self._requests.put_nowait(request)
        return await future

    async def close(self) -> None:
        self._requests.put_nowait(None)
        try:
            await asyncio.wait_for(self._reader, 10)
        except TimeoutError:
            self._call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class BatchSender:
    """One agency system sending in bulk: documents wait in a queue and go in
    SendDocumentBatch calls of whatever is waiting, each result completing the send that is
    waiting for it. One call in flight: while it runs the next batch grows, and fewer,
    larger batches cost less per document (two in flight measured 3-8% fewer documents/s
    and a p50 15-25 ms higher at 1,000/s)."""

    def __init__(self, stub: exchange_pb2_grpc.DocumentExchangeStub) -> None:
        self._stub = stub
        self._queue: deque[tuple[exchange_pb2.SendDocumentRequest, _Sent]] = deque()
        self._ready = asyncio.Event()
        self._caller = asyncio.create_task(self._call())

    async def _call(self) -> None:
        while True:
            await self._ready.wait()
            taken = [self._queue.popleft() for _ in range(min(BATCH_MAX, len(self._queue)))]
            if not self._queue:
                self._ready.clear()
            try:
                answer = await self._stub.SendDocumentBatch(
                    exchange_pb2.SendDocumentBatchRequest(documents=[r for r, _ in taken]),
                    timeout=60,
                )
            except grpc.aio.AioRpcError as error:
                for _, future in taken:
                    future.set_exception(error)
                continue
            for (_, future), result in zip(taken, answer.results, strict=True):
                _complete(future, result)

    async def send(
        self, request: exchange_pb2.SendDocumentRequest
    ) -> exchange_pb2.SendDocumentResponse:
        future: asyncio.Future[exchange_pb2.SendDocumentResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append((request, future))
        self._ready.set()
        return await future

    async def close(self) -> None:
        self._caller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._caller


class Driver:
    """Agency systems: senders calling SendDocuments (or SendDocument), receivers following
    their Inbox and acknowledging what they received."""

    def __init__(self, addresses: dict[str, str], api: str = "batch") -> None:
        if api not in APIS:
            raise ValueError(f"api: {api!r} is not one of {', '.join(APIS)}")
        self.api = api
        self.members = sorted(addresses)
        self.channels = {m: grpc.aio.insecure_channel(a) for m, a in addresses.items()}
        self.stubs = {
            m: exchange_pb2_grpc.DocumentExchangeStub(c) for m, c in self.channels.items()
        }
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        # The latency run's wall-clock ends, by document id (Unix ms): when the agency
        # system handed each document over, and when its recipient's system received it.
        # hub.bench_stages sets them beside the stack's own timestamps.
        self.handed_ms: dict[str, float] = {}
        self.received_ms: dict[str, float] = {}
        self.received = 0
        self.acknowledged = 0
        self.expected = 0
        self.done = asyncio.Event()
        # Why a receiver stopped (an AckInbox refused): ends the run instead of a timeout.
        self.failure: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._streams: dict[str, SenderStream | BatchSender] = {}
        self._timing = False

    def start_receivers(self) -> None:
        self._tasks = [asyncio.create_task(self._receive(m)) for m in self.members]

    def _received(self, item: exchange_pb2.InboxItem) -> None:
        sent = self.sent_at.pop(item.document_id, None)
        if sent is not None:
            self.latencies.append(time.perf_counter() - sent)
            if item.document_id in self.handed_ms:
                self.received_ms[item.document_id] = time.time() * 1000
        self.received += 1

    def _acknowledged(self, count: int) -> None:
        """Done once every document expected arrived and was acknowledged."""
        self.acknowledged += count
        if self.received >= self.expected and self.acknowledged >= self.received:
            self.done.set()

    async def _receive(self, member: str) -> None:
        stub = self.stubs[member]
        batched = self.api != "unary"
        pending: list[int] = []
        ready = asyncio.Event()
        acker = asyncio.create_task(self._acknowledge(stub, pending, ready)) if batched else None
        try:
            async for item in self._inbox(stub):
                if item.kind != "document":
                    continue
                self._received(item)
                if batched:
                    pending.append(item.delivery_id)
                    ready.set()
                else:
                    await stub.AckInbox(
                        exchange_pb2.AckInboxRequest(delivery_id=item.delivery_id), timeout=60
                    )
                    self._acknowledged(1)
        except Exception as error:
            self._fail(error)
        finally:
            if acker is not None:
                acker.cancel()

    async def _inbox(
        self, stub: exchange_pb2_grpc.DocumentExchangeStub
    ) -> AsyncIterator[exchange_pb2.InboxItem]:
        request = exchange_pb2.InboxRequest(follow=True)
        if self.api != "batch":
            async for item in stub.Inbox(request):
                yield item
            return
        async for batch in stub.InboxBatches(request):
            for item in batch.items:
                yield item

    def _fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error
        self.done.set()

    async def _all_done(self) -> None:
        await asyncio.wait_for(self.done.wait(), 300)
        if self.failure is not None:
            raise RuntimeError(f"an agency system failed: {self.failure!r}") from self.failure

    async def _acknowledge(
        self, stub: exchange_pb2_grpc.DocumentExchangeStub, pending: list[int], ready: asyncio.Event
    ) -> None:
        """One AckInbox at a time, with everything received since the last one."""
        try:
            while True:
                await ready.wait()
                ready.clear()
                batch = pending[:]
                pending.clear()
                answer = await stub.AckInbox(
                    exchange_pb2.AckInboxRequest(delivery_ids=batch), timeout=60
                )
                if answer.unknown_ids:
                    raise RuntimeError(f"AckInbox: unknown delivery ids {list(answer.unknown_ids)}")
                self._acknowledged(len(batch))
        except Exception as error:
            self._fail(error)

    async def send(self, index: int) -> None:
        sender = self.members[index % len(self.members)]
        recipient = self.members[(index + 1) % len(self.members)]
        document_id = str(uuid.uuid4())
        request = exchange_pb2.SendDocumentRequest(
            recipients=[recipient],
            document_id=document_id,
            document=document_pb2.Document(
                subject=f"Công văn số {index} về việc đo hiệu năng trục liên thông",
                content="Nội dung " * 20,
                code=document_pb2.DocumentCode(code_number=str(index), code_notation="UBND-VP"),
            ),
        )
        self.sent_at[document_id] = time.perf_counter()
        if self._timing:
            self.handed_ms[document_id] = time.time() * 1000
        if self.api == "unary":
            await self.stubs[sender].SendDocument(request, timeout=60)
            return
        stream = self._streams.get(sender)
        if stream is None:
            stub = self.stubs[sender]
            stream = self._streams[sender] = (
                BatchSender(stub) if self.api == "batch" else SenderStream(stub)
            )
        await stream.send(request)

    async def throughput(self, documents: int, concurrency: int, first: int) -> float:
        self.expected = self.received + documents
        self.done.clear()
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with semaphore:
                await self.send(i)

        start = time.perf_counter()
        await asyncio.gather(*(one(first + i) for i in range(documents)))
        await self._all_done()
        return documents / (time.perf_counter() - start)

    async def open_loop(self, rate: float, seconds: float, first: int) -> OpenLoopResult:
        """Send at a fixed rate (open loop): the end-to-end latencies, and each document's
        two ends."""
        count = max(1, int(rate * seconds))
        self.latencies.clear()
        self.handed_ms.clear()
        self.received_ms.clear()
        self._timing = True
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
        await self._all_done()
        self._timing = False
        return OpenLoopResult(list(self.latencies), dict(self.handed_ms), dict(self.received_ms))

    async def close(self) -> None:
        for stream in self._streams.values():
            await stream.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.channels.values():
            await channel.close()


async def _serve(conn: Connection, addresses: dict[str, str], api: str) -> None:
    loop = asyncio.get_running_loop()
    driver = Driver(addresses, api)
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


def main(conn: Connection, addresses: dict[str, str], api: str = "batch") -> None:
    """Child-process entry point (multiprocessing, spawn)."""
    from hub.runtime import run

    run(_serve(conn, addresses, api))
