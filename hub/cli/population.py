"""Population look-ups on the command line.

- `truc lookup`: act as an agency system and call Verify on its adapter (a look-up through
  the hub, recorded in the ledger under a pseudonym).
- `truc population sample`: a few synthetic citizens of the reference register, to try
  look-ups with (the register stands in for the national database; nobody here is real).
- `truc audit access-report ID`: every agency that looked a citizen up, when, why, under
  which law, with what outcome and what was disclosed (readable until the key is shredded).
- `truc audit shred ID`: erase the citizen's key; the ledger's ciphertext stays, unreadable.

ID numbers are read from arguments and never written to the ledger or logs.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import grpc
import typer
from rich.table import Table

from hub.cli.apps import audit_app
from hub.cli.common import (
    DEFAULT_DATA_DIR,
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    ConfigOption,
    DataDir,
    JsonOption,
    clean_errors,
    fail,
    open_ledger,
    out,
    progress,
)

if TYPE_CHECKING:
    from adapters.population.vault import CitizenVault
    from ledger.access_report import AccessEntry

population_app = typer.Typer(
    help="The synthetic reference population register (it stands in for the real one).",
    no_args_is_help=True,
)

IdNumber = Annotated[str, typer.Argument(metavar="ID", help="The citizen's 12-digit number.")]


def _check_id(number: str) -> None:
    from ledger.citizen_id import InvalidCitizenId, parse_citizen_id

    try:
        parse_citizen_id(number, "ID")
    except InvalidCitizenId as error:
        fail(str(error), EXIT_REFUSED)


def _vault(data_dir: Path) -> CitizenVault:
    from adapters.population.vault import CitizenVault

    return CitizenVault(data_dir / "secrets", create=False)


def lookup_command(
    member: Annotated[str, typer.Option("--from", help="Asking member's agency code.")],
    id_number: Annotated[str, typer.Option("--id", help="The citizen's 12-digit number.")],
    full_name: Annotated[str, typer.Option("--name", help="Full name, as on the papers.")],
    date_of_birth: Annotated[str, typer.Option("--dob", help="Date of birth, yyyy-MM-dd.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why (mandatory).")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="Which law (mandatory).")],
    officer: Annotated[str, typer.Option("--officer", help="Who asks (mandatory).")],
    attributes: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="Attribute to disclose if allowed (repeat)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 10.0,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Verify a citizen against the population register, through the hub."""
    from adapters.pb.truc.v1 import population_pb2, population_pb2_grpc

    with clean_errors():
        stub = population_pb2_grpc.PopulationLookupStub(_adapter_channel(data_dir, member))
        answer = stub.Verify(
            population_pb2.VerifyRequest(
                id_number=id_number,
                full_name=full_name,
                date_of_birth=date_of_birth,
                purpose=purpose,
                legal_basis=legal_basis,
                officer=officer,
                attributes=attributes or [],
                timeout_ms=int(timeout * 1000),
            ),
            timeout=timeout + 5,
        )
    result = {
        "lookup_id": answer.lookup_id,
        "matched": answer.matched,
        "attributes": dict(answer.attributes),
        "answered_by": answer.answered_by,
        "ledger_position": answer.ledger_position,
    }
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print("matched" if answer.matched else "not matched", markup=False)
    for name, value in sorted(answer.attributes.items()):
        out.print(f"  {name}: {value}", markup=False)
    out.print(
        f"look-up {answer.lookup_id}, answered by {answer.answered_by}, ledger position"
        f" {answer.ledger_position}",
        markup=False,
    )


def _adapter_channel(data_dir: Path, member: str) -> grpc.Channel:
    from hub.cli.main import _channel_credentials
    from hub.stackfile import read_stack

    info = read_stack(data_dir)
    endpoint = info.endpoint(member)
    if info.grpc_tls == "off":
        return grpc.insecure_channel(endpoint.grpc)
    return grpc.secure_channel(endpoint.grpc, _channel_credentials(info, member))


