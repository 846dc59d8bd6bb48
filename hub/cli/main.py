"""The `truc` command line.

Contract (tools and tests depend on it): every command takes `--data-dir` (default
$TRUC_DATA_DIR, else ./var); exit 0 on success, otherwise non-zero with a one-line reason on
stderr. Exit codes: 1 failure, 2 usage, 3 stack not running, 4 refused (bad input or the hub
said no), 5 not found.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from rich.table import Table

from hub import runtime

app = typer.Typer(
    help="Truc: the national interoperability hub (hub, adapters, ledger, audit).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
from hub.cli.common import (  # noqa: E402 - after the app, which the commands decorate
    DEFAULT_DATA_DIR,
    EXIT_FAILURE,
    EXIT_NOT_FOUND,
    EXIT_NOT_RUNNING,
    EXIT_REFUSED,
    DataDir,
    clean_errors,
    err,
    fail,
    open_ledger,
    out,
)

# Kept for modules that imported it from here.
_open_ledger = open_ledger
__all__ = [
    "DEFAULT_DATA_DIR",
    "EXIT_FAILURE",
    "EXIT_NOT_FOUND",
    "EXIT_NOT_RUNNING",
    "EXIT_REFUSED",
    "DataDir",
    "app",
    "clean_errors",
    "err",
    "fail",
    "out",
]


# -- up ---------------------------------------------------------------------------------------


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Hub configuration (TOML); the demo when omitted."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs.")] = False,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar="TRUC_LOG_LEVEL",
            help="debug, info, warning or error (JSON lines on stderr).",
        ),
    ] = "info",
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="all (hub, NATS and adapters in one process), hub (the hub alone), "
            "adapters (the adapters alone, against --nats-url or the hub on this data dir) or "
            "followers (the Merkle log, checkpoints, proofs and read models alone, likewise).",
        ),
    ] = "all",
    followers: Annotated[
        bool,
        typer.Option(
            "--followers/--no-followers",
            help="Run the Merkle log, checkpoints, proofs and read models in this hub's "
            "process (--no-followers: in `truc up --role followers` beside it, which keeps "
            "their CPU off the hub's interpreter).",
        ),
    ] = True,
    nats_url: Annotated[
        str | None,
        typer.Option("--nats-url", help="An existing NATS (overrides [hub] nats_url)."),
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option(
            "--member",
            help="With --role adapters: only this member's adapter (repeat for several), so "
            "that each agency's adapter can run in a process of its own.",
        ),
    ] = None,
) -> None:
    """Start the hub, NATS (embedded unless configured), the ledger and one adapter per member."""
    import dataclasses

    from hub.bootstrap import (
        AdapterGroup,
        Stack,
        start_adapters,
        start_ledger_followers,
        start_stack,
    )
    from hub.config import load_config
    from hub.followers import FollowerGroup
    from hub.logs import setup_logging

    level = logging.getLevelNamesMapping().get(log_level.upper())
    if level is None:
        fail(f"--log-level: {log_level!r} is not one of debug, info, warning, error", 2)
    setup_logging(logging.DEBUG if verbose else level)
    if role not in ("all", "hub", "adapters", "followers"):
        fail(f"--role: {role!r} is not one of all, hub, adapters, followers", 2)
    if member and role != "adapters":
        fail(f"--member: only with --role adapters (not {role})", 2)
    with clean_errors():
        hub_config = load_config(config)
    if nats_url is not None:
        hub_config = dataclasses.replace(hub_config, nats_url=nats_url)

    def say(line: str) -> None:
        print(line, flush=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[None]] = set()

        def reload_keys() -> None:
            if not isinstance(stack, Stack):
                return
            task = asyncio.ensure_future(stack.reload_keys())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload_keys)
        say(f"truc: starting with {hub_config.source}, data in {data_dir.resolve()}")
        stack: Stack | AdapterGroup | FollowerGroup
        if role == "adapters":
            stack = await start_adapters(
                hub_config, data_dir, progress=say, members=tuple(member or ())
            )
            members = ", ".join(f"{c}={a.address}" for c, a in stack.adapters.items())
            say(f"ready role=adapters nats={stack.nats_url} adapters: {members}")
        elif role == "followers":
            stack = await start_ledger_followers(hub_config, data_dir, progress=say)
            say(
                f"ready role=followers nats={stack.nats_url} "
                f"ledger={stack.ledger.storage.describe()}"
            )
        else:
            stack = await start_stack(
                hub_config,
                data_dir,
                progress=say,
                run_adapters=role == "all",
                run_followers=followers,
            )
            members = ", ".join(f"{c}={a.address}" for c, a in stack.adapters.items())
            members += "".join(f", {c}={p.address}" for c, p in stack.population.items())
            say(
                f"ready {'role=hub ' if role == 'hub' else ''}nats={stack.nats_url} "
                f"monitor={stack.nats_monitor_url or '-'} "
                f"ledger={stack.ledger.storage.describe()} "
                f"metrics={stack.metrics_exporter.url if stack.metrics_exporter else '-'} "
                f"dashboard={stack.dashboard_url or '-'} adapters: {members}"
            )
        say("press Ctrl-C to stop")
        await stop.wait()
        say("truc: stopping (finishing work in flight)")
        await stack.stop()
        say("truc: stopped")

    runtime.tune_collector()
    with clean_errors():
        runtime.run(run())


# -- send -------------------------------------------------------------------------------------


@app.command()
def send(
    sender: Annotated[str, typer.Option("--from", help="Sending member's agency code.")],
    recipients: Annotated[list[str], typer.Option("--to", help="Recipient agency code (repeat).")],
    subject: Annotated[str, typer.Option("--subject", help="Trích yếu: at most 500 characters.")],
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", help="File to attach (repeat).", exists=True, dir_okay=False),
    ] = None,
    content: Annotated[
        str, typer.Option("--content", help="Nội dung: at most 500 characters.")
    ] = "",
    notation: Annotated[
        str, typer.Option("--notation", help="Code notation, e.g. VPCP-TTĐT.")
    ] = "",
    number: Annotated[str, typer.Option("--number", help="Code number, e.g. 7816.")] = "",
    priority: Annotated[int, typer.Option("--priority", help="0 normal .. 4 timed express.")] = 0,
    due_date: Annotated[str, typer.Option("--due-date", help="Hạn xử lý, yyyy/MM/dd.")] = "",
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once queued, not once the hub recorded it.")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Send a document; prints the new document id alone on stdout. Files over 1 MiB are
    streamed into the JetStream object store and travel as signed references."""
    from adapters.pb.truc.v1 import document_pb2, exchange_pb2
    from hub.cli.documents import attachment_for

    with clean_errors():
        stub = _document_stub(data_dir, sender)
        document = document_pb2.Document(
            subject=subject,
            content=content,
            code=document_pb2.DocumentCode(code_number=number, code_notation=notation),
            other_info=document_pb2.OtherInfo(priority=priority),
            due_date=due_date,
            from_organ=document_pb2.Organization(organ_id=sender),
            to_organs=[document_pb2.Organization(organ_id=r) for r in recipients],
        )
        for path in attach or []:
            document.attachments.append(attachment_for(stub, path, _content_type(path)))
        response = stub.SendDocument(
            exchange_pb2.SendDocumentRequest(
                recipients=recipients, document=document, wait_for_receipt=not no_wait
            ),
            timeout=30,
        )
    print(response.document_id)


