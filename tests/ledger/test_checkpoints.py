"""Checkpoints: the issuing policy, signatures, storage forever, and never equivocating,
even across crashes and database rollbacks; witnesses and quorums."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from adapters.crypto import Signer, verify_raw
from hub.witness import Witness as WitnessCore
from hub.witness import WitnessState
from ledger.application import Ledger
from ledger.checkpoints import (
    CheckpointIssuer,
    CheckpointPolicy,
    InconsistentHistoryError,
    RollbackDetectedError,
    StateFile,
    StateFileError,
    Witness,
    WitnessConflictError,
    WitnessError,
    request_cosignatures,
)
from ledger.errors import LedgerError
from ledger.merkle_log import MerkleLog
from ledger.note import (
    ALG_COSIGNATURE_V1,
    Verifier,
    VerifyFunc,
    cosignature_verifier,
    ed25519_verifier,
    encode_vkey,
    open_checkpoint,
    parse_note,
)
from ledger.storage import SqliteStorage
from tests.ledger.conftest import Traffic

OpenLedger = Callable[[], Ledger]
ORIGIN = "truc.test"


def _verify(public_key: bytes) -> VerifyFunc:
    return lambda message, signature: verify_raw(public_key, message, signature)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hub_key() -> Signer:
    return Signer.generate(ORIGIN)


def _hub_verifier(key: Signer) -> Verifier:
    return ed25519_verifier(key.name, key.public_key, _verify(key.public_key))


def _issuer(
    ledger: Ledger, key: Signer, state: Path, clock: Callable[[], float] | None = None, **kw: object
) -> CheckpointIssuer:
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up_all()
    return CheckpointIssuer(merkle, key, state, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


# --- policy --------------------------------------------------------------------------------


def test_policy_signs_every_n_leaves_or_t_seconds_whichever_first() -> None:
    policy = CheckpointPolicy(every_leaves=10, every_seconds=5)
    assert not policy.due(signed_size=0, size=9, seconds_since_last=4.9)
    assert policy.due(signed_size=0, size=10, seconds_since_last=0)
    assert policy.due(signed_size=3, size=4, seconds_since_last=5)
    assert not policy.due(signed_size=4, size=4, seconds_since_last=1e9)  # nothing new


def test_issue_if_due_follows_the_policy(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    clock = Clock()
    policy = CheckpointPolicy(every_leaves=6, every_seconds=60)
    traffic.fill(ledger, 1)  # 3 leaves
    issuer = _issuer(ledger, hub_key, tmp_path / "state.json", clock, policy=policy)
    assert issuer.issue_if_due() is None  # 3 < 6 leaves, 0 s
    traffic.fill(ledger, 1)
    issuer.log.catch_up_all()
    first = issuer.issue_if_due()
    assert first is not None and first.size == 6
    traffic.fill(ledger, 1)
    issuer.log.catch_up_all()
    assert issuer.issue_if_due() is None  # 3 new leaves, 0 s
    clock.now += 60
    second = issuer.issue_if_due()
    assert second is not None and second.size == 9
    clock.now += 600
    assert issuer.issue_if_due() is None  # nothing new: nothing signed


# --- signing and keeping ---------------------------------------------------------------------


def test_checkpoints_are_signed_notes_of_the_tree_and_kept_forever(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 2)
    issuer = _issuer(ledger, hub_key, state)
    first = issuer.issue()
    traffic.fill(ledger, 1)
    issuer.log.catch_up_all()
    second = issuer.issue()
    assert first is not None and second is not None
    assert issuer.issue() is None
    for stored in (first, second):
        opened = open_checkpoint(stored.note, ORIGIN, _hub_verifier(hub_key))
        assert opened.checkpoint.size == stored.size
        assert opened.checkpoint.root == issuer.log.root(stored.size) == stored.root
    assert [c.size for c in issuer.checkpoints()] == [6, 9]
    assert issuer.latest() == second
    saved = json.loads(state.read_text())
    assert saved["size"] == 9 and saved["note"] == second.note


def test_a_crash_between_state_file_and_database_is_repaired(
    open_ledger: OpenLedger,
    traffic: Traffic,
    hub_key: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 2)
    issuer = _issuer(ledger, hub_key, state)
    issuer.issue()
    traffic.fill(ledger, 1)
    issuer.log.catch_up_all()

    def power_cut(*_args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(issuer.store, "insert", power_cut)
    with pytest.raises(OSError, match="power cut"):
        issuer.issue()
    monkeypatch.undo()
    assert [c.size for c in issuer.checkpoints()] == [6]  # the row never committed...
    assert json.loads(state.read_text())["size"] == 9  # ...but the state file has it
    restarted = _issuer(ledger, hub_key, state)
    assert restarted.issue() is None  # nothing new to sign, and the row is repaired
    assert [c.size for c in restarted.checkpoints()] == [6, 9]
    traffic.fill(ledger, 1)
    restarted.log.catch_up_all()
    third = restarted.issue()
    assert third is not None and third.size == 12


def test_a_crash_before_the_state_file_publishes_nothing(
    open_ledger: OpenLedger,
    traffic: Traffic,
    hub_key: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 2)
    issuer = _issuer(ledger, hub_key, state)

    def disk_full(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(StateFile, "write", disk_full)
    with pytest.raises(OSError, match="disk full"):
        issuer.issue()
    monkeypatch.undo()
    assert issuer.checkpoints() == [] and not state.exists()
    assert issuer.issue() is not None


# --- rollbacks --------------------------------------------------------------------------------


def _restore(backup: Path, target: Path) -> None:
    """Put a database file back as a backup restore would (WAL files of the newer one gone)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, target)


