"""The transparency log at run time: follow the ledger, sign checkpoints, serve proofs.

``TransparencyLog.run`` is the hub's background task: every ``interval`` seconds (or at once
after ``poke()``) it appends new ledger events to the Merkle log, asks the issuer whether a
checkpoint is due, and collects witness cosignatures for a checkpoint still short of its
quorum. All database work goes through the ledger's single-thread executor, in small
jobs, so recording never waits long behind the log; witness HTTP calls run on a worker
thread of their own and reach the database through the same executor.

A failure (a rolled-back database, a tampered event, an unreachable witness) never stops the
hub: it is logged once per distinct reason, kept in ``last_error``, and retried each tick;
the issuer's own checks make sure nothing inconsistent is ever signed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from hub.errors import HubError
from hub.lease import SignerLease
from hub.witness import HttpWitnessClient
from ledger.application import Ledger
from ledger.checkpoints import (
    CheckpointIssuer,
    CheckpointPolicy,
    NoteSigner,
    StoredCheckpoint,
    Witness,
    request_cosignatures,
)
from ledger.merkle_log import MerkleLog
from ledger.note import NoteError, TlogProof, VerifyFunc, verifier_from_vkey

__all__ = [
    "TransparencyConfigError",
    "TransparencyLog",
    "TransparencySettings",
    "WitnessSettings",
    "state_path",
]

log = logging.getLogger("truc.transparency")
T = TypeVar("T")


class TransparencyConfigError(HubError):
    """The transparency settings cannot work (a bad witness vkey, no verifier)."""


def state_path(data_dir: Path) -> Path:
    """Where the issuer keeps its last signed checkpoint, outside the database."""
    return data_dir / "transparency" / "checkpoint-state.json"


# The rest after each tick, even when poked (see TransparencyLog.run).
SETTLE_SECONDS = 0.1


@dataclass(frozen=True)
class WitnessSettings:
    """A witness to ask for cosignatures: its URL and its cosignature vkey."""

    url: str
    vkey: str


@dataclass(frozen=True)
class TransparencySettings:
    """How often to sign, which witnesses to ask, and how many must cosign."""

    every_leaves: int = 1000
    every_seconds: float = 10.0
    interval_seconds: float = 1.0
    batch: int = 5000
    witnesses: tuple[WitnessSettings, ...] = ()
    quorum: int = 0
    adopt_database: bool = False
    witness_timeout: float = 10.0


class TransparencyLog:
    """The Merkle log, its checkpoint issuer and the executor all their DB work runs on."""

    def __init__(
        self,
        log: MerkleLog,
        issuer: CheckpointIssuer,
        executor: Executor,
        *,
        witnesses: Sequence[Witness] = (),
        interval: float = 1.0,
        batch: int = 5000,
    ) -> None:
        self.log = log
        self.issuer = issuer
        self.executor = executor
        self.witnesses = tuple(witnesses)
        self.interval = interval
        self.batch = batch
        self.last_error: str | None = None
        self._latest: StoredCheckpoint | None = None
        self._wake: asyncio.Event | None = None
        self._witness_sizes: dict[str, int] = {}
        # Only the holder signs when several hubs share the ledger (None: always sign).
        self.lease: SignerLease | None = None

    @classmethod
    async def open(
        cls,
        ledger: Ledger,
        signer: NoteSigner,
        executor: Executor,
        data_dir: Path,
        settings: TransparencySettings | None = None,
        *,
        make_verify: Callable[[bytes], VerifyFunc] | None = None,
    ) -> TransparencyLog:
        """Build everything on the ledger's executor (it creates tables) for ``ledger``.

        ``signer`` is the hub's key (its name is the checkpoint origin); ``make_verify``
        binds an Ed25519 public key to a verify function, needed only with witnesses.
        """
        settings = settings or TransparencySettings()
        witnesses = _witnesses(settings, make_verify)

        chosen = settings

        def build() -> TransparencyLog:
            merkle = MerkleLog(ledger.recorder)
            issuer = CheckpointIssuer(
                merkle,
                signer,
                state_path(data_dir),
                policy=CheckpointPolicy(chosen.every_leaves, chosen.every_seconds),
                witnesses=[w.verifier for w in witnesses],
                quorum=chosen.quorum,
                adopt_database=chosen.adopt_database,
            )
            made = cls(
                merkle,
                issuer,
                executor,
                witnesses=witnesses,
                interval=chosen.interval_seconds,
                batch=chosen.batch,
            )
            made._latest = issuer.latest()
            return made

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, build)

    # -- running --------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args))

    def poke(self) -> None:
        """Ask for a tick soon (e.g. after a batch was recorded); safe from the event loop."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; returns after the tick in progress.

        After a tick it rests `SETTLE_SECONDS` even when poked: a tick is four jobs on the
        ledger's executor, and ticking after every batch queued them in front of the next
        batch's recording, which end-to-end latency waits for (p99 at 1,000 documents/s
        122-145 -> 111-121 ms). Checkpoints are due every 1,000 leaves or 10 s anyway.
        """
        self._wake = asyncio.Event()
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SETTLE_SECONDS)
            waiters = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
            }
            _done, pending = await asyncio.wait(
                waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._wake.clear()

    async def tick(self) -> StoredCheckpoint | None:
        """Catch up, sign if due, gather cosignatures; returns a newly signed checkpoint."""
        try:
            signed = await self._tick()
        except Exception as error:  # a rollback, a tampered event, a database hiccup:
            self._failed(error)  # logged, kept, retried next tick; never stops the hub
            return None
        if self.last_error is not None:
            log.info("transparency log: recovered")
            self.last_error = None
        return signed

    async def _tick(self) -> StoredCheckpoint | None:
        size = (await self._db(self.log.state)).size
        while True:  # one executor job per batch, so recording interleaves
            grown = await self._db(self.log.catch_up, self.batch)
            if grown - size < self.batch:
                break
            size = grown
        signed = None
        if self.lease is None or await asyncio.to_thread(self.lease.held):
            signed = await self._db(self.issuer.issue_if_due)
        if signed is not None:
            log.info("checkpoint %d signed", signed.size)
        if self.witnesses:
            await self._cosign()
        self._latest = await self._db(self.issuer.latest)
        return signed

    async def _cosign(self) -> None:
        pending = await self._db(self.issuer.unpublished)
        if pending is None:
            return
        replies, failures = await asyncio.to_thread(
            request_cosignatures,
            pending.note,
            pending.size,
            self.witnesses,
            self._consistency_proof,
            self._witness_sizes,
        )
        for name, reason in failures.items():
            log.warning("witness %s did not cosign checkpoint %d: %s", name, pending.size, reason)
        if replies:
            stored = await self._db(self.issuer.add_cosignatures, pending.size, replies)
            if stored.published:
                log.info("checkpoint %d published with its witness quorum", stored.size)

    def _consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Called from the witness thread: hops to the ledger's executor and waits."""
        return self.executor.submit(self.log.consistency_proof, old_size, new_size).result(60)

    def _failed(self, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        if message != self.last_error:
            log.error("transparency log: %s", message)
        self.last_error = message

    # -- serving --------------------------------------------------------------------------

    def latest_checkpoint(self) -> str | None:
        """The latest published checkpoint note (as of the last tick), or None."""
        return self._latest.note if self._latest is not None else None

    async def receipt_proof(self, position: int) -> str | None:
        """A c2sp.org/tlog-proof@v1 for the event at ledger ``position``, once a published
        checkpoint covers it; None before that. Raises ``ledger.errors.LedgerError`` if the
        event was tampered with (it is never proved with wrong bytes)."""
        return await self._db(self.proof_for, position)

    def proof_for(self, position: int) -> str | None:
        """Blocking form of ``receipt_proof``: call it on the ledger's executor thread.

        The proof's ``extra`` line carries the canonical leaf bytes (``ledger.leaf``), so the
        receipt alone lets its holder recompute the leaf hash and check inclusion offline.
        """
        index = self.log.leaf_index_of(position)
        if index is None:
            return None
        checkpoint = self.issuer.latest()
        if checkpoint is None or index >= checkpoint.size:
            return None
        hashes = self.log.inclusion_proof(index, checkpoint.size)
        leaf = self.log.leaf_bytes(index)
        return TlogProof(index, tuple(hashes), checkpoint.note, extra=leaf).to_text()


def _witnesses(
    settings: TransparencySettings, make_verify: Callable[[bytes], VerifyFunc] | None
) -> list[Witness]:
    if not settings.witnesses:
        return []
    if make_verify is None:
        raise TransparencyConfigError("witnesses need make_verify to check their cosignatures")
    witnesses = []
    for item in settings.witnesses:
        try:
            verifier = verifier_from_vkey(item.vkey, make_verify)
        except NoteError as error:
            raise TransparencyConfigError(f"witness {item.url}: invalid vkey: {error}") from None
        client = HttpWitnessClient(item.url, verifier.name, settings.witness_timeout)
        witnesses.append(Witness(verifier, client))
    return witnesses
