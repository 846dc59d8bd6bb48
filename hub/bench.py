"""`truc bench`: the whole path under load, measured against a raw JetStream baseline taken
in the same run on the same machine, so the ratio means something.

End to end = from the sending agency system handing the document to its adapter (in a
`SendDocumentBatch` call, with `api="stream"` a request on its `SendDocuments` stream, with
`api="unary"` a `SendDocument` call) to the recipient agency system receiving it (on its
`InboxBatches` or `Inbox` stream; it then acknowledges, in batches or one `AckInbox` per
item, so the signed delivery proofs are part of the load too). Ledger, signatures and
countersignatures are all on the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats
from hub import bench_driver, bench_stages, runtime, subjects
from hub.bench_errors import BenchError
from hub.bench_ledger import run_ledger_bench
from hub.bootstrap import start_stack
from hub.config import HubConfig, parse_config
from hub.role_process import RoleProcess, RoleProcessError, adapter_addresses
from ledger.application import Ledger
from ledger.storage import PostgresStorage, SqliteStorage, Storage

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
    # CPU of Truc (hub, adapters, ledger) and its nats-server, per document.
    cpu_ms_per_doc: float
    # CPU of the load generator (the agency systems' gRPC clients), reported apart.
    driver_cpu_ms_per_doc: float = 0.0
    cpu_ms_per_doc_by_process: dict[str, float] = field(default_factory=dict)
    event_loop: str = "asyncio"
    processes: str = ""
    ledger_backend: str = "sqlite"
    # How the agency systems called their adapters (hub.bench_driver.APIS).
    api: str = "batch"
    # The ledger alone (hub.bench_ledger): recording with the Merkle log, and replay.
    ledger_events_per_s: float | None = None
    replay_events_per_s: float | None = None
    # Where the latency run's documents spent their time (hub.bench_stages): per stage,
    # p50 / p90 / p99 ms and how many documents were seen at both ends.
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)


def bench_members(agencies: int) -> list[str]:
    return [f"000.00.{i:02d}.H{40 + i:02d}" for i in range(1, agencies + 1)]


def bench_toml(agencies: int, nats_url: str, postgres: PostgresStorage | None = None) -> str:
    """The bench's configuration as a file: both the in-process stack and the role processes
    read this one text, so the two layouts measure the same deployment."""
    lines = [
        "[hub]",
        'name = "truc.bench"',
        f'nats_url = "{nats_url}"',
        "batch_size = 512",
        "",
        "[ledger]",
    ]
    if postgres is None:
        lines.append('backend = "sqlite"')
    else:
        lines += [
            'backend = "postgres"',
            "[ledger.postgres]",
            f'dbname = "{postgres.dbname}"',
            f'host = "{postgres.host}"',
            f"port = {postgres.port}",
            f'user = "{postgres.user}"',
            f'password = "{postgres.password}"',
            f'schema = "{postgres.schema}"',
        ]
    for code in bench_members(agencies):
        lines += ["", "[[members]]", f'code = "{code}"', f'name = "{code}"']
    lines += ["", "[[routes]]", 'senders = "*"', 'recipients = "*"', ""]
    return "\n".join(lines)


def bench_config(
    agencies: int, nats_url: str, postgres: PostgresStorage | None = None
) -> HubConfig:
    return parse_config(tomllib.loads(bench_toml(agencies, nats_url, postgres)), "<bench>")


def _cpu_seconds(pids: list[int], *, own: bool = True) -> float:
    """CPU time of this process (unless `own` is False) plus `pids`, from /proc."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime if own else 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


async def wait_until_quiet(
    pids: list[int], *, own: bool, idle_share: float = 0.05, within: float = 120.0
) -> float:
    """Wait until the stack has gone quiet: the last phase's delivery proofs judged and
    recorded, and its events in the Merkle log and the read models (which follow the ledger
    in the background). Quiet is under `idle_share` of a core for two 0.1 s windows in a
    row. So a phase's CPU includes all the work its documents caused, and the next phase
    does not start behind a backlog the previous one left. Returns the seconds waited."""
    started = time.monotonic()
    deadline = started + within
    quiet = 0
    before = _cpu_seconds(pids, own=own)
    while quiet < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # sampling CPU over a window, against a deadline
        now = _cpu_seconds(pids, own=own)
        quiet = quiet + 1 if now - before < idle_share * 0.1 else 0
        before = now
    return time.monotonic() - started