def test_a_rolled_back_database_is_refused_then_never_signed_over(
    traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    database, backup, state = tmp_path / "l.sqlite3", tmp_path / "backup.sqlite3", tmp_path / "s"
    ledger = Ledger(SqliteStorage(database))
    traffic.fill(ledger, 2)
    issuer = _issuer(ledger, hub_key, state)
    assert issuer.issue() is not None
    live, copy = sqlite3.connect(database), sqlite3.connect(backup)
    live.backup(copy)  # the operator's backup, at 6 leaves
    live.close()
    copy.close()
    traffic.fill(ledger, 2)
    issuer.log.catch_up_all()
    signed = issuer.issue()
    assert signed is not None and signed.size == 12
    ledger.close()

    _restore(backup, database)
    ledger = Ledger(SqliteStorage(database))
    issuer = _issuer(ledger, hub_key, state)
    assert issuer.log.size == 6
    with pytest.raises(RollbackDetectedError, match="has 6 leaves but a checkpoint of size 12"):
        issuer.issue()
    traffic.fill(ledger, 3)  # the hub goes on recording: positions 7.. get other events
    issuer.log.catch_up_all()
    with pytest.raises(InconsistentHistoryError, match="does not extend the checkpoint of size 12"):
        issuer.issue()
    assert [c.size for c in issuer.checkpoints()] == [6]
    assert json.loads(state.read_text())["note"] == signed.note
    ledger.close()


def test_a_database_rolled_back_and_regrown_identically_is_accepted(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    # Checkpoint state ahead of the table but the same events: consistency holds, so the
    # issuer repairs the table and goes on (nothing was shown that the tree contradicts).
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 3)
    issuer = _issuer(ledger, hub_key, state)
    signed = issuer.issue()
    assert signed is not None
    with issuer.log.db.transaction(commit=True) as cursor:
        issuer.log.db.execute(cursor, f"DELETE FROM {issuer.store.db.table('truc_checkpoints')}")
    assert issuer.issue() is None
    assert issuer.latest() is not None and issuer.latest().note == signed.note  # type: ignore[union-attr]


def test_a_missing_state_file_is_refused_unless_adopting(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 2)
    _issuer(ledger, hub_key, state).issue()
    state.unlink()
    traffic.fill(ledger, 1)
    with pytest.raises(StateFileError, match="is missing but the database holds checkpoints"):
        _issuer(ledger, hub_key, state).issue()
    adopted = _issuer(ledger, hub_key, state, adopt_database=True).issue()
    assert adopted is not None and adopted.size == 9
    assert json.loads(state.read_text())["size"] == 9


def test_a_state_file_of_another_log_or_key_is_refused(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    state = tmp_path / "state.json"
    traffic.fill(ledger, 1)
    _issuer(ledger, hub_key, state).issue()
    with pytest.raises(StateFileError, match="not signed by key"):
        _issuer(ledger, Signer.generate(ORIGIN), state).issue()
    with pytest.raises(StateFileError, match=r"belongs to log 'truc\.test'"):
        _issuer(ledger, Signer.generate("other.log"), state).issue()
    state.write_text("{not json")
    with pytest.raises(StateFileError, match="not a checkpoint state file"):
        _issuer(ledger, hub_key, state).issue()
    assert issubclass(StateFileError, LedgerError)


# --- witnesses --------------------------------------------------------------------------------


class InProcessWitness:
    """A ``WitnessClient`` that calls a witness core directly (HTTP is tested elsewhere)."""

    def __init__(self, core: WitnessCore) -> None:
        self.core = core

    @property
    def name(self) -> str:
        return self.core.name

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> str:
        lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof), ""]
        reply = self.core.add_checkpoint(("\n".join(lines) + "\n" + note).encode())
        if reply.status == 409 and reply.content_type == "text/x.tlog.size":
            raise WitnessConflictError(int(reply.body))
        if reply.status != 200:
            raise WitnessError(f"HTTP {reply.status}: {reply.body!r}")
        return reply.body.decode()


