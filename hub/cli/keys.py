"""`truc keys ...`: rotate a member's signing key, revoke a compromised one, list them.

Keys of members whose adapters run in this stack live under <data-dir>/keys/. A running
`truc up` is told with SIGHUP and takes the change without a restart: its hub judges with the
new registry, the adapter signs with its newest valid key, and the change is recorded in the
ledger's Member aggregate.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import DEFAULT_DATA_DIR, DataDir

keys_app = typer.Typer(help="Members' signing keys: rotate, revoke, list.", no_args_is_help=True)


def _parse_instant(text: str) -> int:
    """ISO 8601 (naive = Vietnamese time) or 'now', as Unix milliseconds."""
    from ledger.replay import parse_instant

    if text == "now":
        return time.time_ns() // 1_000_000
    return int(parse_instant(text).timestamp() * 1000)


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _tell_running_stack(data_dir: Path) -> str:
    """SIGHUP the running stack, if any, and wait (with a deadline) until it has reloaded."""
    from hub.errors import StackNotRunning
    from hub.stackfile import read_stack

    try:
        info = read_stack(data_dir)
    except StackNotRunning:
        return "no running stack: the change applies at the next `truc up`"
    os.kill(info.pid, signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if read_stack(data_dir).keys_generation > info.keys_generation:
            return f"running stack (pid {info.pid}) reloaded its keys"
        time.sleep(0.05)  # polling the stack file against a deadline
    raise StackNotRunning(f"running stack (pid {info.pid}) did not reload its keys within 15 s")


@keys_app.command("rotate")
def rotate(
    member: Annotated[str, typer.Argument(help="Agency code whose key to rotate.")],
    overlap: Annotated[
        float, typer.Option("--overlap", help="Seconds the old key stays valid (in flight).")
    ] = 3600.0,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Make a new signing key for MEMBER (the old one retires after --overlap); prints its id."""
    from adapters.keystore import KeyStore, KeyStoreError
    from hub.cli.main import clean_errors, err, fail

    with clean_errors():
        try:
            record = KeyStore(data_dir / "keys").rotate(
                member, time.time_ns() // 1_000_000, int(overlap * 1000)
            )
        except KeyStoreError as error:
            fail(str(error), 4)
        err.print(_tell_running_stack(data_dir), markup=False)
    print(record.key_id)


@keys_app.command("revoke")
def revoke(
    member: Annotated[str, typer.Argument(help="Agency code.")],
    key_id: Annotated[str, typer.Argument(help="The compromised key's id (8 hex characters).")],
    from_: Annotated[
        str,
        typer.Option("--from", help="Revoked from this instant (ISO 8601, or 'now')."),
    ] = "now",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Revoke KEY_ID of MEMBER from an instant: anything it signed from then on is refused."""
    from adapters.keystore import KeyStore, KeyStoreError
    from hub.cli.main import clean_errors, err, fail

    with clean_errors():
        try:
            at = _parse_instant(from_)
        except Exception as error:  # a clear message for any unparsable instant
            fail(f"--from: {error}", 4)
        try:
            record = KeyStore(data_dir / "keys").revoke(member, key_id, at)
        except KeyStoreError as error:
            fail(str(error), 4)
        err.print(_tell_running_stack(data_dir), markup=False)
    print(f"{record.key_id} revoked from {_iso(record.revoked_from_ms)}")


@keys_app.command("list")
def list_keys(
    member: Annotated[str, typer.Argument(help="Agency code.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Every key MEMBER had here, with its validity."""
    from adapters.keystore import KeyStore
    from hub.cli.main import out

    records = KeyStore(data_dir / "keys").records(member)
    rows = [
        {
            "key_id": r.key_id,
            "valid_from": _iso(r.valid_from_ms) if r.valid_from_ms else "",
            "valid_until": _iso(r.valid_until_ms),
            "revoked_from": _iso(r.revoked_from_ms),
        }
        for r in records
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"keys of {member}")
    for column in ("key id", "valid from", "valid until", "revoked from"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["key_id"], row["valid_from"], row["valid_until"], row["revoked_from"])
    out.print(table)
