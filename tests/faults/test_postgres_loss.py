"""The hub loses its PostgreSQL connections under load (the server's pg_terminate_backend on
exactly the hub process's sessions, found from its sockets): it must ride it out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.nats.embedded import EmbeddedNats, free_port
from ledger.storage import PostgresStorage
from tests.faults.harness import Exercise, TrucProcess, assert_exactly_once, write_config
from tests.faults.test_scale_out import pg_table
from tests.ledger.backends import postgres_storage
from tests.support import G15, G22, H49, POST

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[PostgresStorage]:
    with postgres_storage() as storage:
        yield storage


def local_ports_to(pid: int, remote_port: int) -> set[int]:
    """Local TCP ports of `pid`'s sockets connected to `remote_port` (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def cut_sessions(storage: PostgresStorage, pid: int) -> int:
    ports = local_ports_to(pid, storage.port)
    with psycopg.connect(
        host=storage.host,
        port=storage.port,
        user=storage.user,
        dbname=storage.dbname,
        autocommit=True,
    ) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE client_port = ANY(%s) AND pid <> pg_backend_pid()",
            (list(ports),),
        ).fetchall()
    return len(rows)


@pytest.mark.timeout(150)
async def test_hub_rides_out_its_postgres_sessions_being_cut(
    nats_server: EmbeddedNats, pg: PostgresStorage, tmp_path: Path
) -> None:
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports, ledger=pg_table(pg))
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("postgres_sessions_cut", ports).start()
    cuts = 0
    try:
        for round_ in range(3):
            await exercise.wait_delivered(20 * (round_ + 1), within=60)
            cuts += cut_sessions(pg, hub.pid)
        assert cuts > 0
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 10, within=60)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub.terminate()
    assert_exactly_once(exercise.judge(config, data, f"{cuts} hub sessions terminated in 3 cuts"))
