"""Signed checkpoints of the Merkle log, issued on a policy, kept forever, never equivocal.

A checkpoint (c2sp.org/tlog-checkpoint) is the hub's signed statement "the log has n leaves
and this root". Two signed checkpoints that are not consistent with each other are proof
that the hub showed two histories, so the issuer must make that impossible, even after a
crash, and even when the database is restored from a backup behind what was already signed.

How:

* Every checkpoint is stored forever in ``truc_checkpoints`` (same database as the tree).
* The last signed checkpoint is ALSO kept in a small state file outside the database,
  replaced atomically (write, fsync, rename, fsync directory) after signing and BEFORE the
  database row is written and the note is published. A note that never reached the state
  file was never shown to anyone.
* Before signing size n, the issuer checks, in the same transaction that reads the tree,
  that n extends BOTH the state file's checkpoint and the database's latest (an RFC 9162
  consistency proof from each, verified against the root each one signed). A database
  rolled back behind the state file, or regrown with different events, fails that check and
  the issuer refuses to sign with ``RollbackDetectedError`` / ``InconsistentHistoryError``.
* A missing state file while the database holds checkpoints is refused too
  (``StateFileError``): either the file was lost or this is not the database it belonged
  to. ``adopt_database=True`` accepts the database's latest as the anchor, once, knowingly.
* A crash between the state file and the database row is repaired on the next issue: the
  state file's note is inserted if the tree reproduces its root.

Witnesses (c2sp.org/tlog-witness) are optional: with ``quorum`` > 0 a checkpoint is stored
as soon as it is signed, but only becomes *published* (the latest visible one) once that
many trusted witnesses cosigned it. Network calls never happen here:
``request_cosignatures`` is a plain function the runtime calls off the database thread.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ledger.errors import LedgerError
from ledger.merkle import MerkleError, consistency_proof, root_from_reader, verify_consistency
from ledger.merkle_log import MerkleLog, SqlDatabase
from ledger.note import (
    ALG_ED25519,
    Checkpoint,
    NoteError,
    NoteSignature,
    Verifier,
    add_signatures,
    key_id,
    parse_note,
    sign_note,
    verifier_map,
    verify_note,
)

__all__ = [
    "CHECKPOINTS_TABLE",
    "CheckpointError",
    "CheckpointIssuer",
    "CheckpointPolicy",
    "CheckpointStore",
    "InconsistentHistoryError",
    "NoteSigner",
    "RollbackDetectedError",
    "SignedState",
    "StateFile",
    "StateFileError",
    "StoredCheckpoint",
    "Witness",
    "WitnessClient",
    "WitnessConflictError",
    "WitnessError",
    "request_cosignatures",
    "write_atomically",
]

CHECKPOINTS_TABLE = "truc_checkpoints"
STATE_FORMAT = "truc.v1/checkpoint-state"


class CheckpointError(LedgerError):
    """Root of the checkpoint issuer's errors."""


class RollbackDetectedError(CheckpointError):
    """The tree is smaller than a checkpoint already signed: the database went back in time."""


class InconsistentHistoryError(CheckpointError):
    """The tree does not extend a checkpoint already signed: signing would equivocate."""


class StateFileError(CheckpointError):
    """The state file is missing, unreadable, or belongs to another log or key."""


class WitnessError(LedgerError):
    """A witness did not cosign; ``reason`` says why (network, HTTP status, bad reply)."""


class WitnessConflictError(WitnessError):
    """The witness's latest cosigned size differs from the old size we sent (HTTP 409)."""

    def __init__(self, known_size: int, message: str = "") -> None:
        super().__init__(message or f"the witness's latest cosigned size is {known_size}")
        self.known_size = known_size


# --- ports ---------------------------------------------------------------------------------


class NoteSigner(Protocol):
    """The hub's Ed25519 key as the issuer needs it (``adapters.crypto.Signer`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign_raw(self, message: bytes) -> bytes: ...


class WitnessClient(Protocol):
    """One witness's add-checkpoint endpoint (``hub.witness.HttpWitnessClient`` fits)."""

    @property
    def name(self) -> str: ...

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> str:
        """Return the witness's signature lines, or raise ``WitnessError``."""
        ...


@dataclass(frozen=True)
class Witness:
    """A trusted witness: the key its cosignatures must verify with, and how to reach it."""

    verifier: Verifier
    client: WitnessClient


# --- policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointPolicy:
    """Sign when ``every_leaves`` new leaves are waiting, or when any are and the last
    checkpoint is ``every_seconds`` old, whichever comes first. Nothing new: nothing signed
    (a checkpoint carries no time, so re-signing the same size says nothing)."""

    every_leaves: int = 1000
    every_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.every_leaves < 1:
            raise ValueError("every_leaves must be at least 1")
        if self.every_seconds < 0:
            raise ValueError("every_seconds must not be negative")

    def due(self, *, signed_size: int, size: int, seconds_since_last: float) -> bool:
        waiting = size - signed_size
        if waiting <= 0:
            return False
        return waiting >= self.every_leaves or seconds_since_last >= self.every_seconds


