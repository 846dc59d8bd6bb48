"""Reading dossier and postal payloads (DossierEvent, PostalMessage) into plain acts.

Used by the hub's codec after the signature and the payload digest were checked, and by the
dossier adapter before it signs anything, so an integrator hears of a bad field before the
message leaves. Every refusal names the field and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from google.protobuf.message import DecodeError

from adapters.pb.truc.v1 import dossier_pb2, postal_pb2
from hub.errors import MalformedMessage
from hub.model import DossierAct, Header, Kind
from ledger.agency import is_valid_code
from ledger.dossier import check_dossier_code, dossier_aggregate_id
from ledger.errors import RuleViolation

MAX_TEXT = 2000
MAX_NAME = 200
MAX_PAPERS = 200
_ORDER_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# The status each plain act moves a dossier to (TrangThaiHoSo).
STATUS_ACTS = {
    "accepted": 2,
    "not_accepted": 3,
    "processing": 4,
    "supplement_requested": 5,
    "supplement_supplied": 4,
    "obligation_recorded": 6,
    "obligation_paid": 4,
    "withdrawn": 7,
    "stopped": 8,
    "finished": 9,
    "result_returned": 10,
}
ORDER_KINDS = {postal_pb2.ORDER_KIND_PICKUP: "pickup", postal_pb2.ORDER_KIND_DELIVERY: "delivery"}


def portal_time(text: str, field: str = "at") -> str:
    """`yyyyMMddHHmmss` in Vietnamese time (the national portal's format) as ISO 8601."""
    if not text:
        return ""
    try:
        parsed = datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise MalformedMessage(field, f"{text[:20]!r} is not yyyyMMddHHmmss") from None
    return parsed.isoformat() + "+07:00"


def portal_date(text: str, field: str) -> str:
    try:
        return datetime.strptime(text, "%Y%m%d").date().isoformat()
    except ValueError:
        raise MalformedMessage(field, f"{text[:20]!r} is not yyyyMMdd") from None


def _text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise MalformedMessage(field, f"at most {limit} characters")
    return value


def _code(code: str, field: str) -> str:
    try:
        return check_dossier_code(code)
    except RuleViolation as violation:
        raise MalformedMessage(field, violation.reason.split(": ", 1)[-1]) from None


def _papers(papers: Iterable[dossier_pb2.Paper], field: str) -> tuple[str, ...]:
    out = []
    items = list(papers)
    if len(items) > MAX_PAPERS:
        raise MalformedMessage(field, f"at most {MAX_PAPERS} papers")
    for i, paper in enumerate(items):
        if not paper.name or len(paper.name) > MAX_NAME:
            raise MalformedMessage(f"{field}[{i}].name", f"1 to {MAX_NAME} characters")
        if len(paper.sha256) != 32:
            raise MalformedMessage(f"{field}[{i}].sha256", "must be 32 bytes")
        out.append(f"{paper.name} {paper.sha256.hex()}")
    return tuple(out)


def parse_event(payload: bytes) -> dossier_pb2.DossierEvent:
    event = dossier_pb2.DossierEvent()
    try:
        event.ParseFromString(payload)
    except (DecodeError, RecursionError, ValueError) as error:
        raise MalformedMessage("payload", f"not a valid DossierEvent: {error}") from None
    return event


def parse_postal(payload: bytes) -> postal_pb2.PostalMessage:
    message = postal_pb2.PostalMessage()
    try:
        message.ParseFromString(payload)
    except (DecodeError, RecursionError, ValueError) as error:
        raise MalformedMessage("payload", f"not a valid PostalMessage: {error}") from None
    return message


def event_act(event: dossier_pb2.DossierEvent) -> DossierAct:
    """The act a DossierEvent describes, checked field by field."""
    code = _code(event.code, "code")
    at = portal_time(event.at)
    _text(event.officer, "officer", MAX_NAME)
    note = _text(event.note, "note")
    action = event.WhichOneof("action")
    if action is None:
        raise MalformedMessage("action", "one of received, transferred, finished... is required")
    if action == "received":
        r = event.received
        if not r.procedure_code:
            raise MalformedMessage("received.procedure_code", "required (MaTTHC)")
        if r.channel not in (1, 2, 3):
            raise MalformedMessage("received.channel", f"{r.channel} is not 1, 2 or 3")
        if r.status not in (0, 1, 2):
            raise MalformedMessage("received.status", "a dossier starts at 1 or 2")
        if r.working_days > 365:
            raise MalformedMessage("received.working_days", "at most 365")
        return DossierAct(
            action="received",
            code=code,
            at=at,
            note=note,
            status=r.status or 2,
            procedure_code=_text(r.procedure_code, "received.procedure_code", MAX_NAME),
            owner=_text(r.owner, "received.owner", MAX_NAME),
            summary=_text(r.summary or r.procedure_name, "received.summary"),
            channel=r.channel,
            working_days=r.working_days,
            documents=_papers(r.documents, "received.documents"),
            fees=sum(f.amount for f in r.fees),
        )
    if action == "transferred":
        if not is_valid_code(event.transferred.to_agency):
            raise MalformedMessage("transferred.to_agency", "is not an agency code")
        reason = _text(event.transferred.reason, "transferred.reason")
        return DossierAct(
            "transfer", code, at, note or reason, to_agency=event.transferred.to_agency
        )
    if action == "apologized":
        appointment = portal_date(event.apologized.new_appointment, "apologized.new_appointment")
        reason = _text(event.apologized.reason, "apologized.reason")
        return DossierAct("apology", code, at, reason or note, new_appointment=appointment)
    documents: tuple[str, ...] = ()
    amount = 0
    detail = ""
    if action == "supplement_requested":
        detail = "; ".join(event.supplement_requested.papers)
    elif action == "supplement_supplied":
        documents = _papers(event.supplement_supplied.documents, "supplement_supplied.documents")
    elif action == "obligation_recorded":
        amount = event.obligation_recorded.amount
        if amount <= 0:
            raise MalformedMessage("obligation_recorded.amount", "must be more than 0 VND")
        detail = event.obligation_recorded.description
    else:
        detail = getattr(event, action).text
    return DossierAct(
        "status",
        code,
        at,
        _text(" — ".join(x for x in (note, detail) if x), "note"),
        status=STATUS_ACTS[action],
        documents=documents,
        amount=amount,
    )


def postal_act(message: postal_pb2.PostalMessage) -> DossierAct:
    body = message.WhichOneof("body")
    if body == "order":
        order = message.order
        code = _code(order.dossier_code, "order.dossier_code")
        if not _ORDER_ID.fullmatch(order.order_id):
            raise MalformedMessage("order.order_id", "1 to 100 of A-Z a-z 0-9 . _ : -")
        if order.kind not in ORDER_KINDS:
            raise MalformedMessage("order.kind", "must be pickup or delivery")
        if not is_valid_code(order.operator):
            raise MalformedMessage("order.operator", "is not an agency code")
        for side in ("sender", "receiver"):
            address = getattr(order, side)
            for name in ("name", "phone", "province", "district", "commune", "street"):
                _text(getattr(address, name), f"order.{side}.{name}", MAX_NAME)
        _text(order.note, "order.note")
        return DossierAct(
            "postal_order",
            code,
            note=order.note,
            order_id=order.order_id,
            order_kind=ORDER_KINDS[order.kind],
            operator=order.operator,
        )
    if body == "tracking":
        tracking = message.tracking
        code = _code(tracking.dossier_code, "tracking.dossier_code")
        if not _ORDER_ID.fullmatch(tracking.order_id):
            raise MalformedMessage("tracking.order_id", "1 to 100 of A-Z a-z 0-9 . _ : -")
        if tracking.state not in (1, 2, 3, 4):
            raise MalformedMessage("tracking.state", f"{tracking.state} is not 1..4")
        return DossierAct(
            "postal_tracking",
            code,
            at=portal_time(tracking.at, "tracking.at"),
            note=_text(tracking.note, "tracking.note"),
            order_id=tracking.order_id,
            state=tracking.state,
        )
    raise MalformedMessage("payload", "a PostalMessage needs an order or a tracking event")


def inspect_dossier(header: Header, payload: bytes) -> DossierAct:
    """Check a dossier or postal payload against its signed header and read its act."""
    if header.kind is Kind.DOSSIER:
        act = event_act(parse_event(payload))
    else:
        act = postal_act(parse_postal(payload))
    if header.document_id != str(dossier_aggregate_id(act.code)):
        raise MalformedMessage("header.document_id", f"is not the id of dossier {act.code}")
    expected: tuple[str, ...] | None = ()
    if act.action == "transfer":
        expected = (act.to_agency,)
    elif act.action == "postal_order":
        expected = (act.operator,)
    elif act.action == "postal_tracking":
        expected = None  # the agency that ordered: the ledger checks the order
    if expected is not None and header.recipients != expected:
        shown = ", ".join(expected) or "none (the hub routes to the dossier's agencies)"
        raise MalformedMessage("header.recipients", f"must be {shown} for this act")
    return act
