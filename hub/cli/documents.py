"""How the CLI shows documents from the ledger: a document's revoke/update/replace chain
and its deadline per recipient (`truc trace`), and deadlines across the ledger (`truc stats`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
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
