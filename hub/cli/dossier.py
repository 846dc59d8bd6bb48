"""`truc dossier ...` (acts on dossiers through a member's dossier adapter, and the ledger's
trace of one dossier) and `truc stats dossiers` (the figures officials publish).

Writes go through the member's DossierService over gRPC, exactly as a one-stop system would
call it; `trace` and `stats` read the ledger.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from rich.table import Table

from hub.cli.common import (
    DEFAULT_DATA_DIR,
    EXIT_REFUSED,
    ConfigOption,
    DataDir,
    JsonOption,
    clean_errors,
    fail,
    open_ledger,
    out,
)

dossier_app = typer.Typer(help="Administrative dossiers: act through an adapter, trace.")
stats_app = typer.Typer(
    help="Published figures: document deadlines, dossiers.", no_args_is_help=True
)

Member = Annotated[str, typer.Argument(help="The acting member (its dossier adapter).")]
Code = Annotated[str, typer.Argument(help="Dossier code, e.g. 000.01.01.H49-260428-0001.")]
On = Annotated[
    str,
    typer.Option("--on", help="When the agency acted, yyyyMMddHHmmss Vietnamese time (now)."),
]
Note = Annotated[str, typer.Option("--note", help="What was done (NoiDungXuLy).")]
# Which DossierService method carries each act.
ACTS = {
    "accepted": "Act",
    "not_accepted": "Act",
    "processing": "Act",
    "supplement_requested": "RequestSupplement",
    "supplement_supplied": "SupplySupplement",
    "obligation_recorded": "RecordObligation",
    "obligation_paid": "Act",
    "withdrawn": "Act",
    "stopped": "Act",
    "finished": "Act",
    "apologized": "Act",
    "result_returned": "Act",
}


def _stub(data_dir: Path, member: str) -> Any:
    from adapters.pb.truc.v1 import dossier_pb2_grpc
    from hub.cli.main import _channel_credentials
    from hub.stackfile import read_stack

    info = read_stack(data_dir)
    endpoint = info.endpoint(member)
    if endpoint.kind != "dossier":
        fail(f"{member} is a {endpoint.kind} member, not a dossier (one-stop) member", EXIT_REFUSED)
    if info.grpc_tls == "off":
        channel = grpc.insecure_channel(endpoint.grpc)
    else:
        channel = grpc.secure_channel(endpoint.grpc, _channel_credentials(info, member))
    return dossier_pb2_grpc.DossierServiceStub(channel)


def _now() -> str:
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone(timedelta(hours=7))).strftime("%Y%m%d%H%M%S")


def _paper(path: Path) -> Any:
    import hashlib

    from adapters.pb.truc.v1 import dossier_pb2

    content = path.read_bytes()
    return dossier_pb2.Paper(
        name=path.name, sha256=hashlib.sha256(content).digest(), size=len(content)
    )


def _send(data_dir: Path, member: str, method: str, event: Any) -> None:
    from adapters.pb.truc.v1 import dossier_pb2

    with clean_errors():
        ack = getattr(_stub(data_dir, member), method)(
            dossier_pb2.DossierRequest(event=event, wait_for_receipt=True), timeout=30
        )
    print(ack.ledger_position)


@dossier_app.command()
def receive(
    member: Member,
    code: Code,
    procedure: Annotated[str, typer.Option("--procedure", help="Procedure code (MaTTHC).")],
    working_days: Annotated[
        int, typer.Option("--working-days", min=0, max=365, help="Processing time.")
    ] = 0,
    owner: Annotated[str, typer.Option("--owner", help="ChuHoSo.")] = "",
    summary: Annotated[str, typer.Option("--summary", help="TrichYeuHoSo.")] = "",
    channel: Annotated[
        int, typer.Option("--channel", help="1 in person, 2 online, 3 by post.")
    ] = 1,
    paper: Annotated[
        list[Path] | None,
        typer.Option("--paper", help="A submitted paper (repeat).", exists=True, dir_okay=False),
    ] = None,
    fee: Annotated[int, typer.Option("--fee", help="Fees paid, VND.")] = 0,
    on: On = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Record a dossier received at MEMBER's one-stop desk; prints its ledger position."""
    from adapters.pb.truc.v1 import dossier_pb2

    event = dossier_pb2.DossierEvent(
        code=code,
        at=on or _now(),
        received=dossier_pb2.DossierReceived(
            procedure_code=procedure,
            owner=owner,
            summary=summary,
            channel=channel,
            working_days=working_days,
            documents=[_paper(p) for p in paper or []],
            fees=[dossier_pb2.Fee(name="lệ phí", amount=fee)] if fee else [],
        ),
    )
    _send(data_dir, member, "Receive", event)


