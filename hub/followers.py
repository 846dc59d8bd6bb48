"""What follows the ledger: the Merkle log with its signed checkpoints (and the inclusion
proofs adapters ask for), and the read models. In the hub's process by default; in a
process of its own with `truc up --role followers` beside `truc up --role hub --no-followers`.

Why apart: at 1,000 documents a second they are a sixth of the hub's CPU, and inside the
hub's process they share its interpreter lock, which made the hub the slowest stage of the
path; apart, its two stages went from 53–69 to 40–47 ms at the median at 1,000/s on two
cores, and end-to-end p50 from 108–163 to 98–104 ms (README, Performance). They are built to
follow from anywhere: the read models advance by a compare-and-set on their position, the
Merkle log takes the database's write lock before it reads its state (on SQLite the
database-wide one), and on a shared PostgreSQL only the lease holder signs checkpoints.
Apart, nothing pokes them after each batch, so they look for new events every
`FOLLOW_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client as NATS

from adapters.crypto import Signer, verify_raw
from adapters.nats import jetstream
from adapters.nats.auth import NatsCredentials
from adapters.pg_lease import PostgresSignerLease
from adapters.tls import TlsFiles, client_context
from hub.config import HubConfig
from hub.projections_runner import ProjectionsRunner
from hub.proofs import serve_proofs
from hub.transparency import TransparencyLog, TransparencySettings, WitnessSettings
from ledger.application import Ledger
from ledger.projections import Views
from ledger.storage import PostgresStorage

# How often followers in a process of their own look for new events. Each look that finds
# some is a transaction holding SQLite's write lock, which the hub's next batch then waits
# for: looking every 0.05 s, or cutting the work into transactions of 256 events, measured
# worse than fewer, larger ones (README, Performance).
FOLLOW_SECONDS = 0.2
Progress = Callable[[str], None]


def transparency_settings(config: HubConfig) -> TransparencySettings:
    return TransparencySettings(
        every_leaves=config.checkpoint_every_leaves,
        every_seconds=config.checkpoint_every_seconds,
        witnesses=tuple(WitnessSettings(url, vkey) for url, vkey in config.witnesses),
        quorum=config.witness_quorum,
    )


async def open_transparency(
    config: HubConfig,
    data_dir: Path,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
    hub_key: Signer,
    settings: TransparencySettings | None = None,
) -> TransparencyLog:
    """The Merkle log and checkpoint issuer of `ledger`, signing with the hub's key (with a
    signer lease when the ledger is a PostgreSQL other hubs may share)."""
    transparency = await TransparencyLog.open(
        ledger,
        hub_key,
        executor,
        data_dir,
        settings or transparency_settings(config),
        make_verify=lambda public_key: (
            lambda message, signature: verify_raw(public_key, message, signature)
        ),
    )
    storage = config.storage(data_dir)
    if isinstance(storage, PostgresStorage):  # other hubs may share this ledger
        transparency.lease = PostgresSignerLease(storage)
    return transparency


@dataclass
class FollowerGroup:
    """`truc up --role followers`: the ledger's followers alone, with an orderly stop."""

    config: HubConfig
    data_dir: Path
    nats_url: str
    ledger: Ledger
    executor: ThreadPoolExecutor
    nc: NATS
    transparency: TransparencyLog
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    # The Merkle log's ticks and the read models' turns: they finish what is in progress.
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    proofs: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        """Finish the tick and turn in progress, then release the lease and close."""
        self.stop_event.set()
        for task in self.tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)
        if self.proofs is not None:
            self.proofs.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.proofs
        if self.transparency.lease is not None:
            await asyncio.to_thread(self.transparency.lease.release)
        await jetstream.close(self.nc)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.ledger.close)
        self.executor.shutdown(wait=True)


async def start_followers(
    config: HubConfig,
    data_dir: Path,
    nats_url: str,
    hub_key: Signer,
    credentials: NatsCredentials | None,
    *,
    progress: Progress = lambda _line: None,
) -> FollowerGroup:
    """Follow the ledger of `config` from this process, serving proofs on `nats_url`."""
    tls = client_context(TlsFiles(config.tls_directory(data_dir))) if config.nats_tls else None
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
    storage = config.storage(data_dir)
    ledger = await loop.run_in_executor(executor, Ledger, storage)
    try:
        settings = dataclasses.replace(
            transparency_settings(config), interval_seconds=FOLLOW_SECONDS
        )
        transparency = await open_transparency(
            config, data_dir, ledger, executor, hub_key, settings
        )
        nc = await jetstream.connect(nats_url, "truc-followers", credentials, tls=tls)
    except BaseException:  # nothing started: close what was opened
        await loop.run_in_executor(executor, ledger.close)
        executor.shutdown(wait=True)
        raise
    group = FollowerGroup(config, data_dir, nats_url, ledger, executor, nc, transparency)
    views = await loop.run_in_executor(executor, Views, ledger)
    group.tasks += [
        asyncio.create_task(transparency.run(group.stop_event)),
        asyncio.create_task(
            ProjectionsRunner(views, executor, interval=FOLLOW_SECONDS).run(group.stop_event)
        ),
    ]
    group.proofs = asyncio.create_task(serve_proofs(nc, transparency))
    progress(f"followers: Merkle log, checkpoints, proofs and read models of {storage.describe()}")
    return group
