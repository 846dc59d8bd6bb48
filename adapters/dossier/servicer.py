"""gRPC DossierService: what a one-stop system calls on its member's dossier adapter.

Each write checks the DossierEvent (naming the field on error) before anything is signed,
signs it once, and sends it through the same gateway as documents (mailbox, receipts,
at-least-once publishing with an idempotent hub). The hub's refusals come back as gRPC
status codes with the field and the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from adapters.document.gateway import DocumentGateway, Outgoing
from adapters.document.mailbox import InboxRow
from adapters.document.servicer import RECEIPT_TIMEOUT, REJECT_STATUS
from adapters.dossier.payload import event_act, parse_event, parse_postal, postal_act
from adapters.envelope import open_envelope
from adapters.ids import is_uuid
from adapters.pb.truc.v1 import dossier_pb2, dossier_pb2_grpc, envelope_pb2, postal_pb2
from hub.errors import MalformedMessage
from hub.model import Kind
from ledger.dossier import dossier_aggregate_id

# The hub's dossier refusals, as gRPC status codes (beside the document ones).
DOSSIER_REJECT_STATUS: dict[str, grpc.StatusCode] = {
    **REJECT_STATUS,
    "unknown_dossier": grpc.StatusCode.NOT_FOUND,
    "duplicate_dossier_code": grpc.StatusCode.ALREADY_EXISTS,
    "invalid_dossier_code": grpc.StatusCode.INVALID_ARGUMENT,
    "not_the_holder": grpc.StatusCode.PERMISSION_DENIED,
    "not_the_operator": grpc.StatusCode.PERMISSION_DENIED,
    "same_agency": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_time": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_amount": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_date": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_channel": grpc.StatusCode.INVALID_ARGUMENT,
    "time_goes_backwards": grpc.StatusCode.FAILED_PRECONDITION,
    "apology_required": grpc.StatusCode.FAILED_PRECONDITION,
    "not_late": grpc.StatusCode.FAILED_PRECONDITION,
    "no_calendar": grpc.StatusCode.FAILED_PRECONDITION,
    "duplicate_order": grpc.StatusCode.ALREADY_EXISTS,
    "unknown_order": grpc.StatusCode.NOT_FOUND,
}
# Which actions each write method takes.
_METHODS: dict[str, frozenset[str]] = {
    "Receive": frozenset({"received"}),
    "Transfer": frozenset({"transferred"}),
    "RequestSupplement": frozenset({"supplement_requested"}),
    "SupplySupplement": frozenset({"supplement_supplied"}),
    "RecordObligation": frozenset({"obligation_recorded"}),
    "Act": frozenset(
        {
            "accepted",
            "not_accepted",
            "processing",
            "obligation_paid",
            "withdrawn",
            "stopped",
            "finished",
            "apologized",
            "result_returned",
        }
    ),
}
_ROUTED_KINDS = (Kind.DOSSIER.value, Kind.POSTAL.value)
DOSSIER_SERVICE = dossier_pb2.DESCRIPTOR.services_by_name["DossierService"].full_name


class DossierServicer(dossier_pb2_grpc.DossierServiceServicer):
    def __init__(self, gateway: DocumentGateway, client_common_name: str | None = None) -> None:
        self._gateway = gateway
        self._client_cn = client_common_name

    async def _authorize(self, context: grpc.aio.ServicerContext) -> None:
        """Under mutual TLS only the member's own system (certificate CN = its code)."""
        if self._client_cn is None:
            return
        names = context.auth_context().get("x509_common_name", [])
        if self._client_cn.encode() not in names:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"client certificate CN is not {self._client_cn}"
            )

    # -- writes ----------------------------------------------------------------------------

    async def _write(
        self, method: str, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        await self._authorize(context)
        action = request.event.WhichOneof("action")
        if action not in _METHODS[method]:
            allowed = ", ".join(sorted(_METHODS[method]))
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"event.action: {method} takes {allowed}, not {action or 'none'}",
            )
        try:
            act = event_act(request.event)
            if request.message_id and not is_uuid(request.message_id):
                raise MalformedMessage("message_id", "must be a lowercase UUID")
            if act.action == "transfer" and act.to_agency == self._gateway.member:
                raise MalformedMessage("transferred.to_agency", "a dossier cannot go to its holder")
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"event.{error}")
            raise AssertionError("unreachable") from error
        recipients = [act.to_agency] if act.action == "transfer" else []
        return await self._send(
            context,
            kind=Kind.DOSSIER,
            recipients=recipients,
            code=act.code,
            payload=request.event.SerializeToString(deterministic=True),
            message_id=request.message_id,
            wait=request.wait_for_receipt,
        )

    async def Receive(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("Receive", request, context)

    async def Transfer(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("Transfer", request, context)

    async def RequestSupplement(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("RequestSupplement", request, context)

    async def SupplySupplement(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("SupplySupplement", request, context)

    async def RecordObligation(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("RecordObligation", request, context)

    async def Act(
        self, request: dossier_pb2.DossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        return await self._write("Act", request, context)

    async def OrderPostal(
        self, request: dossier_pb2.PostalOrderRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAck:
        await self._authorize(context)
        message = postal_pb2.PostalMessage(order=request.order)
        try:
            act = postal_act(message)
            if request.message_id and not is_uuid(request.message_id):
                raise MalformedMessage("message_id", "must be a lowercase UUID")
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise AssertionError("unreachable") from error
        return await self._send(
            context,
            kind=Kind.POSTAL,
            recipients=[act.operator],
            code=act.code,
            payload=message.SerializeToString(deterministic=True),
            message_id=request.message_id,
            wait=request.wait_for_receipt,
        )

    async def _send(
        self,
        context: grpc.aio.ServicerContext,
        *,
        kind: Kind,
        recipients: list[str],
        code: str,
        payload: bytes,
        message_id: str,
        wait: bool,
    ) -> dossier_pb2.DossierAck:
        message = Outgoing(
            kind=kind,
            recipients=tuple(recipients),
            document_id=str(dossier_aggregate_id(code)),
            payload=payload,
            message_id=message_id or None,
        )
        reused = self._gateway.reused(message)
        if reused is not None:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(reused))
        try:
            sent = await self._gateway.send_one(message)
        except Exception as error:  # NATS unreachable or JetStream refused
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"the hub's message stream did not take it: {error}"
            )
            raise AssertionError("unreachable") from error
        if not wait:
            return dossier_pb2.DossierAck(message_id=sent)
        remaining = context.time_remaining()
        timeout = RECEIPT_TIMEOUT if remaining is None else max(0.1, min(remaining - 0.2, 120.0))
        receipt = await self._gateway.wait_receipt(sent, timeout)
        if receipt is None:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"message {sent} is queued but the hub has not recorded it yet",
            )
            raise AssertionError("unreachable")
        if not receipt.accepted:
            status = DOSSIER_REJECT_STATUS.get(
                receipt.reject_code, grpc.StatusCode.FAILED_PRECONDITION
            )
            await context.abort(
                status, f"refused by the hub ({receipt.reject_code}): {receipt.reject_reason}"
            )
        return dossier_pb2.DossierAck(
            message_id=sent, ledger_position=receipt.ledger_position, recorded=True
        )

    # -- reads -----------------------------------------------------------------------------

    async def Get(
        self, request: dossier_pb2.GetDossierRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierTrace:
        await self._authorize(context)
        mailbox = self._gateway.mailbox
        document_id = str(dossier_aggregate_id(request.code))
        entries: list[dossier_pb2.DossierTraceEntry] = []
        for sent in mailbox.sent_for(document_id):
            if sent.kind in _ROUTED_KINDS and sent.accepted:
                entry = dossier_pb2.DossierTraceEntry(
                    ledger_position=sent.ledger_position or 0,
                    message_id=sent.message_id,
                    from_member=self._gateway.member,
                )
                _fill(entry, sent.kind, sent.payload)
                entries.append(entry)
        for item in mailbox.received_for(document_id):
            if item.kind in _ROUTED_KINDS:
                entry = dossier_pb2.DossierTraceEntry(
                    ledger_position=item.ledger_position,
                    message_id=item.message_id,
                    from_member=item.sender,
                )
                _fill(entry, item.kind, _payload_of(item))
                entries.append(entry)
        if not entries:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"code: dossier {request.code} was never seen here"
            )
        entries.sort(key=lambda e: e.ledger_position)
        return dossier_pb2.DossierTrace(code=request.code, entries=entries)

    async def Inbox(
        self, request: dossier_pb2.DossierInboxRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[dossier_pb2.DossierInboxItem]:
        await self._authorize(context)
        gateway = self._gateway
        last = 0
        while True:
            rows = gateway.mailbox.inbox(
                after=last, include_acknowledged=request.include_acknowledged
            )
            for row in rows:
                last = row.delivery_id
                if row.kind in _ROUTED_KINDS:
                    yield _inbox_item(row)
            if not request.follow:
                return
            await gateway.wait_arrival(
                after=last, include_acknowledged=request.include_acknowledged
            )

    async def AckInbox(
        self, request: dossier_pb2.DossierAckInboxRequest, context: grpc.aio.ServicerContext
    ) -> dossier_pb2.DossierAckInboxResponse:
        await self._authorize(context)
        first = await self._gateway.acknowledge(request.delivery_id)
        if first is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"delivery_id: no inbox item {request.delivery_id}"
            )
        return dossier_pb2.DossierAckInboxResponse(already_acknowledged=not first)


def _payload_of(row: InboxRow) -> bytes:
    return open_envelope(envelope_pb2.RoutedEnvelope.FromString(row.routed).envelope).payload


def _fill(
    target: dossier_pb2.DossierTraceEntry | dossier_pb2.DossierInboxItem,
    kind: str,
    payload: bytes,
) -> None:
    if kind == Kind.DOSSIER.value:
        target.event.CopyFrom(parse_event(payload))
    else:
        target.postal.CopyFrom(parse_postal(payload))


def _inbox_item(row: InboxRow) -> dossier_pb2.DossierInboxItem:
    item = dossier_pb2.DossierInboxItem(
        delivery_id=row.delivery_id,
        message_id=row.message_id,
        sender=row.sender,
        ledger_position=row.ledger_position,
        received_at_ms=row.received_at_ms,
        acknowledged=row.acknowledged,
        routed_envelope=row.routed,
    )
    _fill(item, row.kind, _payload_of(row))
    return item
