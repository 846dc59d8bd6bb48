"""Offline audit: the export bundle, and its verification without any access to the hub.

An auditor who trusts only the hub's public key (and, optionally, checkpoints they already
hold) must be able to tell from a bundle whether any event was altered, removed, reordered
or inserted after the hub logged it, and where. The bundle (directory, format
``truc-audit-bundle/v1``)::

    manifest.json        format, origin, the hub's vkey, witness vkeys and quorum, leaf
                         format, counts; written last, so a partial export has none
    events.jsonl         every event of the ledger in ledger order, one JSON object a line:
                         {"position", "originator_id", "originator_version", "topic",
                          "state": base64 of the exact stored bytes}
    tree/positions.bin   what the hub's Merkle log committed, leaf by leaf: the ledger
    tree/leaf_hashes.bin position (8-byte big-endian) and the leaf hash (32 bytes)
    checkpoints.jsonl    every signed checkpoint, by size: {"size", "note", "published",
                         "signed_at_ms", "source": "database" | "state-file",
                         "consistency": base64 hashes proving it extends the previous line}
    keys.json            members and their public keys with validity periods

Verification re-derives every leaf from ``events.jsonl`` (``ledger.leaf``), rebuilds the tree
and checks, for every checkpoint signed by the hub (signature checked with the hub's key),
that the rebuilt root at its size equals the signed root, and every consistency proof
between consecutive checkpoints. The rebuilt roots are the verdict; the hub's committed
leaves (``tree/``) only LOCATE a failure: once a signed root fails to match, the first
event that differs from its committed leaf is the failing position (altered, missing,
inserted). Each signed event's member signature is checked with the key valid at its
signing time, through an injected checker (protobuf lives in adapters).

Decisions, stated once:

* Events after the last checkpoint are "not covered by any checkpoint": nothing signed
  vouches for them, so by default that FAILS verification, naming the first uncovered
  position (``allow_uncovered=True`` turns it into a warning, for an export of a busy hub).
* A checkpoint whose size exceeds the events in the bundle means events were removed at
  the end or the database was rolled back: it fails, located at the first missing leaf.
  Checkpoints the auditor held from earlier (``held``) are checked the same way, which is
  how a rolled-back database is caught even when its own checkpoint table went back too.
* The first failure is the one with the lowest leaf index; failures not tied to an event
  (a forged checkpoint signature, two roots for one size) come first.

Speed: events are cut into byte ranges handled by worker processes (parse, encode, hash,
member signatures), which return 32-byte leaf hashes; the parent only compares blobs and
folds the tree. See benchmarks/audit_verify.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ledger.checkpoints import SignedState, StoredCheckpoint
from ledger.errors import LedgerError
from ledger.leaf import LeafFormatError, encode_leaf
from ledger.merkle import HASH_SIZE, MerkleError, verify_consistency
from ledger.merkle_log import MerkleLog
from ledger.note import (
    NoteError,
    OpenedCheckpoint,
    Verifier,
    VerifyFunc,
    open_checkpoint,
    parse_vkey,
    verifier_from_vkey,
)

__all__ = [
    "BUNDLE_FORMAT",
    "AuditError",
    "AuditFailure",
    "AuditReport",
    "BundleCheckpoint",
    "BundleError",
    "HeldCheckpoint",
    "Manifest",
    "MemberKeyRecord",
    "MemberRecord",
    "SignatureChecker",
    "SignatureCheckerFactory",
    "SignedClaim",
    "bundle_checkpoints",
    "export_bundle",
    "read_checkpoints",
    "read_manifest",
    "read_members",
    "signed_claim",
    "verify_bundle",
]

BUNDLE_FORMAT = "truc-audit-bundle/v1"
LEAF_FORMAT = "truc.v1/leaf"

MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
POSITIONS = "tree/positions.bin"
LEAF_HASHES = "tree/leaf_hashes.bin"
CHECKPOINTS = "checkpoints.jsonl"
KEYS = "keys.json"

Progress = Callable[[int, int], None]
"""``(done, total)`` in events; ``total`` is the bundle's own count (for display only)."""

_POS = struct.Struct(">q")
_CHUNK_BYTES = 4 << 20
_INLINE_BELOW_BYTES = 8 << 20  # smaller bundles: no process pool (its start-up costs more)

# Which field of an event names the member whose signed message caused it. An event with a
# signed header whose class is not listed is still checked against the header's sender,
# and reported in the warnings so the rule can be added.
SIGNER_FIELDS: dict[str, str] = {
    "Document.Sent": "sender",
    "Document.StatusReported": "reporter",
    "Document.Delivered": "recipient",
    "RefusedMessage.Refused": "claimed_sender",
    "Dossier.Received": "receiver",
    "Dossier.Transferred": "from_agency",
    "Dossier.StatusChanged": "by",
    "Dossier.Apologized": "by",
    "Dossier.PostalOrdered": "by",
    "Dossier.PostalTracked": "by",
    "Lookup.Requested": "requester",
    "Lookup.Answered": "answered_by",
}


