"""`truc audit ...`: checkpoints, proofs, export and offline verification.

POSITION arguments are LEDGER POSITIONS (the notification id printed by `truc trace`,
`truc status-update` and carried in receipts), not leaf indices: on PostgreSQL positions
may have gaps, and people hold positions, not indices. Sizes (`consistency`) are tree sizes,
i.e. numbers of leaves, as in checkpoints.

Everything here reads; nothing signs. Checkpoints are made by the running hub
(hub.transparency); `export` writes what is in the database as it is, and `verify` needs
nothing but the bundle (and, ideally, the hub's vkey and checkpoints you already hold).
Exit codes: 0 success / intact, 1 verification failed or error, 4 bad input, 5 not found.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from hub.cli.apps import audit_app
from hub.cli.common import DEFAULT_DATA_DIR, ConfigOption, DataDir

if TYPE_CHECKING:
    from hub.config import HubConfig
    from ledger.audit import MemberRecord
    from ledger.checkpoints import CheckpointStore
    from ledger.merkle_log import MerkleLog
    from ledger.note import VerifyFunc

__all__ = ["audit_app"]

EXIT_FAILURE, EXIT_REFUSED, EXIT_NOT_FOUND = 1, 4, 5

Position = Annotated[
    int,
    typer.Argument(
        metavar="POSITION",
        help="Ledger position (as in `truc trace` and receipts), not a leaf index.",
        min=1,
    ),
]


@contextmanager
def _merkle(data_dir: Path, config: Path | None) -> Iterator[tuple[MerkleLog, CheckpointStore]]:
    """The ledger's Merkle log and checkpoint table, closed afterwards; errors exit cleanly."""
    from hub.cli.main import _open_ledger, clean_errors
    from ledger.checkpoints import CheckpointStore
    from ledger.merkle_log import MerkleLog

    with clean_errors():
        ledger = _open_ledger(data_dir, config)
        try:
            merkle = MerkleLog(ledger.recorder)
            yield merkle, CheckpointStore(merkle.db)
        finally:
            ledger.close()


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    from hub.cli.main import fail

    fail(message, code)


def _make_verify(public_key: bytes) -> VerifyFunc:
    from adapters.crypto import verify_raw

    return lambda message, signature: verify_raw(public_key, message, signature)


def _progress(what: str) -> AbstractContextManager[Callable[[int, int], None] | None]:
    """A progress bar on stderr (when it is a terminal); stdout stays clean."""
    from hub.cli.common import progress

    return progress(what)


def _leaf_index(merkle: MerkleLog, position: int) -> int:
    index = merkle.leaf_index_of(position)
    if index is None:
        state = merkle.state()
        _fail(
            f"position {position} is not in the Merkle log (it holds {state.size} leaves, up "
            f"to position {state.last_position}): never recorded, or not logged yet",
            EXIT_NOT_FOUND,
        )
    return index


# -- truc audit checkpoint / vkey ------------------------------------------------------------


@audit_app.command()
def checkpoint(data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None) -> None:
    """Print the latest published checkpoint: a C2SP signed note (origin, size, root)."""
    with _merkle(data_dir, config) as (_merkle_log, store):
        latest = store.latest()
    if latest is None:
        _fail("no checkpoint has been published yet", EXIT_NOT_FOUND)
    sys.stdout.write(latest.note)


@audit_app.command()
def vkey(data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None) -> None:
    """Print the hub's verifier key (C2SP vkey: name+key id+base64(0x01 || public key))."""
    from hub.cli.main import clean_errors
    from hub.config import load_config
    from ledger.note import ALG_ED25519, encode_vkey

    with clean_errors():
        name = load_config(config).name
        public_key = _hub_public_key(name, data_dir)
    print(encode_vkey(name, ALG_ED25519, public_key))


# -- truc audit leaf / prove / consistency ----------------------------------------------------


@audit_app.command()
def leaf(
    position: Position, data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None
) -> None:
    """Write the raw canonical leaf bytes of the event at POSITION to stdout (truc.v1/leaf)."""
    with _merkle(data_dir, config) as (merkle, _store):
        data = merkle.leaf_bytes(_leaf_index(merkle, position))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@audit_app.command()
def prove(
    position: Position, data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None
) -> None:
    """Print a c2sp.org/tlog-proof@v1 for the event at POSITION against the latest checkpoint.

    The proof's `extra` line is the leaf itself, so the proof verifies on its own.
    """
    from ledger.note import TlogProof

    with _merkle(data_dir, config) as (merkle, store):
        index = _leaf_index(merkle, position)
        latest = store.latest()
        if latest is None or index >= latest.size:
            covered = f"size {latest.size}" if latest else "none yet"
            _fail(
                f"position {position} (leaf {index}) is not covered by the latest checkpoint "
                f"({covered}); it will be after the hub's next checkpoint",
                EXIT_NOT_FOUND,
            )
        hashes = merkle.inclusion_proof(index, latest.size)
        data = merkle.leaf_bytes(index)
    sys.stdout.write(TlogProof(index, tuple(hashes), latest.note, extra=data).to_text())


