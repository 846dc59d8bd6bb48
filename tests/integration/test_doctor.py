"""`truc doctor` on a healthy deployment and on broken ones (a missing consumer, NATS away,
a ledger rolled back behind its checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nats

from adapters.nats.embedded import EmbeddedNats
from hub import subjects
from hub.bootstrap import Stack
from hub.doctor import FAIL, OK, Target, diagnose, healthy
from tests.support import G15, eventually, make_config, write_config

REPO = Path(__file__).resolve().parents[2]


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


async def test_a_healthy_deployment_passes_every_check(
    stack: Stack, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    config = make_config(nats_server.url)
    target = Target(nats_server.url, nats_server.monitor_url)

    async def all_ok() -> bool:
        return healthy(await diagnose(config, tmp_path / "data", target))

    await eventually(all_ok, what="a healthy diagnosis")
    checks = {c.name: c for c in await diagnose(config, tmp_path / "data", target)}
    assert {"nats", "streams", "consumers", "ledger", "checkpoint", "clock: NATS"} <= set(checks)
    assert all(checks[n].status == OK for n in ("nats", "streams", "consumers", "ledger"))
    assert checks["clock: NATS"].status == OK
    assert "consistent" in checks["checkpoint"].detail

    cfg = write_config(tmp_path / "truc.toml", nats_server.url)
    done = _doctor("--config", str(cfg), "--data-dir", str(tmp_path / "data"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"] is True


async def test_a_missing_consumer_and_an_unreachable_nats_fail_with_a_table(
    stack: Stack, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().delete_consumer(subjects.OUT_STREAM, subjects.delivery_consumer(G15))
    finally:
        await nc.close()
    cfg = write_config(tmp_path / "truc.toml", nats_server.url)
    done = _doctor("--config", str(cfg), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "consumers" in done.stdout and "FAIL" in done.stdout
    assert subjects.delivery_consumer(G15) in done.stdout.replace("\n", "")

    away = _doctor(
        "--config",
        str(cfg),
        "--data-dir",
        str(tmp_path / "data"),
        "--nats-url",
        "nats://127.0.0.1:1",
        "--json",
    )
    assert away.returncode == 1
    checks = {c["name"]: c for c in json.loads(away.stdout)["checks"]}
    assert checks["nats"]["status"] == FAIL and "unreachable" in checks["nats"]["detail"]
    assert checks["ledger"]["status"] == OK  # the rest is still diagnosed


async def test_a_ledger_behind_its_checkpoint_fails(tmp_path: Path) -> None:
    from ledger.application import Ledger
    from ledger.checkpoints import CheckpointStore, StoredCheckpoint
    from ledger.merkle_log import MerkleLog

    config = make_config("nats://127.0.0.1:1")
    ledger = Ledger(config.storage(tmp_path / "data"))
    try:
        merkle = MerkleLog(ledger.recorder)
        store = CheckpointStore(merkle.db)
        with merkle.db.transaction(commit=True) as cursor:
            store.insert(cursor, StoredCheckpoint(5, b"\0" * 32, "forged\n", 0, True))
    finally:
        ledger.close()
    checks = {c.name: c for c in await diagnose(config, tmp_path / "data", Target(""))}
    assert checks["checkpoint"].status == FAIL and "rolled back" in checks["checkpoint"].detail
    assert checks["nats"].status == FAIL