# --- storage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """One signed checkpoint as kept: the note carries the hub's signature and any
    witness cosignatures collected so far."""

    size: int
    root: bytes
    note: str
    signed_at_ms: int
    published: bool

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(parse_note(self.note).text)


class CheckpointStore:
    """The ``truc_checkpoints`` table: every checkpoint ever signed, one row per size."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self._table = db.table(CHECKPOINTS_TABLE)
        if db.has_table(CHECKPOINTS_TABLE):
            return
        with db.transaction(commit=True) as cursor:
            db.execute(
                cursor,
                f"CREATE TABLE IF NOT EXISTS {self._table} (size BIGINT PRIMARY KEY, "
                f"root {db.blob} NOT NULL, note TEXT NOT NULL, signed_at_ms BIGINT NOT NULL, "
                "published SMALLINT NOT NULL)",
            )

    _COLUMNS = "size, root, note, signed_at_ms, published"

    @staticmethod
    def _row(row: Any) -> StoredCheckpoint:
        return StoredCheckpoint(
            size=int(row["size"]),
            root=bytes(row["root"]),
            note=str(row["note"]),
            signed_at_ms=int(row["signed_at_ms"]),
            published=bool(row["published"]),
        )

    def latest(self, cursor: Any = None, *, published_only: bool = True) -> StoredCheckpoint | None:
        """The largest checkpoint (published ones only, unless told otherwise)."""
        where = "WHERE published = 1 " if published_only else ""
        sql = f"SELECT {self._COLUMNS} FROM {self._table} {where}ORDER BY size DESC LIMIT 1"
        return self._one(cursor, sql, ())

    def get(self, size: int, cursor: Any = None) -> StoredCheckpoint | None:
        sql = f"SELECT {self._COLUMNS} FROM {self._table} WHERE size = ?"
        return self._one(cursor, sql, (size,))

    def _one(self, cursor: Any, sql: str, params: Sequence[Any]) -> StoredCheckpoint | None:
        if cursor is None:
            with self.db.transaction(commit=False) as own:
                return self._one(own, sql, params)
        self.db.execute(cursor, sql, params)
        row = cursor.fetchone()
        return None if row is None else self._row(row)

    def all(self, *, published_only: bool = False) -> list[StoredCheckpoint]:
        """Every checkpoint, by size (they are few: one per N leaves or T seconds)."""
        where = "WHERE published = 1 " if published_only else ""
        with self.db.transaction(commit=False) as cursor:
            self.db.execute(
                cursor, f"SELECT {self._COLUMNS} FROM {self._table} {where}ORDER BY size"
            )
            return [self._row(row) for row in cursor.fetchall()]

    def insert(self, cursor: Any, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        """Store a checkpoint; a row of that size already there must have the same root."""
        existing = self.get(checkpoint.size, cursor)
        if existing is not None:
            if existing.root != checkpoint.root:
                raise InconsistentHistoryError(
                    f"a checkpoint of size {checkpoint.size} with another root is already stored"
                )
            return existing
        self.db.execute(
            cursor,
            f"INSERT INTO {self._table} ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (
                checkpoint.size,
                checkpoint.root,
                checkpoint.note,
                checkpoint.signed_at_ms,
                int(checkpoint.published),
            ),
        )
        return checkpoint

    def update_note(self, cursor: Any, size: int, note: str, published: bool) -> None:
        self.db.execute(
            cursor,
            f"UPDATE {self._table} SET note = ?, published = ? WHERE size = ?",
            (note, int(published), size),
        )


# --- state file ----------------------------------------------------------------------------


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole.

    Write to a temporary file in the same directory, fsync it, rename it over the target,
    then fsync the directory so the rename itself is durable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True)
class SignedState:
    """A checkpoint already signed, and where that is recorded (for error messages)."""

    size: int
    root: bytes
    note: str
    source: str = "state file"


@dataclass(frozen=True)
class StateFile:
    """``{"format", "origin", "size", "note"}`` JSON; the note is the source of truth."""

    path: Path

    def read(self, origin: str) -> SignedState | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"cannot read {self.path}: {error.strerror}") from error
        try:
            data = json.loads(raw)
            note = data["note"]
            if data.get("format") != STATE_FORMAT or not isinstance(note, str):
                raise ValueError("unknown format")
            checkpoint = Checkpoint.parse(parse_note(note).text)
        except (ValueError, KeyError, TypeError, NoteError) as error:
            raise StateFileError(f"{self.path} is not a checkpoint state file: {error}") from None
        if checkpoint.origin != origin:
            raise StateFileError(
                f"{self.path} belongs to log {checkpoint.origin!r}, not {origin!r}"
            )
        if data.get("size") != checkpoint.size:
            raise StateFileError(f"{self.path}: size field disagrees with its note")
        return SignedState(checkpoint.size, checkpoint.root, note)

    def write(self, origin: str, state: SignedState) -> None:
        body = {"format": STATE_FORMAT, "origin": origin, "size": state.size, "note": state.note}
        write_atomically(self.path, json.dumps(body, indent=2).encode("utf-8") + b"\n")