class AuditError(LedgerError):
    """Root of the audit module's errors (a bundle that cannot be read at all)."""


class BundleError(AuditError):
    """The bundle is missing a file or a file breaks the bundle format; names which."""


# --- bundle data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberKeyRecord:
    """One member key and when it spoke for the member (Unix ms; None: open-ended)."""

    key_id: str
    public_key: bytes
    valid_from_ms: int = 0
    valid_until_ms: int | None = None
    revoked_from_ms: int | None = None


@dataclass(frozen=True)
class MemberRecord:
    code: str
    name: str
    kind: str
    keys: tuple[MemberKeyRecord, ...] = ()


@dataclass(frozen=True)
class BundleCheckpoint:
    size: int
    note: str
    published: bool
    signed_at_ms: int
    source: str = "database"
    consistency: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class HeldCheckpoint:
    """A signed checkpoint the auditor obtained independently (e.g. from a receipt)."""

    note: str
    label: str = "held by the auditor"


@dataclass(frozen=True)
class Manifest:
    origin: str
    log_vkey: str
    events: int
    tree_size: int
    witness_vkeys: tuple[str, ...] = ()
    quorum: int = 0
    exported_at: str = ""
    format: str = BUNDLE_FORMAT
    leaf_format: str = LEAF_FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "origin": self.origin,
            "log_vkey": self.log_vkey,
            "witness_vkeys": list(self.witness_vkeys),
            "quorum": self.quorum,
            "leaf_format": self.leaf_format,
            "events": self.events,
            "tree_size": self.tree_size,
            "exported_at": self.exported_at,
        }


@dataclass(frozen=True)
class SignedClaim:
    """What an event says about the signed message that caused it, for the checker."""

    position: int
    topic: str
    signer: str | None  # None: no rule names the signer for this event type
    message_id: str | None
    header_b64: str
    signature_b64: str


SignatureChecker = Callable[[SignedClaim], str | None]
"""Returns None when the member signature is valid, else the reason it is not."""

SignatureCheckerFactory = Callable[[Sequence[MemberRecord]], SignatureChecker]
"""Builds a checker from the bundle's keys. Must be picklable (a module-level function):
worker processes call it once each."""


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFailure:
    """Why verification failed, and where (leaf index and ledger position when known)."""

    kind: str
    reason: str
    leaf_index: int | None = None
    position: int | None = None

    def __str__(self) -> str:
        where = []
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.leaf_index is not None:
            where.append(f"leaf {self.leaf_index}")
        prefix = f"{' '.join(where)}: " if where else ""
        return f"{prefix}{self.kind}: {self.reason}"

    def sort_key(self) -> int:
        return -1 if self.leaf_index is None else self.leaf_index


