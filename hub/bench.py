"""`truc bench`: the whole path under load, measured against a raw JetStream baseline taken
in the same run on the same machine, so the ratio means something.

End to end = from the sending agency system's `SendDocument` call to the recipient agency
system receiving the document on its `Inbox` stream (which it then acknowledges, so the
signed delivery proofs are part of the load too). Ledger, signatures and countersignatures
are all on the path.
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2, exchange_pb2_grpc
from hub import subjects
from hub.bootstrap import Stack, start_stack
from hub.config import HubConfig, parse_config

Say = Callable[[str], None]


@dataclass
class BenchResult:
    agencies: int
    documents: int
    docs_per_s: float
    baseline_jetstream_per_s: float
    ratio: float
    latency_ms: dict[str, float]
    latency_rate_per_s: float
    cpu_ms_per_doc: float
    machine: dict[str, Any] = field(default_factory=dict)


def bench_members(agencies: int) -> list[str]:
    return [f"000.00.{i:02d}.H{40 + i:02d}" for i in range(1, agencies + 1)]


def bench_config(agencies: int, nats_url: str) -> HubConfig:
    return parse_config(
        {
            "hub": {"name": "truc.bench", "nats_url": nats_url, "batch_size": 512},
            "ledger": {"backend": "sqlite"},
            "members": [{"code": code, "name": code} for code in bench_members(agencies)],
            "routes": [{"senders": "*", "recipients": "*"}],
        },
        "<bench>",
    )


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time of this process plus helper processes (nats-server), from /proc."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


async def jetstream_baseline(url: str, count: int, size: int) -> float:
    """Raw JetStream: pipelined publishes with dedup ids, then a pull consumer draining them."""
    nc = await jetstream.connect(url, "truc-bench-baseline")
    try:
        js = nc.jetstream()
        await js.add_stream(name="BENCH", subjects=["bench.>"], duplicate_window=120.0)
        payload = os.urandom(size)
        start = time.perf_counter()
        futures = [
            await js.publish_async("bench.x", payload, headers={"Nats-Msg-Id": str(i)})
            for i in range(count)
        ]
        await asyncio.gather(*futures)
        sub = await js.pull_subscribe("bench.>", durable="bench", stream="BENCH")
        seen = 0
        while seen < count:
            msgs = await sub.fetch(min(512, count - seen), timeout=5)
            for msg in msgs:
                await msg.ack()
            seen += len(msgs)
        elapsed = time.perf_counter() - start
        await js.delete_stream("BENCH")
        return count / elapsed
    finally:
        await jetstream.close(nc)


class Driver:
    """Agency systems: senders calling SendDocument, receivers following their Inbox."""

    def __init__(self, stack: Stack, members: list[str]) -> None:
        self.members = members
        self.stubs = {
            m: exchange_pb2_grpc.DocumentExchangeStub(
                grpc.aio.insecure_channel(stack.adapters[m].address)
            )
            for m in members
        }
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.received = 0
        self.done = asyncio.Event()
        self.expected = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start_receivers(self) -> None:
        self._tasks = [asyncio.create_task(self._receive(m)) for m in self.members]

    async def _receive(self, member: str) -> None:
        stub = self.stubs[member]
        stream = stub.Inbox(exchange_pb2.InboxRequest(follow=True))
        async for item in stream:
            if item.kind != "document":
                continue
            sent = self.sent_at.get(item.document_id)
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

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _throughput(driver: Driver, documents: int, concurrency: int) -> float:
    driver.expected = driver.received + documents
    driver.done.clear()
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await driver.send(i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(documents)))
    await asyncio.wait_for(driver.done.wait(), 300)
    return documents / (time.perf_counter() - start)


async def _latency(driver: Driver, rate: float, seconds: float) -> list[float]:
    """Send at a fixed rate (open loop) and return the end-to-end latencies, in seconds."""
    count = max(1, int(rate * seconds))
    driver.latencies.clear()
    driver.expected = driver.received + count
    driver.done.clear()
    start = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the open-loop load generator, not synchronising
        tasks.append(asyncio.create_task(driver.send(1_000_000 + i)))
    await asyncio.gather(*tasks)
    await asyncio.wait_for(driver.done.wait(), 300)
    return list(driver.latencies)


async def _drained(stack: Stack, within: float = 300.0) -> None:
    """Wait until the hub's inbound consumer has nothing pending or unacknowledged."""
    js = stack.hub_nc.jetstream()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        info = await js.consumer_info(subjects.IN_STREAM, subjects.HUB_CONSUMER)
        if not info.num_pending and not info.num_ack_pending:
            return
        await asyncio.sleep(0.05)  # polling consumer state against a deadline


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_bench(
    *,
    agencies: int = 4,
    documents: int = 2000,
    concurrency: int = 128,
    latency_rate: float = 1000.0,
    latency_seconds: float = 5.0,
    nats_url: str = "",
    say: Say = lambda _line: None,
) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="truc-bench-") as tmp:
        root = Path(tmp)
        embedded = None
        if not nats_url:
            embedded = EmbeddedNats(store_dir=root / "nats", server_name="truc-bench").start()
            nats_url = embedded.url
        try:
            say(f"baseline: raw JetStream publish+consume of {documents} messages on {nats_url}")
            baseline = await jetstream_baseline(nats_url, documents, 1024)
            say(f"baseline: {baseline:,.0f} msg/s")
            stack = await start_stack(bench_config(agencies, nats_url), root / "data")
            driver = Driver(stack, bench_members(agencies))
            driver.start_receivers()
            try:
                say("warm-up")
                await _throughput(driver, min(200, documents), concurrency)
                pids = [embedded.pid] if embedded and embedded.pid else []
                cpu_before = _cpu_seconds(pids)
                say(f"throughput: {documents} documents from {agencies} agencies")
                rate = await _throughput(driver, documents, concurrency)
                cpu = _cpu_seconds(pids) - cpu_before
                say(f"throughput: {rate:,.0f} documents/s")
                # Deliveries (the recipients' signed proofs) are still queued for the hub: let
                # them drain so the latency run does not start behind a backlog.
                await _drained(stack)
                say(f"latency: {latency_rate:.0f} documents/s for {latency_seconds:.0f} s")
                latencies = await _latency(driver, latency_rate, latency_seconds)
            finally:
                await driver.stop()
                await stack.stop()
        finally:
            if embedded:
                embedded.stop()
    return BenchResult(
        agencies=agencies,
        documents=documents,
        docs_per_s=round(rate, 1),
        baseline_jetstream_per_s=round(baseline, 1),
        ratio=round(rate / baseline, 3),
        latency_ms={
            "p50": round(_percentile(latencies, 0.50) * 1000, 2),
            "p99": round(_percentile(latencies, 0.99) * 1000, 2),
            "mean": round(statistics.fmean(latencies) * 1000, 2) if latencies else float("nan"),
        },
        latency_rate_per_s=latency_rate,
        cpu_ms_per_doc=round(cpu * 1000 / documents, 3),
        machine={
            "cpus": os.cpu_count() or 0,
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    )