def _content_type(path: Path) -> str:
    import mimetypes

    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# -- status -----------------------------------------------------------------------------------


@app.command("status-update")
def status_update(
    member: Annotated[str, typer.Argument(help="Member reporting the status.")],
    document_id: Annotated[str, typer.Argument(help="Document the status is about.")],
    code: Annotated[str, typer.Argument(help="edXML status code: 01..06, 13, 15, 16.")],
    description: Annotated[str, typer.Option("--description", help="Reason or note.")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Report an edXML status on a document; prints its ledger position."""
    from adapters.pb.truc.v1 import exchange_pb2

    with clean_errors():
        stub = _document_stub(data_dir, member)
        response = stub.UpdateStatus(
            exchange_pb2.UpdateStatusRequest(
                document_id=document_id,
                status_code=code,
                description=description,
                wait_for_receipt=True,
            ),
            timeout=30,
        )
    print(response.ledger_position)


# -- inbox ------------------------------------------------------------------------------------


@app.command()
def inbox(
    member: Annotated[str, typer.Argument(help="Member whose inbox to read.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for new items.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="Only items not yet acknowledged.")
    ] = False,
    ack: Annotated[
        bool, typer.Option("--ack", help="Acknowledge each item shown (act as the agency system).")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Print (or follow) what arrived for a member: documents, statuses, deliveries."""
    from adapters.pb.truc.v1 import exchange_pb2

    with clean_errors():
        stub = _document_stub(data_dir, member)
        table = _inbox_table() if not as_json and not follow else None
        stream = stub.Inbox(
            exchange_pb2.InboxRequest(include_acknowledged=not pending, follow=follow)
        )
        try:
            for item in stream:
                row = _inbox_dict(item)
                if ack and not item.acknowledged:
                    stub.AckInbox(
                        exchange_pb2.AckInboxRequest(delivery_id=item.delivery_id), timeout=10
                    )
                    row["acknowledged"] = True
                if as_json:
                    print(json.dumps(row, ensure_ascii=False), flush=True)
                elif table is not None:
                    _inbox_row(table, row)
                else:
                    out.print(_inbox_line(row), markup=False)
        except KeyboardInterrupt:
            stream.cancel()
        if table is not None:
            if table.row_count:
                out.print(table)
            else:
                err.print(f"{member}: inbox is empty", markup=False)


def _inbox_dict(item: Any) -> dict[str, Any]:
    body = item.WhichOneof("body")
    row: dict[str, Any] = {
        "delivery_id": item.delivery_id,
        "kind": item.kind,
        "document_id": item.document_id,
        "message_id": item.message_id,
        "sender": item.sender,
        "ledger_position": item.ledger_position,
        "received_at": _iso(item.received_at_ms),
        "acknowledged": item.acknowledged,
    }
    if body == "document":
        row["subject"] = item.document.subject
        row["attachments"] = [a.name for a in item.document.attachments]
        if item.attachment_problems:
            row["attachment_problems"] = list(item.attachment_problems)
    elif body == "status":
        row["status_code"] = item.status.status_code
        row["description"] = item.status.description
    return row


def _inbox_table() -> Table:
    table = Table(title="inbox", show_lines=False)
    for column in (
        "#",
        "kind",
        "from",
        "document",
        "subject / status",
        "position",
        "received",
        "ack",
    ):
        table.add_column(column)
    return table


def _inbox_row(table: Table, row: dict[str, Any]) -> None:
    what = (
        row.get("subject") or f"{row.get('status_code', '')} {row.get('description', '')}".strip()
    )
    table.add_row(
        str(row["delivery_id"]),
        row["kind"],
        row["sender"],
        row["document_id"],
        what,
        str(row["ledger_position"]),
        row["received_at"],
        "yes" if row["acknowledged"] else "no",
    )


def _inbox_line(row: dict[str, Any]) -> str:
    what = row.get("subject") or f"status {row.get('status_code', '')}"
    return (
        f"#{row['delivery_id']} {row['kind']} from {row['sender']} {row['document_id']}"
        f" @{row['ledger_position']}: {what}"
    )


# -- trace ------------------------------------------------------------------------------------


@app.command()
def trace(
    document_id: Annotated[str, typer.Argument(help="Document id printed by `truc send`.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: Annotated[
        Path | None, typer.Option("--config", help="Hub configuration (TOML).")
    ] = None,
) -> None:
    """Every recorded event of a document, in order, with ledger positions and times, and
    the revoke/update/replace chain it belongs to."""
    from hub.cli.documents import deadline_view, format_chain, format_deadline, loader
    from ledger.document import document_chain

    with clean_errors():
        ledger = open_ledger(data_dir, config)
        try:
            entries = ledger.trace(document_id)
            chain = document_chain(loader(ledger), document_id)
        finally:
            ledger.close()
    deadline = deadline_view(entries, datetime.now(UTC))
    if as_json:
        print(
            json.dumps(
                {
                    "document_id": document_id,
                    "chain": chain,
                    "deadline": deadline,
                    "events": [
                        {
                            "position": e.position,
                            "version": e.version,
                            "event": e.event,
                            "timestamp": e.timestamp.isoformat(),
                            **e.fields,
                        }
                        for e in entries
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=f"document {document_id}")
    for column in ("position", "event", "recorded at", "who", "detail"):
        table.add_column(column)
    for e in entries:
        f = e.fields
        who = f.get("sender") or f.get("recipient") or f.get("reporter") or ""
        detail = (
            f.get("subject")
            or (
                f"status {f['status_code']} {f.get('description', '')}".strip()
                if "status_code" in f
                else ""
            )
            or (f"took message {f['delivered_message_id']}" if "delivered_message_id" in f else "")
            or (f"by document {f['by_document_id']}" if "by_document_id" in f else "")
            or f.get("message_id", "")
        )
        table.add_row(
            str(e.position),
            e.event.split(".")[-1],
            e.timestamp.isoformat(timespec="milliseconds"),
            who,
            detail,
        )
    out.print(table)
    if len(chain) > 1:
        out.print("chain: " + format_chain(chain, document_id), markup=False)
    if deadline is not None:
        out.print(format_deadline(deadline), markup=False)


# -- certs ------------------------------------------------------------------------------------


@app.command()
def certs(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: Annotated[
        Path | None, typer.Option("--config", help="Hub configuration (TOML).")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Server name or IP (repeat); default loopback."),
    ] = None,
) -> None:
    """Create a local CA, a server certificate and one client certificate per member (demo TLS)."""
    from adapters.tls import TlsError, TlsFiles, create_all
    from hub.config import load_config

    with clean_errors():
        hub_config = load_config(config)
        files = TlsFiles(hub_config.tls_directory(data_dir))
        try:
            written = create_all(
                files,
                [m.code for m in hub_config.members],
                host or ["127.0.0.1", "localhost"],
            )
        except TlsError as error:
            fail(str(error))
    for path in written:
        print(path)
    err.print(
        f'enable with [tls] nats = true, grpc = "mutual" (or "server") in your config;'
        f" certificates in {files.directory}",
        markup=False,
    )


# -- bench ------------------------------------------------------------------------------------


@app.command()
def bench(
    agencies: Annotated[int, typer.Option("--agencies", min=2, help="Agencies sending.")] = 4,
    documents: Annotated[int, typer.Option("--documents", min=1, help="Documents to send.")] = 2000,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 128,
    rate: Annotated[float, typer.Option("--rate", help="Latency run: documents/s.")] = 1000.0,
    seconds: Annotated[float, typer.Option("--seconds", help="Latency run: duration.")] = 5.0,
    nats_url: Annotated[
        str, typer.Option("--nats-url", help="Use this NATS (default: embedded).")
    ] = "",
    postgres: Annotated[
        str,
        typer.Option(
            "--postgres",
            help="Ledger on this PostgreSQL (postgresql://user@host:port/db), in a schema of"
            " the bench's own, dropped afterwards (default: SQLite).",
        ),
    ] = "",
    ledger_events: Annotated[
        int,
        typer.Option(
            "--ledger-events", min=0, help="The ledger alone: events to record, then replay."
        ),
    ] = 50_000,
    single_process: Annotated[
        bool,
        typer.Option(
            "--single-process",
            help="Hub and adapters in this one process (default: each role in its own).",
        ),
    ] = False,
    api: Annotated[
        str,
        typer.Option(
            "--api",
            help="How the agency systems call their adapters: batch (SendDocumentBatch of"
            " what is waiting, InboxBatches), stream (a SendDocuments stream per sender, Inbox)"
            " or unary (SendDocument, and AckInbox per item). batch and stream acknowledge"
            " what they received in one AckInbox at a time.",
        ),
    ] = "batch",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Benchmark the whole path (its own embedded stack) against raw JetStream, same run."""
    from dataclasses import asdict

    from hub.bench import run_bench
    from hub.bench_driver import APIS
    from hub.bench_errors import BenchError

    if api not in APIS:
        fail(f"--api: {api!r} is not one of {', '.join(APIS)}", 2)
    for option, value in (("--rate", rate), ("--seconds", seconds)):
        if not value > 0:
            fail(f"{option}: {value:g} must be above 0", 2)
    with clean_errors():
        try:
            result = runtime.run(
                run_bench(
                    agencies=agencies,
                    documents=documents,
                    concurrency=concurrency,
                    latency_rate=rate,
                    latency_seconds=seconds,
                    nats_url=nats_url,
                    postgres=postgres,
                    ledger_events=ledger_events,
                    split=not single_process,
                    api=api,
                    say=lambda line: err.print(line, markup=False),
                )
            )
        except BenchError as error:
            fail(str(error), EXIT_FAILURE)
    if as_json:
        print(json.dumps(asdict(result), indent=2))
        return
    table = Table(title="truc bench")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("end-to-end documents/s", f"{result.docs_per_s:,.0f}")
    table.add_row("API", result.api)
    table.add_row("raw JetStream msg/s (same run)", f"{result.baseline_jetstream_per_s:,.0f}")
    table.add_row("ratio", f"{result.ratio:.1%}")
    table.add_row(f"p50 latency at {rate:.0f}/s (ms)", f"{result.latency_ms['p50']:.1f}")
    table.add_row(f"p99 latency at {rate:.0f}/s (ms)", f"{result.latency_ms['p99']:.1f}")
    table.add_row("CPU ms per document (Truc + nats-server)", f"{result.cpu_ms_per_doc:.2f}")
    for name, ms in result.cpu_ms_per_doc_by_process.items():
        table.add_row(f"  of which {name}", f"{ms:.2f}")
    table.add_row("CPU ms per document (load generator)", f"{result.driver_cpu_ms_per_doc:.2f}")
    if result.ledger_events_per_s is not None:
        table.add_row(
            "ledger alone: events/s with Merkle log", f"{result.ledger_events_per_s:,.0f}"
        )
        table.add_row("ledger alone: replay events/s", f"{result.replay_events_per_s:,.0f}")
    for stage, figures in result.stages_ms.items():
        if figures:
            table.add_row(
                f"stage {stage.replace('_', ' ')} (ms)",
                f"p50 {figures['p50']:.1f} · p99 {figures['p99']:.1f}",
            )
    table.add_row("event loop", result.event_loop)
    table.add_row("processes", result.processes)
    table.add_row("ledger", result.ledger_backend)
    out.print(table)


# -- command groups ---------------------------------------------------------------------------
# Imported for their side effect: each module adds its commands to a group.
import hub.cli.audit  # noqa: E402
import hub.cli.ledger_cmds  # noqa: E402,F401
from hub.cli.apps import audit_app, ledger_app  # noqa: E402
from hub.cli.documents import attachment_app, stats_command  # noqa: E402
from hub.cli.dossier import dossier_app, stats_app  # noqa: E402
from hub.cli.edxml import edxml_app  # noqa: E402
from hub.cli.keys import keys_app  # noqa: E402
from hub.cli.ops import status_command, streams_app  # noqa: E402
from hub.cli.population import lookup_command, population_app  # noqa: E402
from hub.cli.witness import witness_command  # noqa: E402

app.command("witness")(witness_command)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(ledger_app, name="ledger")
app.command("status")(status_command)
app.add_typer(streams_app, name="streams")
app.add_typer(edxml_app, name="edxml")
app.add_typer(attachment_app, name="attachment")
app.add_typer(dossier_app, name="dossier")
stats_app.command("documents")(stats_command)
app.add_typer(stats_app, name="stats")
app.command("lookup")(lookup_command)
app.add_typer(population_app, name="population")

from hub.cli.doctor import doctor_command  # noqa: E402

app.command("doctor")(doctor_command)


# -- helpers ----------------------------------------------------------------------------------


def _document_stub(data_dir: Path, member: str) -> Any:
    from adapters.pb.truc.v1 import exchange_pb2_grpc
    from hub.stackfile import read_stack

    info = read_stack(data_dir)
    endpoint = info.endpoint(member)
    if info.grpc_tls == "off":
        channel = grpc.insecure_channel(endpoint.grpc)
    else:
        channel = grpc.secure_channel(endpoint.grpc, _channel_credentials(info, member))
    return exchange_pb2_grpc.DocumentExchangeStub(channel)


def _channel_credentials(info: Any, member: str) -> grpc.ChannelCredentials:
    """TLS towards an adapter; under mutual TLS, as that member's agency system."""
    from adapters.tls import TlsFiles

    files = TlsFiles(Path(info.tls_dir))
    files.require(files.ca)
    if info.grpc_tls != "mutual":
        return grpc.ssl_channel_credentials(root_certificates=files.ca.read_bytes())
    files.require(files.client_cert(member), files.client_key(member))
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(),
        private_key=files.client_key(member).read_bytes(),
        certificate_chain=files.client_cert(member).read_bytes(),
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