async def _stages(
    nats_url: str,
    config: HubConfig,
    data_dir: Path,
    since: datetime,
    run: bench_driver.OpenLoopResult,
) -> dict[str, dict[str, float]]:
    """The stage trace of the documents the hub received from `since` on (the stack is
    stopped; its NATS, ledger and mailboxes are still there), with the agency systems'
    ends of the open-loop `run`."""
    loop = asyncio.get_running_loop()
    ledger = await loop.run_in_executor(None, Ledger, config.storage(data_dir))
    nc = await jetstream.connect(nats_url, "truc-bench-stages")
    try:
        mailboxes = sorted((data_dir / "adapters").glob("*/mailbox.sqlite3"))
        return await bench_stages.trace(
            nc, ledger, mailboxes, since, run.handed_ms, run.received_ms
        )
    finally:
        await jetstream.close(nc)
        await loop.run_in_executor(None, ledger.close)


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


class DriverProcess:
    """The agency systems (hub.bench_driver) in a child process, driven over a pipe."""

    def __init__(self, addresses: dict[str, str], api: str = "batch") -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=bench_driver.main, args=(child, addresses, api), name="truc-bench-driver"
        )
        self._process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    async def ask(self, command: bench_driver.Command) -> Any:
        self._conn.send(command)
        answer = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        if isinstance(answer, BaseException):
            raise RuntimeError(f"bench driver failed: {answer!r}") from answer
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(bench_driver.Stop())
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


async def _drained(nats_url: str, within: float = 300.0) -> None:
    """Wait until the hub's inbound consumer has nothing pending or unacknowledged."""
    nc = await jetstream.connect(nats_url, "truc-bench-monitor")
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            info = await js.consumer_info(subjects.IN_STREAM, subjects.HUB_CONSUMER)
            if not info.num_pending and not info.num_ack_pending:
                return
            await asyncio.sleep(0.05)  # polling consumer state against a deadline
    finally:
        await jetstream.close(nc)