# --- the issuer ----------------------------------------------------------------------------


def _now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


@dataclass
class CheckpointIssuer:
    """Signs checkpoints of ``log`` with ``signer`` under ``policy``; see the module doc.

    All methods do database work: the hub calls them on the ledger's writer thread.
    """

    log: MerkleLog
    signer: NoteSigner
    state_path: Path
    policy: CheckpointPolicy = field(default_factory=CheckpointPolicy)
    origin: str = ""
    witnesses: Sequence[Verifier] = ()
    quorum: int = 0
    adopt_database: bool = False
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.origin = self.origin or self.signer.name
        if self.quorum < 0 or self.quorum > len(self.witnesses):
            raise CheckpointError(
                f"quorum {self.quorum} needs as many trusted witnesses, got {len(self.witnesses)}"
            )
        self.store = CheckpointStore(self.log.db)
        self.state_file = StateFile(self.state_path)
        self._key_id = key_id(self.signer.name, ALG_ED25519, self.signer.public_key)
        self._started = self.clock()
        self._witness_map = verifier_map(self.witnesses)

    # -- reading --------------------------------------------------------------------------

    def latest(self, *, published_only: bool = True) -> StoredCheckpoint | None:
        return self.store.latest(published_only=published_only)

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self.store.all()

    # -- signing --------------------------------------------------------------------------

    def issue_if_due(self) -> StoredCheckpoint | None:
        """Sign a checkpoint of the whole log if the policy says so; else None."""
        last = self.store.latest(published_only=False)
        signed_size = last.size if last else 0
        since = self.clock() - (last.signed_at_ms / 1000 if last else self._started)
        size = self.log.size
        if not self.policy.due(signed_size=signed_size, size=size, seconds_since_last=since):
            return None
        return self.issue()

    def issue(self) -> StoredCheckpoint | None:
        """Sign a checkpoint of the whole log now; None if nothing new since the last one.

        Refuses (raises) rather than sign anything inconsistent with what was signed before.
        """
        tree = self.log.tree
        with self.log.db.transaction(commit=True) as cursor:
            tree.lock(cursor)  # one issuer (and no appender) at a time
            size = tree.read_state(cursor).size
            anchors = self._anchors(cursor)
            if anchors and max(a.size for a in anchors) >= size:
                self._check_anchors(cursor, anchors, size)  # raises on a rollback
                return None  # nothing new since the last checkpoint
            if size == 0:
                return None
            root = tree.with_nodes(cursor, lambda reader: root_from_reader(size, reader))
            self._check_anchors(cursor, anchors, size, root)
            text = Checkpoint(self.origin, size, root).to_text()
            note = sign_note(text, self.signer.name, self.signer.public_key, self.signer.sign_raw)
            signed = StoredCheckpoint(size, root, note, _now_ms(self.clock), self.quorum == 0)
            # Durable outside the database before anyone can see it.
            self.state_file.write(self.origin, SignedState(size, root, note))
            return self.store.insert(cursor, signed)

    def _anchors(self, cursor: Any) -> list[SignedState]:
        """What was signed before: the state file's and the database's latest checkpoint.

        The state file's note must carry this key's signature line (its name and key id);
        the note's own signature is not re-verified: the file is the issuer's own record.
        """
        from_file = self.state_file.read(self.origin)
        latest = self.store.latest(cursor, published_only=False)
        if from_file is not None:
            self._check_own_note(from_file.note)
        if from_file is None and latest is not None:
            if not self.adopt_database:
                raise StateFileError(
                    f"{self.state_path} is missing but the database holds checkpoints up to "
                    f"size {latest.size}: restore the state file (or start once with "
                    "adopt_database) before the hub may sign again"
                )
            self.state_file.write(self.origin, SignedState(latest.size, latest.root, latest.note))
            from_file = SignedState(latest.size, latest.root, latest.note)
        anchors = [replace(from_file, source=str(self.state_path))] if from_file else []
        if latest is not None:
            anchors.append(SignedState(latest.size, latest.root, latest.note, CHECKPOINTS_TABLE))
        return anchors

    def _check_own_note(self, note: str) -> None:
        if not any(
            s.name == self.signer.name and s.key_id == self._key_id
            for s in parse_note(note).signatures
        ):
            raise StateFileError(
                f"{self.state_path} holds a checkpoint not signed by key {self.signer.name!r}"
            )

    def _check_anchors(
        self, cursor: Any, anchors: Sequence[SignedState], size: int, root: bytes | None = None
    ) -> None:
        """Refuse unless the tree at ``size`` extends every anchor; then store any anchor
        the table lacks (a crash after the state file was written)."""
        tree = self.log.tree
        for anchor in anchors:
            if anchor.size > size:
                raise RollbackDetectedError(
                    f"the Merkle log has {size} leaves but a checkpoint of size {anchor.size} "
                    f"was already signed (recorded in {anchor.source}): the database was "
                    "rolled back or truncated; refusing to sign"
                )
        if root is None:
            root = tree.with_nodes(cursor, lambda reader: root_from_reader(size, reader))
        for anchor in anchors:
            old_size = anchor.size

            def prove(reader: Any, old_size: int = old_size) -> list[bytes]:
                return consistency_proof(old_size, size, reader)

            proof = tree.with_nodes(cursor, prove)
            try:
                verify_consistency(anchor.size, size, anchor.root, root, proof)
            except MerkleError as error:
                raise InconsistentHistoryError(
                    f"the Merkle log at size {size} does not extend the checkpoint of size "
                    f"{anchor.size} signed before (recorded in {anchor.source}; {error}): the "
                    "events were changed, or the database was rolled back and regrown; "
                    "refusing to sign"
                ) from None
        for anchor in anchors:
            if self.store.get(anchor.size, cursor) is None:
                self.store.insert(
                    cursor,
                    StoredCheckpoint(
                        anchor.size, anchor.root, anchor.note, _now_ms(self.clock), self.quorum == 0
                    ),
                )

    # -- witnesses ------------------------------------------------------------------------

    def unpublished(self) -> StoredCheckpoint | None:
        """The latest checkpoint if it still lacks its witness quorum, else None."""
        latest = self.store.latest(published_only=False)
        return latest if latest is not None and not latest.published else None

    def add_cosignatures(self, size: int, responses: Sequence[str]) -> StoredCheckpoint:
        """Merge witnesses' add-checkpoint replies into checkpoint ``size``.

        Each reply is appended to the note and verified with the trusted witness keys;
        lines from unknown keys are ignored, a bad line from a trusted key drops that reply.
        The checkpoint becomes published once ``quorum`` trusted witnesses cosigned it.
        """
        with self.log.db.transaction(commit=True) as cursor:
            stored = self.store.get(size, cursor)
            if stored is None:
                raise CheckpointError(f"no checkpoint of size {size} to cosign")
            present = {(s.name, s.key_id) for s in parse_note(stored.note).signatures}
            new: list[NoteSignature] = []
            for reply in responses:
                for signature in self._verified_cosignatures(stored.note, reply):
                    if (signature.name, signature.key_id) not in present:
                        present.add((signature.name, signature.key_id))
                        new.append(signature)
            note = add_signatures(stored.note, new) if new else stored.note
            cosigners = sum(1 for key in present if key in self._witness_map)
            published = stored.published or cosigners >= self.quorum
            if new or published != stored.published:
                self.store.update_note(cursor, size, note, published)
            return StoredCheckpoint(size, stored.root, note, stored.signed_at_ms, published)

    def _verified_cosignatures(self, note: str, reply: str) -> list[NoteSignature]:
        """Trusted cosignatures in one witness reply (checked against the bare text, so a
        cosignature already on the stored note does not make the reply ambiguous)."""
        text = parse_note(note).text
        try:
            verified = verify_note(text + "\n" + reply, self._witness_map)
        except NoteError:
            return []
        return list(verified.signatures)


def request_cosignatures(
    note: str,
    size: int,
    witnesses: Sequence[Witness],
    proof: Callable[[int, int], Sequence[bytes]],
    known_sizes: dict[str, int],
) -> tuple[list[str], dict[str, str]]:
    """Ask every witness to cosign checkpoint ``note`` of ``size`` (blocking network calls).

    ``known_sizes`` remembers each witness's latest cosigned size between calls (0 at first;
    a 409 reply teaches it). Returns the replies and, per witness name, why it did not cosign.
    """
    replies: list[str] = []
    failures: dict[str, str] = {}
    for witness in witnesses:
        name = witness.client.name
        old = known_sizes.get(name, 0)
        for _attempt in range(2):
            try:
                hashes = proof(old, size) if 0 < old <= size else []
                replies.append(witness.client.add_checkpoint(old, hashes, note))
                known_sizes[name] = size
                failures.pop(name, None)
                break
            except WitnessConflictError as conflict:
                failures[name] = str(conflict)
                if conflict.known_size > size or conflict.known_size == old:
                    break
                old = conflict.known_size
                known_sizes[name] = old
            except WitnessError as error:
                failures[name] = str(error)
                break
    return replies, failures
