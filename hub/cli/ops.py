"""`truc status` and `truc streams tail`: what the ops team runs in a terminal or a script.

`status` gathers the same snapshot as the dashboard (hub.ops) from the running stack and
prints it as tables, or as one JSON document with `--json`. `streams tail` follows one Truc
subject through an ephemeral ordered consumer (nothing durable is left behind) and prints each
message decoded: envelopes, routed copies and receipts from protobuf, the ledger feed and dead
letters from JSON.

The CLI is an entry point, so it may import NATS and the generated protobuf code; the
snapshot logic itself stays in hub.ops, free of both.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub import subjects
from hub.cli.common import (
    DEFAULT_DATA_DIR,
    ConfigOption,
    DataDir,
    clean_errors,
    err,
    open_ledger,
    out,
)
from hub.ops import StatusSnapshot, ledger_checkpoint_source

streams_app = typer.Typer(help="Watch Truc's NATS streams.", no_args_is_help=True)

STREAM_OF_PREFIX = {
    "truc.in.": subjects.IN_STREAM,
    "truc.out.": subjects.OUT_STREAM,
    "truc.ledger.": subjects.LEDGER_STREAM,
    "truc.dead.": subjects.DEAD_STREAM,
}
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+|\*|>")
_BLOBS = ("header_b64", "signature_b64", "envelope_b64")


# -- connecting --------------------------------------------------------------------------------


def _nats_options(data_dir: Path) -> dict[str, Any]:
    """The hub's NATS user when the stack provisioned users (embedded NATS with
    authorization): read from <data-dir>/secrets/nats-hub.json, never created here."""
    from adapters.nats.auth import HUB_USER
    from hub.errors import ConfigError

    path = data_dir / "secrets" / f"nats-{HUB_USER}.json"
    try:
        raw = json.loads(path.read_text())
        return {"user": str(raw["user"]), "password": str(raw["password"])}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"cannot read NATS credentials {path}: {error!r}") from None


def _tls_options(info: Any) -> dict[str, Any]:
    """A TLS context trusting the stack's own CA when its NATS requires TLS (the stack file
    says so with `nats_tls`); nothing otherwise, since offering TLS to a plain server fails."""
    if not getattr(info, "nats_tls", False):
        return {}
    from adapters.tls import TlsFiles, client_context

    return {"tls": client_context(TlsFiles(Path(info.tls_dir)))}


async def _connect(info: Any, data_dir: Path, name: str) -> Any:
    """One attempt, a short timeout, no reconnect loop: a CLI must answer, not hang."""
    import nats

    from hub.errors import StackNotRunning

    url = info.nats_url

    async def quiet(error: Exception) -> None:
        """nats-py prints a traceback for each error by default; the one line below is the
        CLI's whole answer (exit 3), so its callback stays silent."""

    try:
        return await nats.connect(
            servers=[url],
            name=name,
            error_cb=quiet,
            connect_timeout=3,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            **_nats_options(data_dir),
            **_tls_options(info),
        )
    except Exception as error:
        raise StackNotRunning(
            f"cannot reach NATS at {url}: {error or type(error).__name__}"
        ) from None


# -- truc status -------------------------------------------------------------------------------


