"""Offline audit: an intact history verifies; every kind of tampering is detected and located.

The ledger is filled with really signed messages, logged and checkpointed, then changed
behind the hub's back with SQL (as someone with database access would), exported, and
verified with nothing but the bundle and the hub's key.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import ledger.audit as audit
from adapters.audit_signatures import MemberSignatureChecker, build_checker
from adapters.crypto import Signer, verify_raw
from ledger.application import Ledger
from ledger.audit import (
    AuditReport,
    BundleError,
    HeldCheckpoint,
    MemberKeyRecord,
    MemberRecord,
    SignedClaim,
    bundle_checkpoints,
    export_bundle,
    verify_bundle,
)
from ledger.checkpoints import CheckpointIssuer, CheckpointPolicy, StateFile
from ledger.merkle_log import MerkleLog
from ledger.note import ALG_ED25519, VerifyFunc, encode_vkey
from ledger.storage import SqliteStorage
from tests.ledger.conftest import EventsTable, Traffic
from tests.support import G22

OpenLedger = Callable[[], Ledger]
ORIGIN = "truc.test"


def _verify(public_key: bytes) -> VerifyFunc:
    return lambda message, signature: verify_raw(public_key, message, signature)


class Hub:
    """A ledger with its Merkle log, issuer and key, and the means to export and verify."""

    def __init__(self, ledger: Ledger, traffic: Traffic, tmp_path: Path) -> None:
        self.ledger = ledger
        self.traffic = traffic
        self.tmp_path = tmp_path
        self.key = Signer.generate(ORIGIN)
        self.vkey = encode_vkey(ORIGIN, ALG_ED25519, self.key.public_key)
        self.state = tmp_path / "checkpoint-state.json"
        self.exports = 0
        self.reopen(ledger)

    def reopen(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.merkle = MerkleLog(ledger.recorder)
        self.issuer = CheckpointIssuer(
            self.merkle, self.key, self.state, policy=CheckpointPolicy(every_leaves=1)
        )

    def record(self, documents: int) -> None:
        self.traffic.fill(self.ledger, documents)

    def checkpoint(self) -> str:
        self.merkle.catch_up_all()
        signed = self.issuer.issue()
        assert signed is not None
        return signed.note

    def members(self, signers: dict[str, Signer] | None = None) -> list[MemberRecord]:
        return [
            MemberRecord(code, code, "document", (MemberKeyRecord(s.key_id, s.public_key),))
            for code, s in (signers or self.traffic.signers).items()
        ]

    def export(self, members: list[MemberRecord] | None = None) -> Path:
        self.exports += 1
        out = self.tmp_path / f"bundle-{self.exports}"
        state = StateFile(self.state).read(ORIGIN)
        export_bundle(
            out,
            log=self.merkle,
            origin=ORIGIN,
            log_vkey=self.vkey,
            members=members or self.members(),
            checkpoints=bundle_checkpoints(self.merkle, self.issuer.checkpoints(), state),
        )
        return out

    def verify(self, bundle: Path | None = None, **options: object) -> AuditReport:
        return verify_bundle(
            bundle or self.export(),
            make_verify=_verify,
            checker_factory=build_checker,
            log_vkey=self.vkey,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
def hub(open_ledger: OpenLedger, traffic: Traffic, tmp_path: Path) -> Hub:
    made = Hub(open_ledger(), traffic, tmp_path)
    made.record(4)  # positions 1..12
    made.checkpoint()
    made.record(4)  # positions 13..24
    made.checkpoint()
    return made


def _backup(database: Path, target: Path) -> None:
    """An operator's online backup (SQLite's backup API: WAL content included)."""
    live, copy = sqlite3.connect(database), sqlite3.connect(target)
    live.backup(copy)
    live.close()
    copy.close()


def _restore(backup: Path, database: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, database)


def _first(report: AuditReport) -> tuple[str, int | None, int | None]:
    first = report.first_failure
    assert first is not None, "verification passed but should have failed"
    return first.kind, first.position, first.leaf_index


# --- intact --------------------------------------------------------------------------------


def test_an_intact_history_verifies(hub: Hub) -> None:
    report = hub.verify()
    assert report.ok, report.failures
    assert (report.events, report.covered, report.checkpoints) == (24, 24, 2)
    assert report.signatures_checked == 16  # each document: sent + status are signed
    assert report.warnings == []


def test_worker_processes_give_the_same_verdict(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    EventsTable(hub.ledger).flip_byte(17)
    bundle = hub.export()
    inline = hub.verify(bundle, workers=0)
    monkeypatch.setattr(audit, "_INLINE_BELOW_BYTES", 0)
    monkeypatch.setattr(audit, "_CHUNK_BYTES", 2000)  # several chunks per worker
    pooled = hub.verify(bundle, workers=2)
    assert [str(f) for f in pooled.failures] == [str(f) for f in inline.failures]
    assert _first(pooled) == ("altered", 17, 16)
    assert pooled.signatures_checked == inline.signatures_checked == 16


def test_progress_is_reported_up_to_every_event(hub: Hub) -> None:
    seen: list[tuple[int, int]] = []
    assert hub.verify(progress=lambda done, total: seen.append((done, total))).ok
    assert seen and seen[-1] == (24, 24)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# --- the tamper tests ------------------------------------------------------------------------


def test_one_changed_byte_in_one_event_is_located(hub: Hub) -> None:
    EventsTable(hub.ledger).flip_byte(14)
    report = hub.verify()
    assert _first(report) == ("altered", 14, 13)
    assert "altered" in str(report.first_failure)
    assert "confirmed" in str(report.first_failure)  # the signed root agrees it changed


def test_one_deleted_event_is_located(hub: Hub) -> None:
    EventsTable(hub.ledger).delete(9)
    report = hub.verify()
    assert _first(report) == ("missing", 9, 8)
    assert "deleted" in str(report.first_failure)


def test_two_swapped_events_are_located(hub: Hub) -> None:
    EventsTable(hub.ledger).swap(5, 20)
    report = hub.verify()
    assert _first(report) == ("altered", 5, 4)
    assert {(f.kind, f.position) for f in report.failures} >= {("altered", 5), ("altered", 20)}


def test_an_event_appended_without_a_checkpoint_is_flagged(hub: Hub) -> None:
    hub.record(1)  # positions 25..27, logged or not, but no checkpoint covers them
    hub.merkle.catch_up_all()
    report = hub.verify()
    assert _first(report) == ("uncovered", 25, 24)
    assert "not covered by any checkpoint" in str(report.first_failure)
    lenient = hub.verify(allow_uncovered=True)
    assert lenient.ok and any("not covered" in w for w in lenient.warnings)


def test_a_rolled_back_database_is_caught_by_a_checkpoint_the_auditor_holds(
    traffic: Traffic, tmp_path: Path
) -> None:
    database = tmp_path / "ledger.sqlite3"
    hub = Hub(Ledger(SqliteStorage(database)), traffic, tmp_path)
    hub.record(3)
    hub.checkpoint()  # size 9
    _backup(database, tmp_path / "backup.sqlite3")
    hub.record(2)
    held = hub.checkpoint()  # size 15: the auditor keeps this one
    hub.ledger.close()
    _restore(tmp_path / "backup.sqlite3", database)
    hub.reopen(Ledger(SqliteStorage(database)))
    assert hub.merkle.size == 9

    hub.state.unlink()  # the operator restored that too: only the auditor's copy is left
    bundle = hub.export()
    assert hub.verify(bundle).ok  # self-consistent, as a good rollback would be...
    report = hub.verify(bundle, held=[HeldCheckpoint(held)])  # ...until it meets the auditor
    assert _first(report) == ("truncated", None, 9)
    assert "size 15" in str(report.first_failure)
    assert "rolled back" in str(report.first_failure)
    hub.ledger.close()


def test_a_rollback_behind_the_hubs_state_file_shows_in_the_bundle(
    traffic: Traffic, tmp_path: Path
) -> None:
    database = tmp_path / "ledger.sqlite3"
    hub = Hub(Ledger(SqliteStorage(database)), traffic, tmp_path)
    hub.record(3)
    hub.checkpoint()
    _backup(database, tmp_path / "backup.sqlite3")
    hub.record(2)
    hub.checkpoint()
    hub.ledger.close()
    _restore(tmp_path / "backup.sqlite3", database)
    hub.reopen(Ledger(SqliteStorage(database)))
    hub.record(1)  # and the hub went on recording over the lost positions
    hub.merkle.catch_up_all()
    report = hub.verify()
    kinds = {(f.kind, f.leaf_index) for f in report.failures}
    assert ("checkpoint", None) not in kinds  # every signature is the hub's own
    assert report.first_failure is not None and report.first_failure.leaf_index == 9
    assert "state-file" in " ".join(str(f) for f in report.failures)
    hub.ledger.close()


# --- signatures -----------------------------------------------------------------------------


def test_a_member_signature_that_does_not_verify_is_located(hub: Hub) -> None:
    impostor = Traffic()
    impostor.signers[G22] = Signer.generate(G22)  # same agency code, another key
    impostor.document(hub.ledger)  # position 25, its signature made with the wrong key
    hub.record(1)
    hub.checkpoint()
    report = hub.verify()
    assert _first(report) == ("signature", 25, 24)
    assert "has no key" in str(report.first_failure)


def test_a_signature_made_after_the_key_expired_is_refused(hub: Hub) -> None:
    members = [
        replace(m, keys=tuple(replace(k, valid_until_ms=1_750_000_000_500) for k in m.keys))
        for m in hub.members()
    ]
    report = hub.verify(hub.export(members))
    assert _first(report)[0] == "signature"
    assert "not valid at the signing time" in str(report.first_failure)


@pytest.mark.parametrize("prefer_sodium", [True, False], ids=["libsodium", "openssl"])
def test_a_claim_whose_header_names_another_signer_is_refused(prefer_sodium: bool) -> None:
    traffic = Traffic()
    checker = MemberSignatureChecker(
        [
            MemberRecord(c, c, "document", (MemberKeyRecord(s.key_id, s.public_key),))
            for c, s in traffic.signers.items()
        ],
        prefer_sodium=prefer_sodium,
    )
    ledger_like: list[SignedClaim] = []

    class Capture:
        def record(self, commands: list[object]) -> list[object]:
            command = commands[0]
            ledger_like.append(
                SignedClaim(
                    1,
                    "ledger.document:Document.Sent",
                    getattr(command, "sender", ""),
                    getattr(command, "message_id", ""),
                    getattr(command, "header_b64", ""),
                    getattr(command, "signature_b64", ""),
                )
            )

            class Out:
                position = 1

            return [Out()]

    traffic.document(Capture())  # type: ignore[arg-type]
    claim = ledger_like[0]
    assert checker(claim) is None
    assert "signed header is from 000.00.00.G22" in str(checker(replace(claim, signer="X")))
    assert "signed header is message" in str(checker(replace(claim, message_id="m")))
    other = base64.b64encode(bytes(64)).decode()
    assert "does not verify with key" in str(checker(replace(claim, signature_b64=other)))
    assert checker(replace(claim, header_b64="!!")) == "header_b64 is not base64"


def test_a_forged_checkpoint_in_the_bundle_fails_first(hub: Hub) -> None:
    bundle = hub.export()
    path = bundle / "checkpoints.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[0]["note"] = lines[0]["note"].replace("\n12\n", "\n11\n")
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = hub.verify(bundle)
    kind, position, index = _first(report)
    assert (kind, position, index) == ("checkpoint", None, None)
    assert "does not verify" in str(report.first_failure)


def test_a_pinned_key_that_is_not_the_hubs_rejects_every_checkpoint(hub: Hub) -> None:
    other = encode_vkey(ORIGIN, ALG_ED25519, Signer.generate(ORIGIN).public_key)
    report = verify_bundle(
        hub.export(), make_verify=_verify, checker_factory=build_checker, log_vkey=other
    )
    assert not report.ok and all(f.kind in {"checkpoint", "uncovered"} for f in report.failures)


def test_two_roots_for_one_size_are_equivocation(hub: Hub, traffic: Traffic) -> None:
    fork = Hub(Ledger(SqliteStorage(hub.tmp_path / "fork.sqlite3")), traffic, hub.tmp_path / "f")
    fork.key = hub.key  # the same hub key signing another history
    fork.reopen(fork.ledger)
    fork.state.parent.mkdir(exist_ok=True)
    fork.record(4)
    forged = fork.checkpoint()  # size 12, another root
    report = hub.verify(held=[HeldCheckpoint(forged, "from another auditor")])
    assert _first(report)[0] == "checkpoint"
    assert "showed two histories" in str(report.first_failure)
    fork.ledger.close()


def test_a_bundle_without_its_manifest_is_refused(hub: Hub) -> None:
    bundle = hub.export()
    (bundle / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"manifest\.json is missing"):
        hub.verify(bundle)


# --- the bundle's own events file, edited ------------------------------------------------------


def _edit_events(bundle: Path, edit: Callable[[list[str]], list[str]]) -> None:
    path = bundle / "events.jsonl"
    path.write_text("".join(line + "\n" for line in edit(path.read_text().splitlines())))


def test_a_malformed_event_line_is_located(hub: Hub) -> None:
    bundle = hub.export()
    _edit_events(bundle, lambda lines: [*lines[:6], '{"position": 7}', *lines[7:]])
    report = hub.verify(bundle)
    assert _first(report) == ("malformed", 7, 6)
    assert "lacks field 'topic'" in str(report.first_failure)


def test_events_out_of_order_in_the_bundle_are_located(hub: Hub) -> None:
    bundle = hub.export()
    _edit_events(bundle, lambda lines: [*lines[:3], lines[4], lines[3], *lines[5:]])
    report = hub.verify(bundle)
    kinds = {(f.kind, f.position) for f in report.failures}
    assert ("order", 4) in kinds
    assert _first(report)[2] == 3  # leaf 3 holds position 5: the first wrong leaf


def test_signed_events_of_an_unknown_type_are_still_checked(hub: Hub) -> None:
    bundle = hub.export()

    def rename(lines: list[str]) -> list[str]:
        first = json.loads(lines[0])
        first["topic"] = "ledger.future:Future.Signed"
        return [json.dumps(first), *lines[1:]]

    _edit_events(bundle, rename)
    report = hub.verify(bundle)
    assert report.signatures_checked == 16  # the renamed event's signature still verifies
    assert any("Future.Signed were checked against their header" in w for w in report.warnings)
    assert _first(report)[1:] == (1, 0)  # and its leaf no longer matches, of course


def test_the_fast_frontier_is_the_reference_frontier() -> None:
    from ledger.merkle import Frontier, leaf_hash

    fast, reference = audit._FastFrontier(), Frontier()
    for i in range(300):
        hashed = leaf_hash(i.to_bytes(2, "big"))
        fast.append(hashed)
        reference.append(hashed)
        assert fast.root() == reference.root(), f"size {i + 1}"
    assert audit._FastFrontier().root() == Frontier().root()