@dataclass
class AuditReport:
    """The verdict: ``ok`` only when nothing failed; ``first_failure`` says where and why."""

    events: int = 0
    tree_size: int = 0
    checkpoints: int = 0
    covered: int = 0
    signatures_checked: int = 0
    failures: list[AuditFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first_failure(self) -> AuditFailure | None:
        return min(self.failures, key=AuditFailure.sort_key) if self.failures else None


# --- reading the bundle --------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise BundleError(f"{path.name} is missing from the bundle") from None
    except (OSError, ValueError) as error:
        raise BundleError(f"{path.name}: cannot read as JSON: {error}") from None


def read_manifest(bundle: Path) -> Manifest:
    raw = _read_json(bundle / MANIFEST)
    try:
        if raw["format"] != BUNDLE_FORMAT:
            raise BundleError(f"{MANIFEST}: format {raw['format']!r} is not {BUNDLE_FORMAT}")
        if raw.get("leaf_format", LEAF_FORMAT) != LEAF_FORMAT:
            raise BundleError(f"{MANIFEST}: unknown leaf_format {raw['leaf_format']!r}")
        return Manifest(
            origin=str(raw["origin"]),
            log_vkey=str(raw["log_vkey"]),
            events=int(raw["events"]),
            tree_size=int(raw["tree_size"]),
            witness_vkeys=tuple(str(v) for v in raw.get("witness_vkeys", [])),
            quorum=int(raw.get("quorum", 0)),
            exported_at=str(raw.get("exported_at", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{MANIFEST}: missing or invalid field {error}") from None


def _b64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text).encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise BundleError(f"{what} is not base64") from None


def read_members(bundle: Path) -> list[MemberRecord]:
    raw = _read_json(bundle / KEYS)
    members = []
    try:
        for i, member in enumerate(raw["members"]):
            keys = tuple(
                MemberKeyRecord(
                    key_id=str(k["key_id"]),
                    public_key=_b64(k["public_key"], f"{KEYS}: members[{i}] public_key"),
                    valid_from_ms=int(k.get("valid_from_ms") or 0),
                    valid_until_ms=None
                    if k.get("valid_until_ms") is None
                    else int(k["valid_until_ms"]),
                    revoked_from_ms=(
                        None if k.get("revoked_from_ms") is None else int(k["revoked_from_ms"])
                    ),
                )
                for k in member["keys"]
            )
            members.append(
                MemberRecord(str(member["code"]), str(member["name"]), str(member["kind"]), keys)
            )
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{KEYS}: missing or invalid field {error}") from None
    return members


def read_checkpoints(bundle: Path) -> list[BundleCheckpoint]:
    path = bundle / CHECKPOINTS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BundleError(f"{CHECKPOINTS} is missing from the bundle") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(f"{CHECKPOINTS}: cannot read: {error}") from None
    checkpoints = []
    for number, line in enumerate(lines, 1):
        try:
            raw = json.loads(line)
            checkpoints.append(
                BundleCheckpoint(
                    size=int(raw["size"]),
                    note=str(raw["note"]),
                    published=bool(raw["published"]),
                    signed_at_ms=int(raw["signed_at_ms"]),
                    source=str(raw.get("source", "database")),
                    consistency=tuple(
                        _b64(h, f"{CHECKPOINTS} line {number}") for h in raw.get("consistency", [])
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BundleError(f"{CHECKPOINTS} line {number}: invalid: {error}") from None
    return checkpoints


# --- export --------------------------------------------------------------------------------


def _event_line(notification: Any) -> bytes:
    state = notification.state
    if isinstance(state, str):  # a row rewritten by hand as TEXT: export what is there
        state = state.encode("utf-8")
    record = {
        "position": notification.id,
        "originator_id": str(notification.originator_id),
        "originator_version": notification.originator_version,
        "topic": notification.topic,
        "state": base64.b64encode(bytes(state)).decode("ascii"),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def export_bundle(
    out: Path,
    *,
    log: MerkleLog,
    origin: str,
    log_vkey: str,
    members: Sequence[MemberRecord],
    checkpoints: Sequence[BundleCheckpoint],
    witness_vkeys: Sequence[str] = (),
    quorum: int = 0,
    progress: Progress | None = None,
    batch: int = 5000,
) -> Manifest:
    """Write a bundle of everything in the ledger to ``out`` (which must not exist or be empty).

    Read-only on the database. ``checkpoints`` are the stored ones (see
    ``bundle_checkpoints``). Events are taken from the events table as it is now, NOT from
    the tree, so anything changed behind the log shows up in verification.
    """
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} is not empty")
    (out / "tree").mkdir(parents=True, exist_ok=True)
    recorder = log.recorder
    tree_size = log.size
    total = int(recorder.max_notification_id() or 0)
    count = 0
    with (out / EVENTS).open("wb") as events:
        start = 1
        while True:
            notifications = recorder.select_notifications(start, batch)
            if not notifications:
                break
            events.write(b"".join(_event_line(n) for n in notifications))
            count += len(notifications)
            start = notifications[-1].id + 1
            if progress is not None:
                progress(min(start - 1, total), total)
    with (out / POSITIONS).open("wb") as positions, (out / LEAF_HASHES).open("wb") as hashes:
        for leaf in log.leaves(0, tree_size):
            positions.write(_POS.pack(leaf.position))
            hashes.write(leaf.hash)
    with (out / CHECKPOINTS).open("w", encoding="utf-8") as file:
        for item in checkpoints:
            line = {
                "size": item.size,
                "note": item.note,
                "published": item.published,
                "signed_at_ms": item.signed_at_ms,
                "source": item.source,
                "consistency": [base64.b64encode(h).decode("ascii") for h in item.consistency],
            }
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    keys = {
        "members": [
            {
                "code": m.code,
                "name": m.name,
                "kind": m.kind,
                "keys": [
                    {
                        "key_id": k.key_id,
                        "public_key": base64.b64encode(k.public_key).decode("ascii"),
                        "valid_from_ms": k.valid_from_ms,
                        "valid_until_ms": k.valid_until_ms,
                        "revoked_from_ms": k.revoked_from_ms,
                    }
                    for k in m.keys
                ],
            }
            for m in members
        ]
    }
    (out / KEYS).write_text(json.dumps(keys, ensure_ascii=False, indent=2) + "\n", "utf-8")
    manifest = Manifest(
        origin=origin,
        log_vkey=log_vkey,
        events=count,
        tree_size=tree_size,
        witness_vkeys=tuple(witness_vkeys),
        quorum=quorum,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (out / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n", "utf-8")
    return manifest


def bundle_checkpoints(
    log: MerkleLog,
    stored: Sequence[StoredCheckpoint],
    state: SignedState | None = None,
) -> list[BundleCheckpoint]:
    """Checkpoints to export: every stored one (``StoredCheckpoint``), each with the hub's
    consistency proof from the previous one, plus the issuer's state-file checkpoint when
    the table lacks it (after a rollback, that is the evidence)."""
    tree_size = log.size
    result: list[BundleCheckpoint] = []
    previous = 0
    for item in sorted(stored, key=lambda c: c.size):
        proof: tuple[bytes, ...] = ()
        if 0 < previous < item.size <= tree_size:
            proof = tuple(log.consistency_proof(previous, item.size))
        result.append(
            BundleCheckpoint(
                item.size, item.note, item.published, item.signed_at_ms, "database", proof
            )
        )
        previous = item.size
    if state is not None and {c.size: c.root for c in stored}.get(state.size) != state.root:
        result.append(BundleCheckpoint(state.size, state.note, False, 0, "state-file"))
    return result


# --- signature claims ----------------------------------------------------------------------


def signed_claim(position: int, topic: str, state: bytes) -> SignedClaim | None:
    """The member-signature claim an event makes, or None when it carries no signed header.

    Refusals of messages whose signature the hub could not verify (``authenticated``
    false) carry the header as evidence only: there is nothing valid to check.
    """
    if b'"header_b64"' not in state:
        return None
    try:
        payload = json.loads(state)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    header_b64 = payload.get("header_b64")
    signature_b64 = payload.get("signature_b64")
    if not header_b64 or not isinstance(header_b64, str):
        return None
    event_class = topic.partition(":")[2]
    if event_class == "RefusedMessage.Refused" and payload.get("authenticated") is not True:
        return None
    field_name = SIGNER_FIELDS.get(event_class)
    signer = payload.get(field_name) if field_name else None
    message_id = payload.get("message_id")
    return SignedClaim(
        position=position,
        topic=topic,
        signer=(signer if isinstance(signer, str) else "") if field_name else None,
        message_id=message_id if isinstance(message_id, str) else None,
        header_b64=header_b64,
        signature_b64=signature_b64 if isinstance(signature_b64, str) else "",
    )


# --- per-chunk work (worker processes, or inline) ------------------------------------------


@dataclass
class _ChunkResult:
    count: int
    hashes: bytes  # 32 bytes per event
    positions: bytes  # 8 bytes big-endian per event (0 where unreadable)
    failures: list[tuple[int, int | None, str, str]]  # local index, position, kind, reason
    signatures_checked: int = 0
    unknown_signed: dict[str, int] = field(default_factory=dict)


class _Worker:
    """Per-process state: the mapped events file and the member signature checker."""

    def __init__(
        self,
        events_path: str,
        factory: SignatureCheckerFactory | None,
        members: Sequence[MemberRecord],
    ) -> None:
        self._file = open(events_path, "rb")  # noqa: SIM115 - lives as long as the worker
        size = os.fstat(self._file.fileno()).st_size
        self.data: bytes | mmap.mmap = (
            mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        )
        self.checker = factory(members) if factory is not None else None

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()
        self._file.close()

    def process(self, start: int, end: int) -> _ChunkResult:
        sha256 = hashlib.sha256
        loads = json.loads
        b64decode = base64.b64decode
        checker = self.checker
        chunk = self.data[start:end]
        lines = chunk.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        hashes: list[bytes] = []
        positions: list[int] = []
        failures: list[tuple[int, int | None, str, str]] = []
        checked = 0
        unknown: dict[str, int] = {}
        previous = 0
        for local, line in enumerate(lines):
            position: int | None = None
            try:
                record = loads(line)
                position = record["position"]
                topic = record["topic"]
                state = b64decode(record["state"], validate=True)
                leaf = encode_leaf(
                    position, record["originator_id"], record["originator_version"], topic, state
                )
            except (ValueError, KeyError, TypeError, LeafFormatError, binascii.Error) as error:
                failures.append((local, _int_or_none(position), "malformed", _malformed(error)))
                hashes.append(bytes(HASH_SIZE))
                positions.append(_int_or_none(position) or 0)
                continue
            hashes.append(sha256(b"\x00" + leaf).digest())
            positions.append(position)
            if position <= previous:
                failures.append((local, position, "order", f"does not follow position {previous}"))
            previous = max(previous, position)
            if checker is None:
                continue
            claim = signed_claim(position, topic, state)
            if claim is None:
                continue
            if claim.signer is None:
                unknown[claim.topic] = unknown.get(claim.topic, 0) + 1
            checked += 1
            reason = checker(claim)
            if reason is not None:
                failures.append((local, position, "signature", reason))
        return _ChunkResult(
            count=len(lines),
            hashes=b"".join(hashes),
            positions=struct.pack(f">{len(positions)}q", *positions),
            failures=failures,
            signatures_checked=checked,
            unknown_signed=unknown,
        )


def _int_or_none(value: Any) -> int | None:
    """``value`` if it can be a position (a 64-bit int), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def _malformed(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"the event record lacks field {error}"
    return f"the event record is not valid: {error}"


_WORKER: _Worker | None = None


def _init_worker(
    events_path: str, factory: SignatureCheckerFactory | None, members: Sequence[MemberRecord]
) -> None:
    global _WORKER
    _WORKER = _Worker(events_path, factory, members)


def _process(bounds: tuple[int, int]) -> _ChunkResult:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.process(*bounds)


def _chunk_bounds(path: Path, target: int) -> list[tuple[int, int]]:
    """Byte ranges of about ``target`` bytes, each ending after a newline."""
    size = path.stat().st_size
    if size == 0:
        return []
    bounds = []
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = 0
        while start < size:
            end = data.find(b"\n", min(start + target, size - 1))
            end = size if end < 0 else end + 1
            bounds.append((start, end))
            start = end
    return bounds


# --- the tree, folded fast -----------------------------------------------------------------


class _FastFrontier:
    """``ledger.merkle.Frontier`` without per-call checks, for millions of trusted-length
    hashes (tests hold it equal to ``Frontier``)."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []

    def append(self, leaf_hash: bytes) -> None:
        sha256 = hashlib.sha256
        stack = self.stack
        index = self.size
        current = leaf_hash
        while index & 1:
            current = sha256(b"\x01" + stack.pop() + current).digest()
            index >>= 1
        stack.append(current)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        result = self.stack[-1]
        for part in reversed(self.stack[:-1]):
            result = hashlib.sha256(b"\x01" + part + result).digest()
        return result


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Anchor:
    """A checkpoint whose signature verified: its rebuilt root must match at its size."""

    size: int
    root: bytes
    label: str


class _Verification:
    """One verification run: checkpoints first, then the event stream, then the tail."""

    def __init__(
        self,
        bundle: Path,
        manifest: Manifest,
        log: Verifier,
        witnesses: Sequence[Verifier],
        allow_uncovered: bool,
        max_failures: int,
    ) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.log = log
        self.witnesses = witnesses
        self.allow_uncovered = allow_uncovered
        self.max_failures = max_failures
        self.report = AuditReport()
        self.anchors: list[_Anchor] = []
        self.hints: list[AuditFailure] = []
        self.positions = bytearray()
        self.frontier = _FastFrontier()
        self.committed_positions = b""
        self.committed_hashes = b""
        self.committed_cursor = 0
        self.previous_position = 0
        self.unknown_signed: dict[str, int] = {}
        self.verified_size = 0  # every leaf below this matched a signed root
        self.signed_size = 0  # the largest checkpoint whose signature verified

    # -- checkpoints ----------------------------------------------------------------------

    def fail(self, failure: AuditFailure) -> None:
        self.report.failures.append(failure)

    @property
    def full(self) -> bool:
        return len(self.report.failures) >= self.max_failures

    def open(self, note: str, label: str, quorum: int) -> OpenedCheckpoint | None:
        try:
            return open_checkpoint(
                note, self.manifest.origin, self.log, witnesses=self.witnesses, quorum=quorum
            )
        except (NoteError, MerkleError) as error:
            self.fail(AuditFailure("checkpoint", f"the checkpoint {label} is not valid: {error}"))
            return None

    def check_checkpoints(
        self, checkpoints: Sequence[BundleCheckpoint], held: Sequence[HeldCheckpoint]
    ) -> None:
        previous: tuple[int, bytes] | None = None
        roots: dict[int, tuple[bytes, str]] = {}
        for item in sorted(checkpoints, key=lambda c: c.size):
            label = f"of size {item.size} ({item.source})"
            quorum = self.manifest.quorum if item.published else 0
            opened = self.open(item.note, label, quorum)
            if opened is None:
                continue
            tree = opened.checkpoint
            if tree.size != item.size:
                self.fail(
                    AuditFailure("checkpoint", f"the checkpoint {label} has size {tree.size}")
                )
                continue
            self.report.checkpoints += 1
            self._add_anchor(roots, tree.size, tree.root, label)
            if item.source != "database":
                continue
            if previous is not None and item.consistency:
                try:
                    verify_consistency(
                        previous[0], tree.size, previous[1], tree.root, item.consistency
                    )
                except MerkleError as error:
                    self.fail(
                        AuditFailure(
                            "checkpoint",
                            f"the hub's checkpoints of size {previous[0]} and {tree.size} are "
                            f"not consistent: {error}",
                        )
                    )
            previous = (tree.size, tree.root)
        for kept in held:
            opened = self.open(kept.note, kept.label, 0)
            if opened is not None:
                self.report.checkpoints += 1
                tree = opened.checkpoint
                self._add_anchor(roots, tree.size, tree.root, f"of size {tree.size} ({kept.label})")
        self.anchors.sort(key=lambda a: a.size)

    def _add_anchor(
        self, roots: dict[int, tuple[bytes, str]], size: int, root: bytes, label: str
    ) -> None:
        seen = roots.get(size)
        if seen is not None and seen[0] != root:
            self.fail(
                AuditFailure(
                    "checkpoint",
                    f"two checkpoints of size {size} with different roots were signed by the "
                    f"hub ({seen[1]} and {label}): the hub showed two histories",
                )
            )
            return
        roots[size] = (root, label)
        self.signed_size = max(self.signed_size, size)
        if size > 0:
            self.anchors.append(_Anchor(size, root, label))

    # -- events ---------------------------------------------------------------------------

    def load_committed(self) -> None:
        positions = self.bundle / POSITIONS
        hashes = self.bundle / LEAF_HASHES
        if not positions.exists() or not hashes.exists():
            self.report.warnings.append(
                "the bundle has no committed leaves (tree/): failures are located to the "
                "checkpoint interval only"
            )
            return
        self.committed_positions = positions.read_bytes()
        self.committed_hashes = hashes.read_bytes()
        if len(self.committed_positions) // 8 != len(self.committed_hashes) // HASH_SIZE:
            raise BundleError(f"{POSITIONS} and {LEAF_HASHES} disagree on the number of leaves")
        self.report.tree_size = len(self.committed_hashes) // HASH_SIZE

    def position_at(self, index: int) -> int | None:
        if 0 <= index * 8 < len(self.positions):
            return int(_POS.unpack_from(self.positions, index * 8)[0])
        if 0 <= index * 8 < len(self.committed_positions):
            return int(_POS.unpack_from(self.committed_positions, index * 8)[0])
        return None

    def consume(self, result: _ChunkResult) -> None:
        base = self.frontier.size
        for local, position, kind, reason in result.failures:
            self.fail(AuditFailure(kind, reason, base + local, position))
        if result.count and base > 0:
            first = int(_POS.unpack_from(result.positions, 0)[0])
            if 0 < first <= self.previous_position:
                self.fail(
                    AuditFailure(
                        "order", f"does not follow position {self.previous_position}", base, first
                    )
                )
        self.positions += result.positions
        self.report.signatures_checked += result.signatures_checked
        for topic, count in result.unknown_signed.items():
            self.unknown_signed[topic] = self.unknown_signed.get(topic, 0) + count
        self._compare_committed(base, result)
        self._fold(result)
        if result.count:
            last = int(_POS.unpack_from(result.positions, 8 * (result.count - 1))[0])
            self.previous_position = max(self.previous_position, last)

    def _compare_committed(self, base: int, result: _ChunkResult) -> None:
        """Locate differences with the hub's committed leaves (hints until a root fails)."""
        if not self.committed_hashes:
            return
        cursor = self.committed_cursor
        total = len(self.committed_hashes) // HASH_SIZE
        n = result.count
        if (
            cursor == base
            and cursor + n <= total
            and result.hashes == self.committed_hashes[cursor * 32 : (cursor + n) * 32]
            and result.positions == self.committed_positions[cursor * 8 : (cursor + n) * 8]
        ):
            self.committed_cursor = cursor + n
            return
        for k in range(n):
            position = int(_POS.unpack_from(result.positions, 8 * k)[0])
            leaf = result.hashes[32 * k : 32 * k + 32]
            while cursor < total and self._committed_position(cursor) < position:
                missing = self._committed_position(cursor)
                self.hints.append(
                    AuditFailure(
                        "missing",
                        "the event the hub logged here is missing from the events: it was deleted",
                        cursor,
                        missing,
                    )
                )
                cursor += 1
            if cursor >= total:
                continue  # beyond the committed tree: only checkpoints can speak for it
            if self._committed_position(cursor) == position:
                if self.committed_hashes[cursor * 32 : cursor * 32 + 32] != leaf:
                    self.hints.append(
                        AuditFailure(
                            "altered",
                            "this is not the event the hub logged here: it was altered, replaced "
                            "or moved after it was logged",
                            base + k,
                            position,
                        )
                    )
                cursor += 1
            else:
                self.hints.append(
                    AuditFailure(
                        "inserted",
                        "the hub never logged an event here: it was inserted or moved "
                        "after the fact",
                        base + k,
                        position,
                    )
                )
        self.committed_cursor = cursor

    def _committed_roots(self, sizes: Sequence[int]) -> dict[int, bytes]:
        """Roots of the hub's committed leaves at ``sizes`` (only on the failure path)."""
        total = len(self.committed_hashes) // HASH_SIZE
        wanted = sorted({s for s in sizes if 0 < s <= total})
        roots: dict[int, bytes] = {}
        frontier = _FastFrontier()
        for size in wanted:
            while frontier.size < size:
                k = frontier.size
                frontier.append(self.committed_hashes[32 * k : 32 * k + 32])
            roots[size] = frontier.root()
        return roots

    def _committed_position(self, index: int) -> int:
        return int(_POS.unpack_from(self.committed_positions, index * 8)[0])

    def _fold(self, result: _ChunkResult) -> None:
        frontier = self.frontier
        hashes = result.hashes
        anchors = self.anchors
        for k in range(result.count):
            frontier.append(hashes[32 * k : 32 * k + 32])
            while anchors and anchors[0].size == frontier.size:
                self._check_root(anchors.pop(0))

    def _check_root(self, anchor: _Anchor) -> None:
        if self.frontier.root() == anchor.root:
            self.verified_size = max(self.verified_size, anchor.size)
            self.report.covered = max(self.report.covered, anchor.size)
            kept = []
            for hint in self.hints:
                if hint.leaf_index is not None and hint.leaf_index < anchor.size:
                    self.report.warnings.append(
                        f"{hint} -- yet the signed root of size {anchor.size} matches the "
                        "events: the bundle's tree/ files are corrupt, not the events"
                    )
                else:
                    kept.append(hint)
            self.hints = kept
            return
        start = self.verified_size
        confirmation = f" (confirmed: the events do not reproduce the checkpoint {anchor.label})"
        if self._promote(anchor.size, confirmation):
            return  # located: the promoted failures say where
        if any(
            f.leaf_index is not None and f.leaf_index < anchor.size for f in self.report.failures
        ):
            return  # explained by a failure already located below this size
        first, last = self.position_at(start), self.position_at(anchor.size - 1)
        self.fail(
            AuditFailure(
                "root",
                f"leaves {start}..{anchor.size - 1} (positions {first}..{last}) do not "
                f"reproduce the root of the checkpoint {anchor.label}: an event there was "
                "altered, removed, reordered or inserted",
                start,
                first,
            )
        )

    def _promote(self, below: int | None, confirmation: str = "") -> int:
        """Turn located differences below ``below`` (all if None) into failures."""
        kept = []
        promoted = 0
        for hint in self.hints:
            if below is None or (hint.leaf_index is not None and hint.leaf_index < below):
                self.fail(replace(hint, reason=hint.reason + confirmation))
                promoted += 1
            else:
                kept.append(hint)
        self.hints = kept
        return promoted

    # -- after the last event -------------------------------------------------------------

    def stop_early(self) -> None:
        """Too many failures to go on: still report what was located so far."""
        self._promote(None)
        self.report.events = self.frontier.size

    def finish(self, events: int) -> None:
        self.report.events = events
        for topic, count in sorted(self.unknown_signed.items()):
            self.report.warnings.append(
                f"{count} signed events of type {topic} were checked against their header's "
                "sender only: no rule in ledger.audit.SIGNER_FIELDS names their signer"
            )
        total = len(self.committed_hashes) // HASH_SIZE
        for index in range(self.committed_cursor, total):
            position = self._committed_position(index)
            self.hints.append(
                AuditFailure(
                    "missing",
                    "the event the hub logged here is missing from the events: it was deleted "
                    "or the ledger was rolled back",
                    index,
                    position,
                )
            )
        self._promote(None)
        located = any(
            f.leaf_index is not None and self.verified_size <= f.leaf_index < events
            for f in self.report.failures
        )
        committed = self._committed_roots([a.size for a in self.anchors])
        for anchor in self.anchors:  # sizes beyond the events
            # Where the signed history stops being vouched for, unless a located failure
            # or the hub's own committed leaves (matching the signed root) pin it down.
            proven = committed.get(anchor.size) == anchor.root
            start = events if located or proven else self.verified_size
            reason = (
                f"the checkpoint {anchor.label} covers {anchor.size} leaves but the bundle has "
                f"only {events} events: leaves {events}..{anchor.size - 1} are missing"
            )
            if proven:
                reason += (
                    " (the hub's committed leaves reproduce its root: exactly those events "
                    "are gone; the ledger was truncated or rolled back)"
                )
            elif not located:
                unproven = f" (leaves {start}..{events - 1} included)" if start < events else ""
                reason += (
                    f"; no signed root vouches for anything from leaf {start} on{unproven}: "
                    "the ledger was truncated or rolled back"
                )
            where = self.position_at(start) if start < events else None
            self.fail(AuditFailure("truncated", reason, start, where))
        self.anchors = []
        covered = self.signed_size
        if events > covered:
            first, last = self.position_at(covered), self.position_at(events - 1)
            message = (
                f"positions {first}..{last} (leaves {covered}..{events - 1}) are not covered "
                "by any checkpoint signed by the hub"
            )
            if self.allow_uncovered:
                self.report.warnings.append(message)
            else:
                self.fail(AuditFailure("uncovered", message, covered, first))
        if self.manifest.events != events:
            self.report.warnings.append(
                f"the manifest announces {self.manifest.events} events, the bundle holds {events}"
            )


@contextmanager
def _results(
    events_path: Path,
    workers: int | None,
    factory: SignatureCheckerFactory | None,
    members: Sequence[MemberRecord],
) -> Iterator[Iterator[_ChunkResult]]:
    """Per-chunk results in order: from worker processes, or in this one for small bundles."""
    bounds = _chunk_bounds(events_path, _CHUNK_BYTES)
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1 or events_path.stat().st_size < _INLINE_BELOW_BYTES:
        worker = _Worker(str(events_path), factory, members)
        try:
            yield (worker.process(start, end) for start, end in bounds)
        finally:
            worker.close()
        return
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=get_context("spawn"),  # no fork of a threaded parent
        initializer=_init_worker,
        initargs=(str(events_path), factory, members),
    )
    try:
        yield pool.map(_process, bounds)
    except BrokenProcessPool as error:
        raise AuditError(f"a verification worker process died: {error}") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def verify_bundle(
    bundle: Path,
    *,
    make_verify: Callable[[bytes], VerifyFunc],
    checker_factory: SignatureCheckerFactory | None = None,
    log_vkey: str | None = None,
    held: Sequence[HeldCheckpoint] = (),
    allow_uncovered: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    max_failures: int = 20,
) -> AuditReport:
    """Verify a bundle offline; never raises for a failed check, only for an unreadable bundle.

    ``make_verify`` binds an Ed25519 public key to a ``(message, signature) -> bool``
    function (the hub's checkpoints, witness cosignatures). ``log_vkey`` pins the hub's key
    (default: the bundle's own, which the report then names in a warning). ``workers``:
    processes for the event stream (default: CPU count; 0 or 1: in this process).
    """
    started = time.perf_counter()
    manifest = read_manifest(bundle)
    checkpoints = read_checkpoints(bundle)
    members = read_members(bundle) if checker_factory is not None else []
    vkey = log_vkey or manifest.log_vkey
    try:
        log = verifier_from_vkey(vkey, make_verify)
        witnesses = [verifier_from_vkey(v, make_verify) for v in manifest.witness_vkeys]
        parsed = parse_vkey(vkey)
    except NoteError as error:
        raise BundleError(f"hub or witness vkey is invalid: {error}") from None
    run = _Verification(bundle, manifest, log, witnesses, allow_uncovered, max(1, max_failures))
    if log_vkey is None:
        run.report.warnings.append(
            f"trusting the bundle's own hub key {parsed.name}+{parsed.key_id.hex()}; "
            "pin it with the key you know"
        )
    elif log_vkey != manifest.log_vkey:
        run.report.warnings.append("the bundle names another hub key than the one pinned")
    if checker_factory is None:
        run.report.warnings.append("member signatures were not checked")
    run.check_checkpoints(checkpoints, held)
    run.load_committed()
    events_path = bundle / EVENTS
    if not events_path.exists():
        raise BundleError(f"{EVENTS} is missing from the bundle")
    with _results(events_path, workers, checker_factory, members) as results:
        for result in results:
            run.consume(result)
            if progress is not None:
                progress(run.frontier.size, manifest.events)
            if run.full:
                run.report.warnings.append("stopped after the first failures; fix and re-run")
                run.stop_early()
                break
        else:
            run.finish(run.frontier.size)
    report = run.report
    report.seconds = time.perf_counter() - started
    return report