@dossier_app.command()
def transfer(
    member: Member,
    code: Code,
    to: Annotated[str, typer.Option("--to", help="The agency that decides next.")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    on: On = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Hand the dossier MEMBER holds to another agency (liên thông)."""
    from adapters.pb.truc.v1 import dossier_pb2

    event = dossier_pb2.DossierEvent(
        code=code,
        at=on or _now(),
        transferred=dossier_pb2.Transfer(to_agency=to, reason=reason),
    )
    _send(data_dir, member, "Transfer", event)


@dossier_app.command()
def act(
    member: Member,
    code: Code,
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(ACTS)}.")],
    note: Note = "",
    amount: Annotated[int, typer.Option("--amount", help="Obligation, VND.")] = 0,
    appointment: Annotated[
        str, typer.Option("--appointment", help="New appointment, yyyyMMdd (apologized).")
    ] = "",
    paper: Annotated[
        list[Path] | None,
        typer.Option("--paper", help="A supplied paper (repeat).", exists=True, dir_okay=False),
    ] = None,
    on: On = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Record a status act on a dossier MEMBER holds; prints its ledger position."""
    from adapters.pb.truc.v1 import dossier_pb2

    if action not in ACTS:
        fail(f"action: {action!r} is not one of {', '.join(ACTS)}", 2)
    # Acts with their own text (papers asked for, obligation, apology) carry the note there.
    own_text = action in ("supplement_requested", "obligation_recorded", "apologized")
    event = dossier_pb2.DossierEvent(code=code, at=on or _now(), note="" if own_text else note)
    if action == "supplement_requested":
        event.supplement_requested.papers.extend([note] if note else [])
    elif action == "supplement_supplied":
        event.supplement_supplied.documents.extend(_paper(p) for p in paper or [])
    elif action == "obligation_recorded":
        event.obligation_recorded.CopyFrom(dossier_pb2.Obligation(amount=amount, description=note))
    elif action == "apologized":
        event.apologized.CopyFrom(dossier_pb2.Apology(new_appointment=appointment, reason=note))
    else:
        getattr(event, action).CopyFrom(dossier_pb2.Reason())
    _send(data_dir, member, ACTS[action], event)


@dossier_app.command()
def post(
    member: Member,
    code: Code,
    kind: Annotated[str, typer.Option("--kind", help="pickup or delivery.")] = "delivery",
    operator: Annotated[str, typer.Option("--operator")] = "BCCI.VNPOST",
    order_id: Annotated[
        str, typer.Option("--order-id", help="Idempotency key (default: CODE:KIND).")
    ] = "",
    name: Annotated[str, typer.Option("--name", help="The citizen's name.")] = "",
    phone: Annotated[str, typer.Option("--phone")] = "",
    province: Annotated[str, typer.Option("--province")] = "",
    street: Annotated[str, typer.Option("--street")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Order a pickup of the dossier or a delivery of its result from the postal service."""
    from adapters.pb.truc.v1 import dossier_pb2, postal_pb2

    kinds = {"pickup": postal_pb2.ORDER_KIND_PICKUP, "delivery": postal_pb2.ORDER_KIND_DELIVERY}
    if kind not in kinds:
        fail("kind: must be pickup or delivery", 2)
    citizen = postal_pb2.Address(name=name, phone=phone, province=province, street=street)
    order = postal_pb2.PostalOrder(
        order_id=order_id or f"{code}:{kind}",
        kind=kinds[kind],
        dossier_code=code,
        operator=operator,
        **({"receiver": citizen} if kind == "delivery" else {"sender": citizen}),  # type: ignore[arg-type]
    )
    with clean_errors():
        ack = _stub(data_dir, member).OrderPostal(
            dossier_pb2.PostalOrderRequest(order=order, wait_for_receipt=True), timeout=30
        )
    print(ack.ledger_position)


@dossier_app.command()
def inbox(
    member: Member,
    ack: Annotated[bool, typer.Option("--ack", help="Acknowledge what is shown.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Dossier acts and postal tracking routed to MEMBER (pending ones)."""
    from google.protobuf.json_format import MessageToDict

    from adapters.pb.truc.v1 import dossier_pb2

    with clean_errors():
        stub = _stub(data_dir, member)
        items = list(stub.Inbox(dossier_pb2.DossierInboxRequest(), timeout=30))
        if ack:
            for item in items:
                stub.AckInbox(dossier_pb2.DossierAckInboxRequest(delivery_id=item.delivery_id))
    rows = []
    for item in items:
        body = item.event if item.WhichOneof("body") == "event" else item.postal
        rows.append(
            {
                "delivery_id": item.delivery_id,
                "from": item.sender,
                "position": item.ledger_position,
                item.WhichOneof("body") or "body": MessageToDict(body),
            }
        )
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"dossier inbox of {member}")
    for column in ("delivery", "from", "position", "what"):
        table.add_column(column)
    for row, item in zip(rows, items, strict=True):
        if item.WhichOneof("body") == "event":
            what = f"{item.event.code} {item.event.WhichOneof('action')} {item.event.note}"
        else:
            t = item.postal.tracking
            what = f"{t.dossier_code} order {t.order_id} state {t.state} {t.note}"
        table.add_row(str(row["delivery_id"]), item.sender, str(item.ledger_position), what)
    out.print(table)


@dossier_app.command()
def trace(
    code: Code,
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Every recorded event of a dossier, in order, with positions, the agency's time, who
    acted (and at which level of government), and where it stands."""
    from ledger.dossier import STATUS_NAMES, dossier_aggregate_id
    from ledger.errors import LedgerError
    from ledger.levels import vietnam_levels

    with clean_errors():
        ledger = open_ledger(data_dir, config)
        try:
            history = ledger.history(dossier_aggregate_id(code))
            if not history:
                from ledger.base import NotRecorded

                raise NotRecorded(f"no dossier {code} in the ledger")
            state = ledger.dossier(code).view()
        finally:
            ledger.close()
    from ledger.application import public_fields
    from ledger.calendar import vietnam_date

    levels = vietnam_levels()
    events = []
    # Events a message caused after its first (a paused clock, a verdict) share its time.
    at_of_message: dict[str, str] = {}
    for position, e in history:
        fields = public_fields(e)
        who = _who(fields)
        at = str(fields.get("at") or at_of_message.get(fields.get("message_id", "")) or "")
        at = at or str(fields.get("received_at", ""))
        at_of_message.setdefault(str(fields.get("message_id", "")), at)
        try:
            level = levels.level_of(who, vietnam_date(at)) if who and at else ""
        except LedgerError:
            level = ""
        events.append(
            {
                "position": position,
                "event": type(e).__qualname__,
                "at": at,
                "who": who,
                "level": level,
                **fields,
            }
        )
    if as_json:
        print(json.dumps({"dossier": state, "events": events}, ensure_ascii=False, indent=2))
        return
    status = f"{state['status']} {STATUS_NAMES.get(state['status'], '')}"
    verdict = state["verdict"] or "not finished"
    out.print(
        f"dossier {code}: status {status}; held by {state['holder']}; due {state['due_date']}"
        f" ({state['working_days']} working days, {state['paused_working_days']} paused);"
        f" {verdict}"
        + (f"; new appointment {state['new_appointment']}" if state["new_appointment"] else ""),
        markup=False,
    )
    table = Table(title=f"dossier {code}")
    for column in ("position", "event", "at", "who", "level", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(
            str(e["position"]),
            e["event"].split(".")[-1],
            e["at"],
            e["who"],
            e["level"],
            _detail(e),
        )
    out.print(table)


def _who(fields: dict[str, Any]) -> str:
    for name in ("by", "from_agency", "receiver"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _detail(e: dict[str, Any]) -> str:
    from ledger.dossier import ORDER_STATES, STATUS_NAMES

    name = e["event"].split(".")[-1]
    if name == "Received":
        return f"{e['procedure_code']} due {e['due_date']} ({e['working_days']} working days)"
    if name == "Transferred":
        return f"to {e['to_agency']} {e['reason']}".strip()
    if name == "StatusChanged":
        return f"{e['status']} {STATUS_NAMES.get(e['status'], '')} {e['note']}".strip()
    if name == "ClockPaused":
        return f"clock paused since {e['since']}"
    if name == "ClockResumed":
        return f"{e['paused_working_days']} working days paused; due {e['due_date']}"
    if name == "ObligationRecorded":
        return f"{e['amount']} VND {e['description']}".strip()
    if name == "Judged":
        return f"{e['verdict']} (finished {e['finished_on']}, due {e['due_date']})"
    if name == "Apologized":
        return f"new appointment {e['new_appointment']} {e['reason']}".strip()
    if name == "PostalOrdered":
        return f"{e['order_kind']} order {e['order_id']} with {e['operator']}"
    if name == "PostalTracked":
        return f"order {e['order_id']}: {e['state']} {ORDER_STATES.get(e['state'], '')}"
    return ""


@stats_app.command("dossiers")
def stats_dossiers(
    by: Annotated[str, typer.Option("--by", help="agency or level.")] = "agency",
    period: Annotated[str, typer.Option("--period", help="day, month or year.")] = "month",
    as_json: JsonOption = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    config: ConfigOption = None,
) -> None:
    """Received, transferred, taken over, finished (early / on time / late), returned and
    the on-time rate, per agency (or level of government) and period, from the ledger."""
    from ledger.dossier_stats import GROUPINGS, PERIODS, DossierStats
    from ledger.replay import pages

    if by not in GROUPINGS:
        fail(f"--by: must be one of {', '.join(GROUPINGS)}", 2)
    if period not in PERIODS:
        fail(f"--period: must be one of {', '.join(PERIODS)}", 2)
    with clean_errors():
        ledger = open_ledger(data_dir, config)
        try:
            stats = DossierStats(period=period, by=by)
            for page in pages(ledger):
                for _, event in page:
                    stats.add(event)
        finally:
            ledger.close()
    rows = stats.rows()
    if as_json:
        print(json.dumps({"by": by, "period": period, "rows": rows}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"dossiers by {by} and {period}")
    columns = (
        "period",
        by,
        "received",
        "transferred",
        "taken_over",
        "finished",
        "early",
        "on_time",
        "late",
        "returned",
        "on_time_rate",
    )
    for column in columns:
        table.add_column(
            column.replace("_", " "), justify="right" if column not in ("period", by) else "left"
        )
    for row in rows:
        rate = row["on_time_rate"]
        table.add_row(
            *(str(row[c]) for c in columns[:-1]),
            "—" if rate is None else f"{rate:.1%}",
        )
    out.print(table)