@audit_app.command()
def consistency(
    old_size: Annotated[int, typer.Argument(help="Smaller tree size (leaves).", min=0)],
    new_size: Annotated[int, typer.Argument(help="Larger tree size (leaves).", min=0)],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Print the RFC 9162 consistency proof from OLD_SIZE to NEW_SIZE, one base64 hash a line."""
    import base64

    from ledger.merkle import IndexOutOfRangeError

    with _merkle(data_dir, config) as (merkle, _store):
        try:
            proof = merkle.consistency_proof(old_size, new_size)
        except IndexOutOfRangeError as error:
            _fail(str(error), EXIT_REFUSED)
    for item in proof:
        print(base64.b64encode(item).decode("ascii"))


# -- truc audit export / verify ----------------------------------------------------------------


@audit_app.command()
def export(
    out: Annotated[
        Path, typer.Option("--out", help="Directory to create (must not exist or be empty).")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Write a self-contained audit bundle: events, committed leaves, checkpoints, keys."""
    from hub.cli.main import clean_errors
    from hub.config import load_config
    from hub.transparency import state_path
    from ledger.audit import bundle_checkpoints, export_bundle
    from ledger.checkpoints import StateFile
    from ledger.note import ALG_ED25519, encode_vkey

    with clean_errors():
        hub_config = load_config(config)
        members = _members(hub_config, data_dir)
        hub_key = _hub_public_key(hub_config.name, data_dir)
    with _merkle(data_dir, config) as (merkle, store):
        state = StateFile(state_path(data_dir)).read(hub_config.name)
        checkpoints = bundle_checkpoints(merkle, store.all(), state)
        with _progress("exporting") as progress:
            manifest = export_bundle(
                out,
                log=merkle,
                origin=hub_config.name,
                log_vkey=encode_vkey(hub_config.name, ALG_ED25519, hub_key),
                members=members,
                checkpoints=checkpoints,
                progress=progress,
            )
    print(
        f"exported {manifest.events} events, {manifest.tree_size} logged leaves and "
        f"{len(checkpoints)} checkpoints to {out}",
        file=sys.stderr,
    )


@audit_app.command()
def verify(
    bundle: Annotated[
        Path, typer.Argument(help="Bundle directory written by `truc audit export`.")
    ],
    vkey_: Annotated[
        str | None,
        typer.Option("--vkey", help="The hub's vkey as you know it (default: the bundle's own)."),
    ] = None,
    held: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint note you hold from before (repeat); catches rollbacks.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    allow_uncovered: Annotated[
        bool,
        typer.Option(
            "--allow-uncovered",
            help="Accept events after the last checkpoint (a warning instead of a failure).",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default: CPU count).", min=0)
    ] = None,
) -> None:
    """Verify a bundle offline: every leaf, root, consistency step and signature.

    Exit 0 when the history is intact; 1 naming the first position that fails and why.
    """
    from adapters.audit_signatures import build_checker
    from ledger.audit import AuditError, HeldCheckpoint, verify_bundle

    notes = [HeldCheckpoint(p.read_text("utf-8"), f"held in {p.name}") for p in held or []]
    try:
        with _progress("verifying") as progress:
            report = verify_bundle(
                bundle,
                make_verify=_make_verify,
                checker_factory=build_checker,
                log_vkey=vkey_,
                held=notes,
                allow_uncovered=allow_uncovered,
                workers=workers,
                progress=progress,
            )
    except AuditError as error:
        _fail(f"cannot verify {bundle}: {error}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    first = report.first_failure
    if first is not None:
        for failure in sorted(report.failures, key=lambda f: f.sort_key())[1:]:
            print(f"also: {failure}", file=sys.stderr)
        _fail(f"FAILED at {first}")
    print(
        f"intact: {report.events} events, {report.covered} covered by {report.checkpoints} "
        f"checkpoints, {report.signatures_checked} member signatures checked "
        f"({report.seconds:.1f} s)"
    )


# -- helpers that read configuration and keys -------------------------------------------------


def _hub_public_key(name: str, data_dir: Path) -> bytes:
    """The hub's public key from its key file (hub.bootstrap.hub_signer's), never made here."""
    from adapters.crypto import CryptoError, load_key
    from hub.errors import ConfigError

    path = data_dir / "keys" / "hub.pem"
    if not path.exists():
        _fail(f"no hub key at {path} (has `truc up` run with this --data-dir?)", EXIT_NOT_FOUND)
    try:
        return load_key(path, name).public_key
    except CryptoError as error:
        raise ConfigError(str(error)) from None


def _members(config: HubConfig, data_dir: Path) -> list[MemberRecord]:
    """Members and their keys as the hub knows them: configured keys, else local key files.

    The configuration carries no validity periods yet, so each key is exported as valid
    from the beginning of time and never revoked.
    """
    from adapters.crypto import key_id, load_key
    from hub.bootstrap import key_path
    from ledger.audit import MemberKeyRecord, MemberRecord

    members: list[MemberRecord] = []
    for member in config.members:
        public_key = member.public_key
        path = key_path(data_dir, member)
        if public_key is None and path.exists():
            public_key = load_key(path, member.code).public_key
        keys = (
            ()
            if public_key is None
            else (MemberKeyRecord(key_id(member.code, public_key), public_key),)
        )
        members.append(MemberRecord(member.code, member.name, member.kind, keys))
    return members
