"""`truc ledger ...` and `truc audit replay`: statistics, projections and replay.

Every command here opens the ledger the same way `truc trace` does (the running stack's
SQLite file, else the configuration's storage), works, and closes it. Long walks over the
ledger draw a progress bar on stderr when it is a terminal, so stdout stays parseable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.apps import audit_app, ledger_app
from hub.cli.common import DEFAULT_DATA_DIR, ConfigOption, DataDir, JsonOption

if TYPE_CHECKING:
    from ledger.application import Ledger

__all__ = ["audit_app", "ledger_app"]

EXIT_USAGE, EXIT_NOT_FOUND = 2, 5
# Below this many events a progress bar would only flicker.
PROGRESS_FROM = 5_000


@contextmanager
def _ledger(data_dir: Path, config: Path | None) -> Iterator[Ledger]:
    from hub.cli.main import _open_ledger, clean_errors, fail
    from ledger.base import NotRecorded

    with clean_errors():
        try:
            ledger: Ledger = _open_ledger(data_dir, config)
            try:
                yield ledger
            finally:
                ledger.close()
        except NotRecorded as error:
            fail(str(error), EXIT_NOT_FOUND)


def _progress(what: str, total: int) -> AbstractContextManager[Callable[[int, int], None] | None]:
    """A progress callback drawing on stderr, or None when there is nothing worth drawing."""
    from hub.cli.common import progress

    return progress(what, total, at_least=PROGRESS_FROM)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# -- truc audit replay -------------------------------------------------------------------------


@audit_app.command()
def replay(
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="ISO 8601 instant, e.g. 2026-06-09T14:30:00+07:00; without an offset it is"
            " Vietnamese time (Asia/Ho_Chi_Minh). Compared with the hub's receive time.",
        ),
    ],
    document: Annotated[
        str | None, typer.Option("--document", help="Replay one document (its id).")
    ] = None,
    dossier: Annotated[
        str | None, typer.Option("--dossier", help="Replay one dossier (its code).")
    ] = None,
    member: Annotated[
        str | None, typer.Option("--member", help="Replay one member (its agency code).")
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Rebuild state as it was at an instant, from the recorded events alone."""
    from hub.cli.main import fail
    from ledger import replay as rp

    chosen = [
        (k, v) for k, v in (("document", document), ("dossier", dossier), ("member", member)) if v
    ]
    if len(chosen) > 1:
        fail("give at most one of --document, --dossier, --member", EXIT_USAGE)
    try:
        instant = rp.parse_instant(at)
    except rp.InvalidInstant as error:
        fail(str(error), EXIT_USAGE)
    with _ledger(data_dir, config) as ledger:
        if chosen:
            kind, key = chosen[0]
            one = {
                "document": rp.replay_document,
                "dossier": rp.replay_dossier,
                "member": rp.replay_member,
            }[kind](ledger, key, instant)
            _show_one(one, as_json)
            return
        with _progress("replaying", ledger.size()) as progress:
            state = rp.replay_all(ledger, instant, progress)
    if as_json:
        _print_json(
            {
                "at": state.at.isoformat(),
                "position": state.position,
                "events": state.events,
                "counts": state.counts(),
                "aggregates": state.aggregates,
            }
        )
        return
    from rich.table import Table

    from hub.cli.main import out

    table = Table(title=f"ledger at {state.at.isoformat()}")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, count in state.counts().items():
        table.add_row(kind, str(count))
    out.print(table)
    out.print(f"{state.events} events, up to position {state.position}", markup=False)


def _show_one(one: Any, as_json: bool) -> None:
    from hub.cli.main import err, out

    if as_json:
        _print_json(
            {
                "kind": one.kind,
                "key": one.key,
                "at": one.at.isoformat(),
                "existed": one.existed,
                "version": one.version,
                "position": one.position,
                "state": one.state,
            }
        )
        return
    if not one.existed:
        err.print(f"{one.kind} {one.key} did not exist yet at {one.at.isoformat()}", markup=False)
        return
    from rich.table import Table

    table = Table(
        title=f"{one.kind} {one.key} at {one.at.isoformat()} "
        f"(version {one.version}, position {one.position})"
    )
    table.add_column("field")
    table.add_column("value")
    for name, value in one.state.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(name, shown)
    out.print(table)