@population_app.command("sample")
def sample(
    count: Annotated[int, typer.Option("-n", "--count", help="How many citizens.", min=1)] = 5,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.", min=0)] = 0,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Print synthetic citizens of the reference register (made by `truc up`)."""
    from adapters.population.register import RegisterStore

    path = data_dir / "population" / "register.sqlite3"
    if not path.exists():
        fail(f"no reference register at {path} (has `truc up` run with this --data-dir?)", 3)
    store = RegisterStore(path)
    try:
        citizens = store.sample(count, offset)
    finally:
        store.close()
    if as_json:
        for citizen in citizens:
            print(json.dumps(asdict(citizen), ensure_ascii=False))
        return
    table = Table("id number", "full name", "born", "sex", "place of birth", "residence")
    for c in citizens:
        table.add_row(
            c.id_number, c.full_name, c.date_of_birth, c.sex, c.place_of_birth, c.place_of_residence
        )
    out.print(table)


@audit_app.command("access-report")
def access_report_command(
    id_number: IdNumber,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Every agency that looked this citizen up: when, who, why, under which law, outcome."""
    from adapters.population.vault import VaultError
    from hub.lookups import seal_context
    from ledger.access_report import access_report

    _check_id(id_number)
    with clean_errors():
        try:
            vault = _vault(data_dir)
        except VaultError as error:
            fail(str(error), 3)
        pseudonym = vault.pseudonym(id_number)
        ledger = open_ledger(data_dir, config)
        try:
            with progress("reading the ledger", ledger.size(), at_least=100_000) as advance:
                entries = access_report(ledger, pseudonym, advance)
            names = _member_names(ledger, {e.requester for e in entries})
        finally:
            ledger.close()
        rows = []
        for entry in entries:
            disclosed: dict[str, str] | str = {}
            if entry.sealed_attributes:
                opened = vault.open(
                    pseudonym, entry.sealed_attributes, seal_context(entry.lookup_id)
                )
                disclosed = "shredded" if opened is None else json.loads(opened)
            rows.append(_row(entry, names.get(entry.requester, ""), disclosed))
        vault.close()
    if as_json:
        print(
            json.dumps({"subject_digest": pseudonym, "lookups": rows}, ensure_ascii=False, indent=2)
        )
        return
    if not rows:
        out.print("nobody looked this citizen up", markup=False)
        return
    table = Table(
        "when (Vietnam, UTC+7)",
        "agency",
        "officer",
        "purpose",
        "legal basis",
        "asked for",
        "outcome",
        "disclosed",
        title=f"Look-ups of citizen {pseudonym[:16]}… ({len(rows)})",
    )
    for row in rows:
        disclosed = row["disclosed"]
        table.add_row(
            _vietnam_time(row["requested_at"]),
            f"{row['requester']}\n{row['requester_name']}".strip(),
            row["officer"],
            row["purpose"],
            row["legal_basis"],
            ", ".join(["match", *row["attributes"]]),
            row["outcome"]
            + (f" ({row['refused_reason'].split(':')[0]})" if row["refused_reason"] else ""),
            disclosed
            if isinstance(disclosed, str)
            else "\n".join(f"{k}: {v}" for k, v in disclosed.items()) or "—",
        )
    out.print(table)


def _vietnam_time(iso: str) -> str:
    """The hub's receive time (UTC in the ledger) as a citizen reads it: Vietnam has no
    daylight saving, so UTC+7 all year."""
    from datetime import datetime, timedelta, timezone

    try:
        moment = datetime.fromisoformat(iso).astimezone(timezone(timedelta(hours=7)))
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _row(entry: AccessEntry, name: str, disclosed: dict[str, str] | str) -> dict[str, Any]:
    return {
        "lookup_id": entry.lookup_id,
        "position": entry.position,
        "requested_at": entry.requested_at,
        "requester": entry.requester,
        "requester_name": name,
        "officer": entry.officer,
        "purpose": entry.purpose,
        "legal_basis": entry.legal_basis,
        "responder": entry.responder,
        "attributes": list(entry.attributes),
        "outcome": entry.outcome,
        "answered_at": entry.answered_at,
        "answer_position": entry.answer_position,
        "disclosed_names": list(entry.disclosed),
        "refused_reason": entry.refused_reason,
        "disclosed": disclosed,
    }


def _member_names(ledger: Any, codes: set[str]) -> dict[str, str]:
    from ledger.base import NotRecorded

    names = {}
    for code in codes:
        try:
            names[code] = ledger.member(code).name
        except NotRecorded:
            names[code] = ""
    return names


@audit_app.command("shred")
def shred_command(
    id_number: IdNumber,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Erase the citizen's key (crypto-shredding): the attributes disclosed about them stay in
    the ledger as ciphertext nobody can read; the ledger, its proofs and bundles are intact."""
    from adapters.population.vault import VaultError

    del config  # accepted like every audit command's; the key table is in the data dir
    _check_id(id_number)
    try:
        vault = _vault(data_dir)
    except VaultError as error:
        fail(str(error), 3)
    try:
        pseudonym = vault.pseudonym(id_number)
        if not vault.shred(pseudonym):
            fail(
                f"ID: no key for citizen {pseudonym[:16]}… (nothing was kept, or shredded)",
                EXIT_NOT_FOUND,
            )
    finally:
        vault.close()
    out.print(
        f"shredded the key of citizen {pseudonym[:16]}…: what the ledger keeps about them can"
        " no longer be decrypted; the ledger itself is unchanged",
        markup=False,
    )
