"""How the CLI shows documents from the ledger: a document's revoke/update/replace chain
and its deadline per recipient (`truc trace`), and deadlines across the ledger (`truc stats`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import (
    DEFAULT_DATA_DIR,
    ConfigOption,
    DataDir,
    JsonOption,
    clean_errors,
    open_ledger,
    out,
)
from ledger.application import Ledger, TraceEntry
from ledger.deadlines import STATES, OverdueFold, deadline_of
from ledger.document import Document
from ledger.errors import UnknownDocument

_VERBS = {"updated": "updates", "replaced": "replaces", "revoked": "revokes"}


def loader(ledger: Ledger) -> Callable[[str], Document | None]:
    """Load a document from the ledger, None when it was never recorded."""

    def load(document_id: str) -> Document | None:
        try:
            return ledger.document(document_id)
        except UnknownDocument:
            return None

    return load


def format_chain(chain: list[dict[str, str]], current: str) -> str:
    """One line: `A → B (updates A) → C (replaces A)`, the current document starred."""
    parts = []
    for link in chain:
        name = link["document_id"] + (" *" if link["document_id"] == current else "")
        if link["relation"]:
            name += f" ({_VERBS.get(link['relation'], link['relation'])} {link['of']})"
        parts.append(name)
    return " → ".join(parts)


def deadline_view(entries: list[TraceEntry], now: datetime) -> dict[str, Any] | None:
    """The DueDate and each recipient's deadline state, from a document's trace."""
    deadline = deadline_of((e.event, e.fields, _received(e)) for e in entries)
    if deadline is None:
        return None
    return {
        "due_date": deadline.due.strftime("%Y/%m/%d"),
        "recipients": dict(sorted(deadline.states(now).items())),
    }


def format_deadline(view: dict[str, Any]) -> str:
    states = ", ".join(f"{member} {state}" for member, state in view["recipients"].items())
    return f"due {view['due_date']} (Asia/Ho_Chi_Minh): {states}"


def _received(entry: TraceEntry) -> datetime:
    try:
        return datetime.fromisoformat(str(entry.fields.get("received_at", "")))
    except ValueError:
        return entry.timestamp


def stats_command(
    at: Annotated[
        str | None,
        typer.Option("--at", help="As of this instant (ISO 8601; no offset: Vietnamese time)."),
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Documents with a DueDate: per recipient on time, late, overdue (not registered (03)
    or handled by the due day, Vietnamese time), pending or withdrawn; and the overdue list."""
    from ledger.replay import pages, parse_instant

    with clean_errors():
        now = parse_instant(at) if at else datetime.now(UTC)
        ledger = open_ledger(data_dir, config)
        try:
            fold = OverdueFold()
            for page in pages(ledger):
                for _, event in page:
                    fold.add(event)
        finally:
            ledger.close()
    report = fold.report(now)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"document deadlines as of {report['as_of']}")
    table.add_column("recipient")
    for state in STATES:
        table.add_column(state.replace("_", " "), justify="right")
    for member, counts in report["by_member"].items():
        table.add_row(member, *(str(counts[state]) for state in STATES))
    out.print(table)
    for item in report["overdue"]:
        out.print(
            f"overdue: {item['recipient']} on {item['document_id']} (due {item['due_date']})",
            markup=False,
        )
    out.print(f"{report['documents_with_due_date']} documents with a due date", markup=False)


# -- attachments -----------------------------------------------------------------------------

# Files up to this size travel inline in the signed payload; larger ones are streamed into
# the JetStream object store (UploadAttachment) and travel as a signed reference.
INLINE_MAX = 1024 * 1024
READ_SIZE = 64 * 1024

attachment_app = typer.Typer(help="Attachments of documents.", no_args_is_help=True)


def attachment_for(stub: Any, path: Path, content_type: str) -> Any:
    """An Attachment for `path`: inline when small, else streamed into the object store."""
    from adapters.pb.truc.v1 import document_pb2, exchange_pb2

    if path.stat().st_size <= INLINE_MAX:
        return document_pb2.Attachment(
            name=path.name, content=path.read_bytes(), content_type=content_type
        )

    def chunks() -> Iterator[Any]:
        yield exchange_pb2.AttachmentChunk(name=path.name, content_type=content_type)
        with path.open("rb") as handle:
            while data := handle.read(READ_SIZE):
                yield exchange_pb2.AttachmentChunk(data=data)

    stored = stub.UploadAttachment(chunks(), timeout=3600)
    return document_pb2.Attachment(
        name=path.name, content_type=content_type, object_name=stored.object_name
    )


@attachment_app.command("get")
def get_attachment(
    member: Annotated[str, typer.Argument(help="Member whose copy to read.")],
    document_id: Annotated[str, typer.Argument(help="The document.")],
    index: Annotated[int, typer.Argument(min=0, help="Position among its attachments.")] = 0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Stream an attachment out of the member's adapter, checked against the SHA-256 its
    sender signed (an altered stored object fails with exit 1 and DATA_LOSS)."""
    from adapters.pb.truc.v1 import exchange_pb2
    from hub.cli.main import _document_stub

    with clean_errors():
        stub = _document_stub(data_dir, member)
        stream = stub.DownloadAttachment(
            exchange_pb2.DownloadAttachmentRequest(document_id=document_id, index=index),
            timeout=3600,
        )
        partial = output.with_name(output.name + ".part") if output else None
        sink = partial.open("wb") if partial else sys.stdout.buffer
        try:
            for chunk in stream:
                sink.write(chunk.data)
        except BaseException:
            if partial is not None:
                sink.close()
                partial.unlink(missing_ok=True)
            raise
        if partial is not None and output is not None:
            sink.close()
            partial.replace(output)
        else:
            sink.flush()
