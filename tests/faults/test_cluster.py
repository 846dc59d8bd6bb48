"""Truc on an existing NATS cluster and PostgreSQL: three nats-servers (R3 streams), the
ledger in PostgreSQL; the cluster loses one node, then the leader of the inbound stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from adapters.nats.embedded import free_port
from hub import subjects
from ledger.storage import PostgresStorage
from tests.faults.cluster import NatsCluster
from tests.faults.harness import Exercise, TrucProcess, assert_exactly_once, write_config
from tests.ledger.backends import postgres_storage
from tests.support import G15, G22, H49, POST

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    running = NatsCluster(tmp_path / "cluster").start()
    try:
        yield running
    finally:
        running.stop()


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


async def _leader(url: str) -> str:
    nc = await nats.connect(url.split(","))
    try:
        info = await nc.jetstream().stream_info(subjects.IN_STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and info.cluster.leader
        return str(info.cluster.leader)
    finally:
        await nc.close()


@pytest.mark.timeout(200)
async def test_cluster_loses_the_leader_of_the_inbound_stream(
    cluster: NatsCluster, pg: PostgresStorage, tmp_path: Path
) -> None:
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(
        tmp_path / "truc.toml", cluster.url, ports=ports, ledger=pg_table(pg), replicas=3
    )
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("nats_cluster_leader_lost_pg", ports).start()
    try:
        await exercise.wait_delivered(20)
        leader = await _leader(cluster.url)
        cluster.nodes[leader].kill()  # kill -9 of the node leading TRUC_IN
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 20, within=60)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub.terminate()
    failures = ", ".join(f"{k}: {v}" for k, v in exercise.load.failures.items())
    notes = f"3 nodes, R3, PostgreSQL ledger; killed leader {leader}; refused sends {failures}"
    assert_exactly_once(exercise.judge(config, data, notes))


@pytest.mark.timeout(300)
async def test_cluster_loses_a_node_then_after_its_return_the_leader(
    cluster: NatsCluster, pg: PostgresStorage, tmp_path: Path
) -> None:
    """The issue's sequence: one node goes (kill -9), comes back and catches up, then the
    node leading the inbound stream goes; nothing acknowledged is lost or doubled."""
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(
        tmp_path / "truc.toml", cluster.url, ports=ports, ledger=pg_table(pg), replicas=3
    )
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("nats_cluster_node_then_leader_pg", ports).start()
    try:
        await exercise.wait_delivered(20)
        first_leader = await _leader(cluster.url)
        follower = next(name for name in cluster.nodes if name != first_leader)
        cluster.nodes[follower].kill()
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 20, within=60)
        cluster.nodes[follower].start(keep_ports=True)
        await asyncio.to_thread(cluster.wait_healthy, 60)
        leader = await _leader(cluster.url)
        cluster.nodes[leader].kill()
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 20, within=60)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub.terminate()
    failures = ", ".join(f"{k}: {v}" for k, v in exercise.load.failures.items())
    notes = (
        f"3 nodes, R3, PostgreSQL ledger; killed {follower}, restarted it, then killed the"
        f" leader {leader}; refused sends {failures}"
    )
    assert_exactly_once(exercise.judge(config, data, notes))