def _witness(name: str, hub_key: Signer, tmp_path: Path) -> tuple[Witness, InProcessWitness]:
    key = Signer.generate(name)
    core = WitnessCore.from_vkeys(
        name,
        key.public_key,
        key.sign_raw,
        [encode_vkey(hub_key.name, 1, hub_key.public_key)],
        WitnessState(tmp_path / f"{name}.json"),
        _verify,
    )
    client = InProcessWitness(core)
    verifier = cosignature_verifier(name, key.public_key, _verify(key.public_key))
    assert encode_vkey(name, ALG_COSIGNATURE_V1, key.public_key) == core.vkey
    return Witness(verifier, client), client


def test_a_checkpoint_is_published_only_with_its_witness_quorum(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    w1, _ = _witness("w1.example", hub_key, tmp_path)
    w2, _ = _witness("w2.example", hub_key, tmp_path)
    traffic.fill(ledger, 2)
    issuer = _issuer(
        ledger, hub_key, tmp_path / "s", witnesses=[w1.verifier, w2.verifier], quorum=2
    )
    signed = issuer.issue()
    assert signed is not None and not signed.published
    assert issuer.latest() is None and issuer.unpublished() == signed
    known: dict[str, int] = {}
    replies, failures = request_cosignatures(
        signed.note, signed.size, [w1], issuer.log.consistency_proof, known
    )
    assert failures == {} and known == {"w1.example": 6}
    one = issuer.add_cosignatures(signed.size, [*replies, "— w9.example AAAA\n", "garbage"])
    assert not one.published and issuer.latest() is None
    replies, _ = request_cosignatures(signed.note, 6, [w2], issuer.log.consistency_proof, known)
    both = issuer.add_cosignatures(signed.size, replies)
    assert both.published and issuer.latest() == both
    opened = open_checkpoint(
        both.note, ORIGIN, _hub_verifier(hub_key), witnesses=[w1.verifier, w2.verifier], quorum=2
    )
    assert opened.checkpoint.size == 6
    assert len(parse_note(both.note).signatures) == 3

    traffic.fill(ledger, 1)  # the next one comes with a consistency proof from 6
    issuer.log.catch_up_all()
    nxt = issuer.issue()
    assert nxt is not None
    replies, failures = request_cosignatures(
        nxt.note, nxt.size, [w1, w2], issuer.log.consistency_proof, known
    )
    assert failures == {} and len(replies) == 2
    assert issuer.add_cosignatures(nxt.size, replies).published


def test_a_witness_teaches_its_size_with_409_and_refuses_a_fork(
    open_ledger: OpenLedger, traffic: Traffic, hub_key: Signer, tmp_path: Path
) -> None:
    ledger = open_ledger()
    witness, _client = _witness("w1.example", hub_key, tmp_path)
    traffic.fill(ledger, 2)
    issuer = _issuer(ledger, hub_key, tmp_path / "s", witnesses=[witness.verifier], quorum=1)
    first = issuer.issue()
    assert first is not None
    request_cosignatures(first.note, 6, [witness], issuer.log.consistency_proof, {})
    traffic.fill(ledger, 1)
    issuer.log.catch_up_all()
    second = issuer.issue()
    assert second is not None
    known: dict[str, int] = {}  # a restarted hub does not know the witness saw 6
    replies, failures = request_cosignatures(
        second.note, 9, [witness], issuer.log.consistency_proof, known
    )
    assert failures == {} and known == {"w1.example": 9}
    assert issuer.add_cosignatures(9, replies).published

    # Another hub with the same key but other events: the witness will not cosign it.
    other = Ledger(SqliteStorage(tmp_path / "fork.sqlite3"))
    traffic.fill(other, 4)
    fork = _issuer(other, hub_key, tmp_path / "fork-state", witnesses=[witness.verifier])
    forked = fork.issue()
    assert forked is not None
    replies, failures = request_cosignatures(
        forked.note, forked.size, [witness], fork.log.consistency_proof, {"w1.example": 9}
    )
    assert replies == [] and "consistency proof fails" in failures["w1.example"]
    other.close()
