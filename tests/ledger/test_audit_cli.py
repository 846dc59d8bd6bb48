"""`truc audit checkpoint|vkey|leaf|prove|consistency|export|verify`, and the hub's
TransparencyLog that makes the checkpoints they read, on a data directory like `truc up`'s."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.crypto import Signer, verify_raw
from hub.bootstrap import hub_signer, member_signers
from hub.cli.main import app
from hub.config import HubConfig, load_config
from hub.transparency import TransparencyLog, TransparencySettings, WitnessSettings, state_path
from hub.witness import Witness, WitnessServer, WitnessState
from ledger.application import Ledger
from ledger.leaf import decode_leaf
from ledger.merkle import leaf_hash, verify_consistency
from ledger.merkle_log import MerkleLog
from ledger.note import (
    Checkpoint,
    TlogProof,
    VerifyFunc,
    cosignature_verifier,
    open_checkpoint,
    parse_note,
    verifier_from_vkey,
    verify_tlog_proof,
)
from tests.ledger.conftest import EventsTable, Traffic
from tests.support import eventually, write_config

runner = CliRunner()


def _verify(public_key: bytes) -> VerifyFunc:
    return lambda message, signature: verify_raw(public_key, message, signature)


class DataDir:
    """A hub data directory: configuration, member and hub keys, and a SQLite ledger."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "data"
        self.config_path = write_config(tmp_path / "truc.toml", "nats://127.0.0.1:1")
        self.config: HubConfig = load_config(self.config_path)
        self.hub_key = hub_signer(self.config, self.path)
        self.traffic = Traffic(signers=member_signers(self.config, self.path))
        self.ledger = Ledger(self.config.storage(self.path))
        self.executors: list[ThreadPoolExecutor] = []

    def run(self, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(
            app, [*args, "--data-dir", str(self.path), "--config", str(self.config_path)]
        )
        return result.exit_code, result.stdout, result.stderr

    def run_bytes(self, *args: str) -> bytes:
        result = runner.invoke(
            app, [*args, "--data-dir", str(self.path), "--config", str(self.config_path)]
        )
        assert result.exit_code == 0, result.stderr
        return result.stdout_bytes

    async def transparency(self, **settings: object) -> TransparencyLog:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self.executors.append(executor)
        return await TransparencyLog.open(
            self.ledger,
            self.hub_key,
            executor,
            self.path,
            TransparencySettings(every_leaves=1, **settings),  # type: ignore[arg-type]
            make_verify=_verify,
        )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[DataDir]:
    made = DataDir(tmp_path)
    try:
        yield made
    finally:
        made.ledger.close()
        for executor in made.executors:
            executor.shutdown(wait=True)


async def _checkpointed(data_dir: DataDir, documents: int = 4) -> TransparencyLog:
    data_dir.traffic.fill(data_dir.ledger, documents)
    log = await data_dir.transparency()
    assert await log.tick() is not None
    return log


# --- the hub's side: TransparencyLog ---------------------------------------------------------


async def test_transparency_log_signs_and_serves_receipt_proofs(data_dir: DataDir) -> None:
    log = await data_dir.transparency()
    assert log.latest_checkpoint() is None
    assert await log.receipt_proof(1) is None  # nothing recorded yet
    data_dir.traffic.fill(data_dir.ledger, 2)
    assert await log.receipt_proof(1) is None  # recorded, not yet logged
    signed = await log.tick()
    assert signed is not None and signed.size == 6
    note = log.latest_checkpoint()
    assert note is not None and note == signed.note
    text = await log.receipt_proof(4)
    assert text is not None
    proof = TlogProof.parse(text)
    assert decode_leaf(proof.extra).position == 4
    hub = verifier_from_vkey(data_dir.run("audit", "vkey")[1].strip(), _verify)
    opened = verify_tlog_proof(proof, leaf_hash(proof.extra), data_dir.config.name, hub)
    assert opened.checkpoint.size == 6
    data_dir.traffic.fill(data_dir.ledger, 1)
    assert await log.receipt_proof(7) is None  # until the next checkpoint covers it
    await log.tick()
    assert await log.receipt_proof(7) is not None


async def test_transparency_log_runs_until_stopped(data_dir: DataDir) -> None:
    log = await data_dir.transparency(interval_seconds=30.0)
    stop = asyncio.Event()
    task = asyncio.create_task(log.run(stop))
    data_dir.traffic.fill(data_dir.ledger, 1)
    log.poke()  # no need to wait for the interval

    def covered() -> int:
        note = log.latest_checkpoint()
        return Checkpoint.parse(parse_note(note).text).size if note else 0

    await eventually(lambda: covered() == 3, what="a checkpoint of 3 leaves")
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_a_tampered_ledger_stops_checkpoints_but_not_the_hub(data_dir: DataDir) -> None:
    log = await _checkpointed(data_dir, 2)
    EventsTable(data_dir.ledger).delete(6)  # the last logged event
    data_dir.traffic.fill(data_dir.ledger, 1)
    assert await log.tick() is None
    assert log.last_error is not None and "position 6 (leaf 5)" in log.last_error
    assert Checkpoint.parse(parse_note(log.latest_checkpoint() or "").text).size == 6


async def test_a_checkpoint_needs_its_witness_quorum_to_be_published(
    data_dir: DataDir, tmp_path: Path
) -> None:
    key = Signer.generate("witness.example/w1")
    witness = Witness.from_vkeys(
        key.name,
        key.public_key,
        key.sign_raw,
        [data_dir.run("audit", "vkey")[1].strip()],
        WitnessState(tmp_path / "witness.json"),
        _verify,
    )
    server = WitnessServer(witness).start()
    try:
        data_dir.traffic.fill(data_dir.ledger, 2)
        down = await data_dir.transparency(
            witnesses=(WitnessSettings("http://127.0.0.1:9", witness.vkey),), quorum=1
        )
        assert await down.tick() is not None  # signed...
        assert down.latest_checkpoint() is None  # ...but not published without the witness
        up = await data_dir.transparency(
            witnesses=(WitnessSettings(server.url, witness.vkey),), quorum=1
        )
        await up.tick()
        note = up.latest_checkpoint()
        assert note is not None
        cosigner = cosignature_verifier(key.name, key.public_key, _verify(key.public_key))
        hub = verifier_from_vkey(data_dir.run("audit", "vkey")[1].strip(), _verify)
        opened = open_checkpoint(note, data_dir.config.name, hub, witnesses=[cosigner], quorum=1)
        assert opened.checkpoint.size == 6
    finally:
        server.stop()


# --- the auditor's side: the CLI -------------------------------------------------------------


async def test_checkpoint_and_vkey_print_a_verifiable_note(data_dir: DataDir) -> None:
    assert data_dir.run("audit", "checkpoint")[0] == 5  # none yet
    await _checkpointed(data_dir)
    code, note, _ = data_dir.run("audit", "checkpoint")
    assert code == 0
    code, vkey, _ = data_dir.run("audit", "vkey")
    assert code == 0 and vkey.startswith(f"{data_dir.config.name}+")
    hub = verifier_from_vkey(vkey.strip(), _verify)
    assert open_checkpoint(note, data_dir.config.name, hub).checkpoint.size == 12


async def test_leaf_prints_the_raw_leaf_of_a_ledger_position(data_dir: DataDir) -> None:
    await _checkpointed(data_dir)
    raw = data_dir.run_bytes("audit", "leaf", "5")
    assert decode_leaf(raw).position == 5
    assert raw == MerkleLog(data_dir.ledger.recorder).leaf_bytes(4)
    code, _, err = data_dir.run("audit", "leaf", "999")
    assert code == 5 and "position 999 is not in the Merkle log" in err


async def test_prove_prints_a_tlog_proof_that_verifies_offline(data_dir: DataDir) -> None:
    await _checkpointed(data_dir)
    code, text, _ = data_dir.run("audit", "prove", "7")
    assert code == 0 and text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    proof = TlogProof.parse(text)
    assert proof.index == 6
    hub = verifier_from_vkey(data_dir.run("audit", "vkey")[1].strip(), _verify)
    verify_tlog_proof(proof, leaf_hash(proof.extra), data_dir.config.name, hub)
    data_dir.traffic.fill(data_dir.ledger, 1)
    MerkleLog(data_dir.ledger.recorder).catch_up_all()
    code, _, err = data_dir.run("audit", "prove", "13")
    assert code == 5 and "not covered by the latest checkpoint (size 12)" in err


async def test_consistency_prints_one_base64_hash_a_line(data_dir: DataDir) -> None:
    log = await _checkpointed(data_dir)
    code, out, _ = data_dir.run("audit", "consistency", "5", "12")
    assert code == 0
    proof = [base64.b64decode(line, validate=True) for line in out.splitlines()]
    verify_consistency(5, 12, log.log.root(5), log.log.root(12), proof)
    code, _, err = data_dir.run("audit", "consistency", "5", "99")
    assert code == 4 and "exceeds the log's size 12" in err


async def test_export_then_verify_an_intact_history(data_dir: DataDir, tmp_path: Path) -> None:
    await _checkpointed(data_dir)
    code, _, err = data_dir.run("audit", "export", "--out", str(tmp_path / "bundle"))
    assert code == 0, err
    vkey = data_dir.run("audit", "vkey")[1].strip()
    result = runner.invoke(app, ["audit", "verify", str(tmp_path / "bundle"), "--vkey", vkey])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("intact: 12 events, 12 covered by 1 checkpoints")


async def test_verify_names_the_first_position_that_fails(
    data_dir: DataDir, tmp_path: Path
) -> None:
    await _checkpointed(data_dir)
    EventsTable(data_dir.ledger).flip_byte(8)
    assert data_dir.run("audit", "export", "--out", str(tmp_path / "bundle"))[0] == 0
    result = runner.invoke(app, ["audit", "verify", str(tmp_path / "bundle")])
    assert result.exit_code == 1
    assert "FAILED at position 8 leaf 7: altered" in result.stderr
    assert "trusting the bundle's own hub key" in result.stderr


async def test_verify_with_a_held_checkpoint_catches_a_truncated_ledger(
    data_dir: DataDir, tmp_path: Path
) -> None:
    await _checkpointed(data_dir)
    held = tmp_path / "held.note"
    held.write_text(data_dir.run("audit", "checkpoint")[1])
    assert data_dir.run("audit", "export", "--out", str(tmp_path / "good"))[0] == 0
    events = EventsTable(data_dir.ledger)
    for position in (12, 11, 10):
        events.delete(position)
    state_path(data_dir.path).unlink()  # hide the hub's own evidence too
    with MerkleLog(data_dir.ledger.recorder).db.transaction(commit=True) as cursor:
        cursor.execute("DELETE FROM truc_checkpoints")
    assert data_dir.run("audit", "export", "--out", str(tmp_path / "cut"))[0] == 0
    result = runner.invoke(
        app, ["audit", "verify", str(tmp_path / "cut"), "--checkpoint", str(held)]
    )
    assert result.exit_code == 1
    assert "FAILED at position 10 leaf 9: missing" in result.stderr
    assert "size 12 (held in held.note)" in result.stderr
    result = runner.invoke(
        app, ["audit", "verify", str(tmp_path / "good"), "--checkpoint", str(held)]
    )
    assert result.exit_code == 0, result.stderr


def test_verify_of_something_that_is_not_a_bundle_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", str(tmp_path)])
    assert result.exit_code == 1
    assert "manifest.json is missing" in result.stderr