def status_command(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (for scripts).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Streams, consumers (per member), dead letters, ledger size and the latest checkpoint."""
    from hub.stackfile import read_stack

    with clean_errors():
        info = read_stack(data_dir)
        snapshot = asyncio.run(_collect(info, data_dir, config))
    body = snapshot.to_dict()
    body["hub"] = {
        "name": info.hub_name,
        "key_id": info.hub_key_id,
        "nats_url": info.nats_url,
        "nats_monitor_url": info.nats_monitor_url,
        "ledger": info.ledger,
    }
    if as_json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return
    _print_status(body, out)


async def _collect(info: Any, data_dir: Path, config: Path | None) -> StatusSnapshot:
    from hub.ops import collect_status

    hub_name = info.hub_name
    nc = await _connect(info, data_dir, "truc-status")
    ledger = _try_open_ledger(data_dir, config)
    try:
        return await collect_status(
            nc.jetstream(),
            ledger=ledger,
            checkpoint=(
                ledger_checkpoint_source(ledger, log_name=hub_name)
                if hasattr(ledger, "recorder")
                else ledger.size  # raises why the ledger (and so its checkpoints) is unreadable
            ),
        )
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
        if ledger is not None:
            with contextlib.suppress(Exception):
                ledger.close()


class _UnreadableLedger:
    """Stands in for a ledger that could not be opened, so the snapshot says why."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def size(self) -> int:
        raise self._error

    def close(self) -> None:
        pass


def _try_open_ledger(data_dir: Path, config: Path | None) -> Any:
    try:
        return open_ledger(data_dir, config)
    except Exception as error:
        return _UnreadableLedger(error)


def _print_status(body: dict[str, Any], out: Console) -> None:
    hub = body["hub"]
    out.print(f"[bold]{hub['name']}[/] (key {hub['key_id']}) · NATS {hub['nats_url']}")
    problems = body["problems"]
    if problems:
        out.print(f"[bold yellow]{len(problems)} to look at:[/]")
        for problem in problems:
            out.print(f"  [yellow]•[/] {_escape(problem)}")
    else:
        out.print("[green]all well[/]")
    taken = _time(body["taken_at"])

    streams = Table(title="streams", title_justify="left")
    for column in ("stream", "subjects", "messages", "bytes", "first seq", "last seq"):
        streams.add_column(
            column, justify="right" if column not in ("stream", "subjects") else "left"
        )
    for s in body["streams"]:
        if not s["present"]:
            streams.add_row(s["name"], " ".join(s["subjects"]), "[red]missing[/]", "", "", "")
            continue
        streams.add_row(
            s["name"],
            " ".join(s["subjects"]),
            f"{s['messages']:,}",
            _bytes(s["bytes"]),
            str(s["first_seq"]),
            str(s["last_seq"]),
        )
    out.print(streams)

    consumers = Table(title="consumers", title_justify="left")
    for column in (
        "consumer",
        "member",
        "pending",
        "ack pending",
        "redelivered",
        "pulling",
        "last active",
    ):
        consumers.add_column(
            column, justify="left" if column in ("consumer", "member", "last active") else "right"
        )
    for c in body["consumers"]:
        style = "red" if any(p.startswith(c["name"]) for p in problems) else None
        consumers.add_row(
            c["name"],
            c["member"] or ("hub intake" if c["role"] == "hub" else ""),
            f"{c['pending']:,}",
            f"{c['ack_pending']:,}",
            f"{c['redelivered']:,}",
            str(c["waiting"]),
            _ago(c["last_active"], taken),
            style=style,
        )
    out.print(consumers)

    dead = body["dead_letters"]
    letters = Table(title=f"dead letters: {dead['count']:,}", title_justify="left")
    for column in ("seq", "when", "member", "code", "reason"):
        letters.add_column(column, overflow="fold")
    for d in dead["recent"]:
        letters.add_row(
            str(d["seq"]),
            _ago(d["time"], taken),
            d["member"] or "unknown",
            d["code"],
            _escape(d["reason"]),
        )
    if dead["recent"]:
        out.print(letters)
    else:
        out.print(f"[bold]dead letters:[/] {dead['count']:,}")

    ledger = body["ledger"]
    if ledger is None or ledger["size"] is None:
        reason = ledger["error"] if ledger else "not opened"
        out.print(f"[bold]ledger:[/] {hub['ledger']}: [red]unreadable[/] ({_escape(reason)})")
    else:
        out.print(f"[bold]ledger:[/] {hub['ledger']}: {ledger['size']:,} events")
    checkpoint = body["checkpoint"]
    if checkpoint is None:
        unreadable = any(p.startswith("checkpoint: cannot read") for p in problems)
        out.print(f"[bold]checkpoint:[/] {'unknown' if unreadable else 'none issued yet'}")
        return
    age = checkpoint["age_seconds"]
    out.print(
        f"[bold]checkpoint:[/] {checkpoint['origin']} size {checkpoint['size']:,}, "
        f"root {checkpoint['root_hash']}, issued {checkpoint['issued_at'] or '?'}"
        f" ({_span(age) + ' ago' if age is not None else 'age unknown'})"
    )
    cosignatures = checkpoint["cosignatures"]
    verified = " (verified)" if checkpoint["cosignatures_verified"] else ""
    out.print(f"[bold]witness cosignatures:[/] {len(cosignatures)}{verified}")
    for cosignature in cosignatures:
        out.print(
            f"  {cosignature['witness']} key {cosignature['key_id']}"
            f" at {cosignature['signed_at'] or '?'}"
        )


# -- truc streams tail -------------------------------------------------------------------------


def tail_command(
    subject: Annotated[
        str,
        typer.Argument(help="A Truc subject, wildcards allowed (default: the ledger feed)."),
    ] = subjects.LEDGER_ALL,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=1, help="Stop after this many items (lines).")
    ] = None,
    from_start: Annotated[
        bool, typer.Option("--all", help="Start at the first stored message, not the next new one.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Start with messages stored in the last 30s, 10m, 2h, 1d."),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Follow a Truc subject (`truc.ledger.>` by default), decoded: one message a line."""
    from hub.stackfile import read_stack

    stream = stream_for(subject)
    start: datetime | None = None
    if since is not None:
        if from_start:
            raise typer.BadParameter("use --all or --since, not both", param_hint="--since")
        start = datetime.now(UTC) - parse_span(since)
    with clean_errors():
        info = read_stack(data_dir)
        hub_key = _hub_public_key(info)
        asyncio.run(
            _tail(
                info,
                data_dir,
                subject,
                stream,
                as_json=as_json,
                count=count,
                from_start=from_start,
                start=start,
                hub_public_key=hub_key,
            )
        )


def stream_for(subject: str) -> str:
    """The stream holding `subject`; a usage error for anything that is not a Truc subject."""
    tokens = subject.split(".")
    if not all(_TOKEN.fullmatch(t) for t in tokens) or ">" in tokens[:-1]:
        raise typer.BadParameter(f"{subject!r} is not a NATS subject", param_hint="SUBJECT")
    for prefix, stream in STREAM_OF_PREFIX.items():
        if subject.startswith(prefix) or subject == prefix[:-1]:
            return stream
    choices = ", ".join(f"{p}>" for p in STREAM_OF_PREFIX)
    raise typer.BadParameter(
        f"{subject!r} is not in a Truc stream; use a subject under {choices}",
        param_hint="SUBJECT",
    )


def parse_span(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r}: use a number and s, m, h or d (e.g. 10m)", param_hint="--since"
        )
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _hub_public_key(info: Any) -> bytes | None:
    """The hub's public key, when the stack file publishes it, to check hub signatures."""
    encoded = getattr(info, "hub_public_key", "") or ""
    with contextlib.suppress(ValueError):
        key = base64.b64decode(encoded, validate=True)
        return key if len(key) == 32 else None
    return None


async def _tail(
    info: Any,
    data_dir: Path,
    subject: str,
    stream: str,
    *,
    as_json: bool,
    count: int | None,
    from_start: bool,
    start: datetime | None,
    hub_public_key: bytes | None,
) -> None:
    from nats.js.api import ConsumerConfig, DeliverPolicy

    if start is not None:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start)
    else:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    nc = await _connect(info, data_dir, "truc-tail")
    seen = 0
    try:
        sub = await nc.jetstream().subscribe(
            subject, stream=stream, ordered_consumer=True, config=config
        )
        where = (
            "from the start"
            if from_start
            else f"since {start:%H:%M:%S}"
            if start
            else "new messages"
        )
        err.print(f"following {subject} in {stream} ({where}); Ctrl-C to stop", markup=False)
        while not stop.is_set() and (count is None or seen < count):
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:  # nats.errors.TimeoutError is one: nothing new yet
                continue
            records = describe_messages(
                msg.subject,
                msg.data,
                _meta(msg),
                hub_public_key=hub_public_key,
                headers=msg.headers,
            )
            for record in records[: None if count is None else count - seen]:
                seen += 1
                if as_json:
                    print(json.dumps(record, ensure_ascii=False, default=str), flush=True)
                else:
                    out.print(render_line(record), markup=False, soft_wrap=True)
                    sys.stdout.flush()
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def _meta(msg: Any) -> dict[str, Any]:
    try:
        metadata = msg.metadata
        return {"seq": metadata.sequence.stream, "time": metadata.timestamp}
    except Exception:
        return {"seq": None, "time": None}