# -- truc ledger stats -------------------------------------------------------------------------


@ledger_app.command()
def stats(
    scan: Annotated[
        bool,
        typer.Option(
            "--scan", help="Count from the events themselves instead of the statistics view."
        ),
    ] = False,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Counts of recorded events by event type, by member and by day (Vietnamese time)."""
    from ledger.projections import Views
    from ledger.stats import scan_ledger

    with _ledger(data_dir, config) as ledger:
        if scan:
            with _progress("counting", ledger.size()) as progress:
                counted = scan_ledger(ledger, progress)
            position = ledger.size()
        else:
            views = Views(ledger)
            with _progress("catching up", views.lag()) as progress:
                views.catch_up(progress=progress)
            counted, position = views.stats(), views.position()
    if as_json:
        _print_json(
            {
                "position": position,
                "total": counted.total,
                "by_type": counted.by_type(),
                "by_member": counted.by_member(),
                "by_day": counted.by_day(),
                "rows": [
                    {"day": d, "member": m, "event_type": t, "count": n}
                    for d, m, t, n in counted.rows()
                ],
            }
        )
        return
    from rich.table import Table

    from hub.cli.main import out

    for title, column, counts in (
        ("by event type", "event type", counted.by_type()),
        ("by member", "member", counted.by_member()),
        ("by day (Asia/Ho_Chi_Minh)", "day", counted.by_day()),
    ):
        table = Table(title=title)
        table.add_column(column)
        table.add_column("events", justify="right")
        for key, count in counts.items():
            table.add_row(key, str(count))
        out.print(table)
    out.print(f"{counted.total} events up to position {position}", markup=False)


# -- projections -------------------------------------------------------------------------------


@ledger_app.command()
def rebuild(data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None) -> None:
    """Rebuild the read models (inbox listings, statistics) from zero."""
    from ledger.projections import Views

    with _ledger(data_dir, config) as ledger:
        views = Views(ledger)
        with _progress("rebuilding", ledger.size()) as progress:
            applied = views.rebuild(progress=progress)
        position = views.position()
    print(f"rebuilt the views from {applied} events, up to position {position}")


@ledger_app.command("catch-up")
def catch_up(data_dir: DataDir = DEFAULT_DATA_DIR, config: ConfigOption = None) -> None:
    """Apply to the read models what the ledger recorded since they were last updated."""
    from ledger.projections import Views

    with _ledger(data_dir, config) as ledger:
        views = Views(ledger)
        with _progress("catching up", views.lag()) as progress:
            applied = views.catch_up(progress=progress)
        position = views.position()
    print(f"applied {applied} events; the views are at position {position}")


@ledger_app.command("inbox")
def inbox_view(
    member: Annotated[str, typer.Argument(help="Member (agency code) whose inbox to list.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Documents routed to a member, newest first, from the inbox read model."""
    from dataclasses import asdict

    from ledger.projections import Views

    with _ledger(data_dir, config) as ledger:
        views = Views(ledger)
        views.catch_up()
        rows = views.inbox(member, limit=limit)
    if as_json:
        for row in rows:
            print(json.dumps(asdict(row), ensure_ascii=False))
        return
    from rich.table import Table

    from hub.cli.main import err, out

    if not rows:
        err.print(f"{member}: nothing was routed to it", markup=False)
        return
    table = Table(title=f"ledger inbox of {member}")
    for column in ("position", "document", "from", "subject", "delivered", "status", "state"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.position),
            row.document_id,
            row.sender,
            row.subject,
            row.delivered_at or "-",
            row.status_code or "-",
            row.state + (f" by {row.superseded_by}" if row.superseded_by else ""),
        )
    out.print(table)
