"""Scale-out: two hub processes share the inbound consumer and one PostgreSQL ledger; one
of them signs checkpoints under a lease; kill -9 the signer and the other takes over, and
every checkpoint stays consistent with every other (one Merkle log, one history)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest

from adapters.nats.embedded import EmbeddedNats, free_port
from adapters.pg_lease import lock_key
from ledger.application import Ledger
from ledger.checkpoints import CheckpointStore
from ledger.merkle import verify_consistency
from ledger.merkle_log import MerkleLog
from ledger.note import parse_note
from ledger.storage import PostgresStorage
from tests.faults.harness import Exercise, TrucProcess, assert_exactly_once, write_config
from tests.ledger.backends import postgres_storage
from tests.support import G15, G22, H49, POST, eventually

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[PostgresStorage]:
    with postgres_storage() as storage:
        yield storage


def pg_table(storage: PostgresStorage) -> str:
    return (
        f'backend = "postgres"\n[ledger.postgres]\ndbname = "{storage.dbname}"\n'
        f'host = "{storage.host}"\nport = {storage.port}\nuser = "{storage.user}"\n'
        f'schema = "{storage.schema}"\n'
    )


def signer_pid(storage: PostgresStorage) -> int | None:
    """The hub process holding the signer lease, from PostgreSQL's own lock table."""
    key = lock_key(storage) & 0xFFFFFFFFFFFFFFFF  # bigint locks show as two oids
    with psycopg.connect(
        host=storage.host, port=storage.port, user=storage.user, dbname=storage.dbname
    ) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
    if row is None:
        return None
    return int(str(row[0]).rsplit("-", 1)[1])


def checkpoints_consistent(storage: PostgresStorage, origin: str) -> int:
    """Every stored checkpoint extends the one before it; returns how many there are."""
    return checkpoint_coverage(storage, origin)[0]


def checkpoint_coverage(storage: PostgresStorage, origin: str) -> tuple[int, bool]:
    """How many checkpoints there are (each checked to extend the one before it) and
    whether the latest one covers the whole Merkle log."""
    ledger = Ledger(storage)
    try:
        merkle = MerkleLog(ledger.recorder)
        checkpoints = CheckpointStore(merkle.db).all()
        for older, newer in pairwise(checkpoints):
            proof = merkle.consistency_proof(older.size, newer.size)
            verify_consistency(older.size, newer.size, older.root, newer.root, proof)
        for checkpoint in checkpoints:
            assert [s.name for s in parse_note(checkpoint.note).signatures] == [origin]
        covers = bool(checkpoints) and checkpoints[-1].size == merkle.state().size
        return len(checkpoints), covers
    finally:
        ledger.close()


@pytest.mark.timeout(200)
async def test_two_hubs_share_the_work_and_the_signer_lease_passes_on(
    nats_server: EmbeddedNats, pg: PostgresStorage, tmp_path: Path
) -> None:
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports, ledger=pg_table(pg))
    data = tmp_path / "data"
    first = await TrucProcess("hub", config, data).start()
    second = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    hubs = {first.pid: first, second.pid: second}
    exercise = Exercise("scale_out_two_hubs_signer_killed", ports).start()
    try:
        await exercise.wait_delivered(30)
        signer = await eventually(lambda: signer_pid(pg), what="a signer lease holder")
        assert signer in hubs
        await hubs[signer].kill()
        survivor = next(p for p in hubs if p != signer)
        await eventually(lambda: signer_pid(pg) == survivor, within=30, what="the lease passed")
        before = checkpoints_consistent(pg, "truc.faults")
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 20, within=60)
        await exercise.settle()

        # The survivor keeps signing: once the load stopped, a checkpoint newer than the
        # lease's passing covers the whole ledger (it may have appeared during settle).
        def survivor_covered_all() -> bool:
            count, covers = checkpoint_coverage(pg, "truc.faults")
            return count > before and covers

        await eventually(
            survivor_covered_all, within=30, what="a checkpoint signed by the survivor"
        )
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        for process in hubs.values():
            await process.terminate()
    count = checkpoints_consistent(pg, "truc.faults")
    assert_exactly_once(
        exercise.judge(config, data, f"signer pid {signer} killed; {count} checkpoints consistent")
    )