# -- decoding ---------------------------------------------------------------------------------


def describe_message(
    subject: str, data: bytes, meta: dict[str, Any], *, hub_public_key: bytes | None = None
) -> dict[str, Any]:
    """A message carrying one item (see `describe_messages`) as a JSON-ready dict."""
    return describe_messages(subject, data, meta, hub_public_key=hub_public_key)[0]


def describe_messages(
    subject: str,
    data: bytes,
    meta: dict[str, Any],
    *,
    hub_public_key: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What one message says, one JSON-ready dict per item (the hub batches ledger events,
    receipts and routed messages): `subject`, `seq`, `time`, `type` and the item. Never
    raises on bad input: what cannot be decoded is reported with the reason."""
    base = _base_record(subject, meta)
    try:
        if subjects.bundle_kind(headers):  # routed messages or members' envelopes
            from adapters.envelope import unbundle

            items = unbundle(data)
            return [_describe_one(dict(base), subject, item, hub_public_key) for item in items]
        if subject.startswith("truc.ledger."):
            lines = data.split(b"\n")
            return [dict(base, type="ledger_event", **_ledger_event(line)) for line in lines]
        if subject.startswith("truc.out.") and subject.endswith(".rcpt"):
            return [dict(base, type="receipt", **r) for r in _receipts(data, hub_public_key)]
    except Exception as error:  # a viewer shows what it cannot read; it does not stop
        return [
            dict(base, type="undecodable", error=f"{type(error).__name__}: {error}", size=len(data))
        ]
    return [_describe_one(base, subject, data, hub_public_key)]


def _base_record(subject: str, meta: dict[str, Any]) -> dict[str, Any]:
    when = meta.get("time")
    record: dict[str, Any] = {
        "subject": subject,
        "seq": meta.get("seq"),
        "time": when.astimezone(UTC).isoformat(timespec="milliseconds")
        if isinstance(when, datetime)
        else when,
    }
    return record


def _describe_one(
    record: dict[str, Any], subject: str, data: bytes, hub_public_key: bytes | None
) -> dict[str, Any]:
    try:
        if subject.startswith("truc.dead."):
            record.update(type="dead_letter", **_dead_letter(data))
        elif subject.startswith("truc.in."):
            record.update(type="envelope", **_envelope(data))
        elif subject.startswith("truc.out.") and subject.endswith(".msg"):
            record.update(type="routed", **_routed(data, hub_public_key))
        else:
            record.update(type="raw", size=len(data))
    except Exception as error:  # a viewer shows what it cannot read; it does not stop
        record.update(type="undecodable", error=f"{type(error).__name__}: {error}", size=len(data))
    return record


def _plain_state(value: Any) -> Any:
    """eventsourcing's JSON wraps some values ({"_type_": ..., "_data_": ...}): unwrap."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            return _plain_state(value["_data_"])
        return {k: _plain_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_state(v) for v in value]
    return value


def _ledger_event(data: bytes) -> dict[str, Any]:
    body = json.loads(data)
    return {
        "position": body.get("position"),
        "event": str(body.get("topic", "")).rsplit(":", 1)[-1],
        "originator_id": body.get("originator_id"),
        "version": body.get("originator_version"),
        "state": _plain_state(body.get("state", {})),
    }


def _dead_letter(data: bytes) -> dict[str, Any]:
    body = json.loads(data)
    record = {k: v for k, v in body.items() if k != "envelope_b64"}
    raw = body.get("envelope_b64")
    if raw:
        record["envelope_size"] = len(base64.b64decode(raw))
        with contextlib.suppress(Exception):
            record["envelope"] = _envelope(base64.b64decode(raw))["header"]
    return record


def _header_dict(header: Any) -> dict[str, Any]:
    return {
        "message_id": header.message_id,
        "kind": str(header.kind),
        "sender": header.sender,
        "recipients": list(header.recipients),
        "document_id": header.document_id,
        "signed_at": _iso_ms(header.signed_at_ms),
        "key_id": header.key_id,
        "payload_size": header.payload_size,
        "attachments": [{"name": a.name, "size": a.size} for a in header.attachments],
    }


def _payload(opened: Any) -> dict[str, Any]:
    from adapters.envelope import parse_delivery, parse_document, parse_status
    from hub.model import Kind

    kind = opened.header.kind
    if kind in (Kind.LOOKUP, Kind.LOOKUP_ANSWER):
        return {"payload": "personal data, not shown"}
    if kind is Kind.DOCUMENT:
        doc = parse_document(opened)
        return {
            "subject": doc.subject,
            "code": f"{doc.code.code_number}/{doc.code.code_notation}".strip("/"),
            "due_date": doc.due_date,
            "priority": doc.other_info.priority,
        }
    if kind is Kind.STATUS:
        status = parse_status(opened)
        return {"status_code": status.status_code, "description": status.description}
    delivery = parse_delivery(opened)
    if delivery.items:
        return {
            "delivered": [
                {"document_id": i.document_id, "message_id": i.message_id} for i in delivery.items
            ]
        }
    return {"delivered_message_id": delivery.message_id}


def _envelope(data: bytes) -> dict[str, Any]:
    from adapters.envelope import open_envelope

    opened = open_envelope(data)
    record: dict[str, Any] = {"header": _header_dict(opened.header), "signature": "not checked"}
    with contextlib.suppress(Exception):
        record["payload"] = _payload(opened)
    return record


def _routed(data: bytes, hub_public_key: bytes | None) -> dict[str, Any]:
    from adapters.envelope import check_countersignature, open_envelope
    from adapters.pb.truc.v1 import envelope_pb2
    from hub.errors import MalformedMessage

    def countersigned(key: bytes) -> bool:
        try:
            check_countersignature(routed, hub_public_key=key, recipient=stamp.recipient)
        except MalformedMessage:  # EnvelopeError among them
            return False
        return True

    routed = envelope_pb2.RoutedEnvelope.FromString(data)
    stamp = envelope_pb2.HubStamp.FromString(routed.stamp)
    opened = open_envelope(routed.envelope)
    record: dict[str, Any] = {
        "recipient": stamp.recipient,
        "ledger_position": stamp.ledger_position,
        "received_at": _iso_ms(stamp.received_at_ms),
        "hub_key_id": stamp.hub_key_id,
        "hub_signature": _checked(hub_public_key, countersigned),
        "header": _header_dict(opened.header),
    }
    with contextlib.suppress(Exception):
        record["payload"] = _payload(opened)
    return record


def _receipts(data: bytes, hub_public_key: bytes | None) -> list[dict[str, Any]]:
    """A receipt, or each receipt of a batch, with the (one) hub signature's verdict."""
    from adapters.crypto import verify
    from adapters.envelope import receipt_signed_bytes
    from adapters.pb.truc.v1 import envelope_pb2

    signed = envelope_pb2.SignedReceipt.FromString(data)
    context, signed_bytes = receipt_signed_bytes(signed)
    if signed.receipts:
        receipts = list(envelope_pb2.ReceiptBatch.FromString(signed.receipts).receipts)
    else:
        receipts = [envelope_pb2.Receipt.FromString(signed.receipt)]
    signature = _checked(
        hub_public_key, lambda key: verify(key, context, signed_bytes, signed.hub_signature)
    )
    return [
        {
            "message_id": receipt.message_id,
            "document_id": receipt.document_id,
            "accepted": receipt.accepted,
            "ledger_position": receipt.ledger_position,
            "recorded_at": _iso_ms(receipt.recorded_at_ms) if receipt.recorded_at_ms else None,
            "reject_code": receipt.reject_code,
            "reject_reason": receipt.reject_reason,
            "delivered_to": receipt.delivered_to,
            "hub_signature": signature,
        }
        for receipt in receipts
    ]


def _checked(key: bytes | None, check: Callable[[bytes], bool]) -> str:
    if key is None:
        return "not checked"
    return "valid" if check(key) else "INVALID"


def render_line(record: dict[str, Any]) -> str:
    """One readable line for a terminal."""
    when = record.get("time") or ""
    clock = when[11:23] if isinstance(when, str) and len(when) >= 23 else "?"
    head = f"{clock} #{record.get('seq')} {record['subject']}"
    kind = record["type"]
    if kind == "ledger_event":
        state = record["state"]
        details = " ".join(
            f"{k}={_short(v)}"
            for k, v in state.items()
            if k not in (*_BLOBS, "timestamp", "originator_topic") and v not in ("", [], None)
        )
        return f"{head} @{record['position']} {record['event']} {details}"
    if kind == "dead_letter":
        return (
            f"{head} REFUSED {record.get('code')} from {record.get('subject_member') or 'unknown'}"
            f" message {record.get('message_id')}: {record.get('reason')}"
        )
    if kind in ("envelope", "routed"):
        header = record["header"]
        payload = record.get("payload", {})
        what = " ".join(f"{k}={_short(v)}" for k, v in payload.items() if v not in ("", 0, None))
        extra = ""
        if kind == "routed":
            extra = (
                f" for {record['recipient']} @{record['ledger_position']}"
                f" hub signature {record['hub_signature']}"
            )
        return (
            f"{head} {header['kind']} {header['sender']} -> {','.join(header['recipients'])}"
            f" doc {header['document_id']} msg {header['message_id']}{extra} {what}"
        ).rstrip()
    if kind == "receipt":
        verdict = (
            "accepted"
            if record["accepted"]
            else f"REFUSED {record['reject_code']}: {record['reject_reason']}"
        )
        delivered = f" delivered to {record['delivered_to']}" if record["delivered_to"] else ""
        return (
            f"{head} receipt msg {record['message_id']} {verdict} @{record['ledger_position']}"
            f"{delivered} hub signature {record['hub_signature']}"
        )
    if kind == "undecodable":
        return f"{head} cannot decode ({record['size']} bytes): {record['error']}"
    return f"{head} {record.get('size')} bytes"


# -- small helpers -----------------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
    """A value for a `key=value` line: one line, cut at `limit`, quoted when it has spaces."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ",".join(value)
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False) if " " in text else text


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _time(iso: str | None) -> datetime | None:
    if not iso:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(iso)
    return None


def _ago(iso: str | None, now: datetime | None) -> str:
    when = _time(iso)
    if when is None or now is None:
        return "never"
    return _span((now - when).total_seconds()) + " ago"


def _span(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


streams_app.command("tail")(tail_command)