def postgres_from_url(url: str) -> PostgresStorage:
    """`postgresql://user[:password]@host[:port]/dbname` as storage settings."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
        raise BenchError(f"--postgres: {url!r} is not postgresql://user@host[:port]/dbname")
    return PostgresStorage(
        dbname=parsed.path.strip("/"),
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
    )


@contextlib.contextmanager
def fresh_schema(base: PostgresStorage) -> Iterator[PostgresStorage]:
    """A schema of the bench's own in `base`'s database, dropped afterwards: the bench never
    writes into anybody's ledger."""
    import psycopg

    schema = f"truc_bench_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(
            host=base.host,
            port=base.port,
            user=base.user,
            password=base.password or None,
            dbname=base.dbname,
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.Error as error:
        raise BenchError(f"--postgres: cannot connect to {base.describe()}: {error}") from error
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield replace(base, schema=schema)
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.asynccontextmanager
async def _stack(
    split: bool, config_path: Path, root: Path, config: HubConfig
) -> AsyncIterator[tuple[dict[str, str], list[int], bool]]:
    """The stack under test: (adapter addresses, Truc's process ids, whether this process
    is one of them)."""
    data = root / "data"
    if not split:
        stack = await start_stack(config, data)
        try:
            yield {m: a.address for m, a in stack.adapters.items()}, [], True
        finally:
            await stack.stop()
        return
    roles = [
        RoleProcess("hub", config_path, data, ("--no-followers",), log_dir=root),
        RoleProcess("followers", config_path, data, log_dir=root),
        RoleProcess("adapters", config_path, data, log_dir=root),
    ]
    started: list[RoleProcess] = []
    try:
        for role in roles:  # in this order: the others find the hub's NATS through it
            try:
                started.append(await role.start(90))
            except RoleProcessError as error:
                raise BenchError(str(error)) from None
        hub, followers, adapters = started
        addresses = adapter_addresses(adapters.ready_line())
        yield addresses, [hub.pid, adapters.pid, followers.pid], False
    finally:
        for role in reversed(started):
            await role.terminate()


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
    postgres: str = "",
    ledger_events: int = 50_000,
    split: bool = True,
    api: str = "batch",
    say: Say = lambda _line: None,
) -> BenchResult:
    if api not in bench_driver.APIS:
        raise BenchError(f"--api: {api!r} is not one of {', '.join(bench_driver.APIS)}")
    base = postgres_from_url(postgres) if postgres else None
    with contextlib.ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="truc-bench-")))
        ledger = None
        if ledger_events:
            storage: Storage = (
                cleanup.enter_context(fresh_schema(base))
                if base is not None
                else SqliteStorage(root / "ledger-bench.sqlite3")
            )
            say(f"ledger alone: {ledger_events:,} events on {storage.describe()}")
            ledger = await asyncio.get_running_loop().run_in_executor(
                None, lambda: run_ledger_bench(storage, ledger_events, say=say)
            )
        stack_ledger = cleanup.enter_context(fresh_schema(base)) if base is not None else None
        embedded = None
        if not nats_url:
            embedded = EmbeddedNats(store_dir=root / "nats", server_name="truc-bench").start()
            nats_url = embedded.url
        try:
            say(f"baseline: raw JetStream publish+consume of {documents} messages on {nats_url}")
            baseline = await jetstream_baseline(nats_url, documents, 1024)
            say(f"baseline: {baseline:,.0f} msg/s")
            config_path = root / "truc.toml"
            config_path.write_text(bench_toml(agencies, nats_url, stack_ledger), encoding="utf-8")
            config = bench_config(agencies, nats_url, stack_ledger)
            layout = (
                "hub, ledger followers and adapters in processes of their own"
                if split
                else "one process"
            )
            say(f"stack: {layout}")
            async with _stack(split, config_path, root, config) as (addresses, truc_pids, own):
                driver = DriverProcess(addresses, api)
                try:
                    say(
                        f"warm-up (agency systems in process {driver.pid}, {runtime.loop_name()},"
                        f" {api} API)"
                    )
                    await driver.ask(bench_driver.Throughput(min(200, documents), concurrency))
                    await _drained(nats_url)
                    pids = truc_pids + ([embedded.pid] if embedded and embedded.pid else [])
                    await wait_until_quiet(pids, own=own)
                    names = (["hub", "adapters", "followers"] if split else []) + (
                        ["nats-server"] if embedded and embedded.pid else []
                    )
                    each_before = [_cpu_seconds([pid], own=False) for pid in pids]
                    truc_before = _cpu_seconds(pids, own=own)
                    driver_before = _cpu_seconds([driver.pid], own=False)
                    say(f"throughput: {documents} documents from {agencies} agencies")
                    rate = await driver.ask(bench_driver.Throughput(documents, concurrency))
                    driver_cpu = _cpu_seconds([driver.pid], own=False) - driver_before
                    say(f"throughput: {rate:,.0f} documents/s")
                    # The recipients' delivery proofs are still queued for the hub, and the
                    # Merkle log and read models follow the ledger: their work is the
                    # documents' too, and the latency run must not start behind it.
                    await _drained(nats_url)
                    settling = await wait_until_quiet(pids, own=own)
                    cpu = _cpu_seconds(pids, own=own) - truc_before
                    say(f"throughput: the stack settled {settling:.1f} s after the last receipt")
                    by_process = {
                        name: round((_cpu_seconds([pid], own=False) - before) * 1000 / documents, 3)
                        for name, pid, before in zip(names, pids, each_before, strict=True)
                    }
                    say(f"latency: {latency_rate:.0f} documents/s for {latency_seconds:.0f} s")
                    latency_since = datetime.now(UTC)
                    open_loop: bench_driver.OpenLoopResult = await driver.ask(
                        bench_driver.OpenLoop(latency_rate, latency_seconds)
                    )
                    latencies = open_loop.latencies
                finally:
                    driver.close()
            say("stages: reading the latency run's timestamps")
            stages = await _stages(nats_url, config, root / "data", latency_since, open_loop)
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
        driver_cpu_ms_per_doc=round(driver_cpu * 1000 / documents, 3),
        cpu_ms_per_doc_by_process=by_process,
        event_loop=runtime.loop_name(),
        processes="hub, ledger followers, adapters, agency systems, nats-server"
        if split
        else "one, plus nats-server",
        ledger_backend=stack_ledger.describe() if stack_ledger else "sqlite",
        api=api,
        ledger_events_per_s=ledger.record_events_per_s if ledger else None,
        replay_events_per_s=ledger.replay_events_per_s if ledger else None,
        stages_ms=stages,
        machine={
            "cpus": os.cpu_count() or 0,
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    )
