"""`truc edxml import|export`: official documents as edXML packages (QCVN 102:2016).

Both talk to a member's adapter over gRPC (SendEdxml, GetEdxml), so the adapter parses and
writes the packages: the CLI only reads and writes files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import (
    DEFAULT_DATA_DIR,
    EXIT_NOT_RUNNING,
    ConfigOption,
    DataDir,
    clean_errors,
    fail,
    open_ledger,
)

edxml_app = typer.Typer(
    help="Send an edXML package through the hub, or write a document back as edXML.",
    no_args_is_help=True,
)


@edxml_app.command("import")
def import_package(
    path: Annotated[Path, typer.Argument(help="The .edxml package.", exists=True, dir_okay=False)],
    member: Annotated[str, typer.Option("--as", help="Sending member (its From/OrganId).")],
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once queued, not once the hub recorded it.")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Send an edXML package; prints the new document id alone on stdout."""
    from adapters.pb.truc.v1 import exchange_pb2
    from hub.cli.main import _document_stub

    with clean_errors():
        stub = _document_stub(data_dir, member)
        response = stub.SendEdxml(
            exchange_pb2.SendEdxmlRequest(edxml=path.read_bytes(), wait_for_receipt=not no_wait),
            timeout=60,
        )
    print(response.document_id)


@edxml_app.command("export")
def export_package(
    document_id: Annotated[str, typer.Argument(help="Document id printed by `truc send`.")],
    member: Annotated[
        str | None,
        typer.Option("--as", help="Member whose copy to write (default: a recipient's)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Write a document this member sent or received as an edXML package."""
    from adapters.pb.truc.v1 import exchange_pb2
    from hub.cli.main import _document_stub

    with clean_errors():
        member = member or _holder(data_dir, config, document_id)
        stub = _document_stub(data_dir, member)
        package = stub.GetEdxml(
            exchange_pb2.GetDocumentRequest(document_id=document_id), timeout=30
        )
    if output is None:
        sys.stdout.buffer.write(package.edxml)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(package.edxml)


def _holder(data_dir: Path, config: Path | None, document_id: str) -> str:
    """A member of the running stack that holds the document: a recipient, else the sender
    (from the ledger, which knows who took part but not the document's content)."""
    from hub.stackfile import read_stack

    ledger = open_ledger(data_dir, config)
    try:
        document = ledger.document(document_id)
    finally:
        ledger.close()
    running = set(read_stack(data_dir).members)
    for candidate in [*document.recipients, document.sender]:
        if candidate in running:
            return str(candidate)
    fail(f"no member holding document {document_id} has an adapter in this stack", EXIT_NOT_RUNNING)
