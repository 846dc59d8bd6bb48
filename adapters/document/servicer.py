"""gRPC DocumentExchange: what a member's agency system calls on its own adapter.

Every refusal is a gRPC status naming the field and the reason; the hub's own refusals
(received as signed receipts) map to the same codes, so an integrator sees one vocabulary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc

from adapters.document.attachments import CHUNK_SIZE, AttachmentProblem
from adapters.document.gateway import (
    DocumentGateway,
    MessageIdReused,
    Outgoing,
    ProofError,
    ProofsPendingError,
)
from adapters.document.mailbox import InboxRow
from adapters.document.validation import ATTACHMENT_NAME_MAX, validate_document
from adapters.edxml import EdxmlError, parse_edxml, write_edxml
from adapters.envelope import (
    STATUS_CODES,
    attachment_digests,
    open_envelope,
    parse_document,
    parse_status,
)
from adapters.ids import is_uuid, new_uuid
from adapters.pb.truc.v1 import document_pb2, envelope_pb2, exchange_pb2, exchange_pb2_grpc
from hub.errors import MalformedMessage
from hub.model import AttachmentDigest, Kind
from ledger.agency import is_valid_code

log = logging.getLogger(__name__)
RECEIPT_TIMEOUT = 15.0
# Requests of a SendDocuments stream taken into one batch (one transaction, one pipeline).
SEND_BATCH_MAX = 256
# Documents of one SendDocumentBatch call (sent as batches of SEND_BATCH_MAX).
SEND_CALL_MAX = 1000
# Items of one InboxBatches message (InboxRequest.max_items may ask for fewer).
INBOX_BATCH_MAX = 256
T = TypeVar("T")
# gRPC status codes by number (SendDocumentError.code).
_STATUS = {code.value[0]: code for code in grpc.StatusCode}

# The hub's refusal codes, as gRPC status codes.
REJECT_STATUS: dict[str, grpc.StatusCode] = {
    "malformed": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_payload": grpc.StatusCode.INVALID_ARGUMENT,
    "missing_field": grpc.StatusCode.INVALID_ARGUMENT,
    "unknown_status": grpc.StatusCode.INVALID_ARGUMENT,
    "sender_mismatch": grpc.StatusCode.UNAUTHENTICATED,
    "unknown_sender": grpc.StatusCode.UNAUTHENTICATED,
    "unknown_key": grpc.StatusCode.UNAUTHENTICATED,
    "key_revoked": grpc.StatusCode.UNAUTHENTICATED,
    "key_not_valid": grpc.StatusCode.UNAUTHENTICATED,
    "bad_signature": grpc.StatusCode.UNAUTHENTICATED,
    "signed_in_future": grpc.StatusCode.INVALID_ARGUMENT,
    "replayed_or_stale": grpc.StatusCode.FAILED_PRECONDITION,
    "route_not_allowed": grpc.StatusCode.PERMISSION_DENIED,
    "unknown_member": grpc.StatusCode.NOT_FOUND,
    "unknown_document": grpc.StatusCode.NOT_FOUND,
    "not_a_recipient": grpc.StatusCode.PERMISSION_DENIED,
    "duplicate_document_id": grpc.StatusCode.ALREADY_EXISTS,
    "illegal_transition": grpc.StatusCode.FAILED_PRECONDITION,
    "status_not_allowed": grpc.StatusCode.FAILED_PRECONDITION,
}


class DocumentExchangeServicer(exchange_pb2_grpc.DocumentExchangeServicer):
    def __init__(self, gateway: DocumentGateway, client_common_name: str | None = None) -> None:
        self._gateway = gateway
        self._client_cn = client_common_name

    async def _authorize(self, context: grpc.aio.ServicerContext) -> None:
        """Under mutual TLS only the member's own agency system (certificate CN = its agency
        code) may use this adapter; the TLS layer has already checked the CA."""
        if self._client_cn is None:
            return
        names = context.auth_context().get("x509_common_name", [])
        if self._client_cn.encode() not in names:
            shown = b", ".join(names).decode(errors="replace") or "none"
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"client certificate CN {shown} is not {self._client_cn}",
            )

    async def SendDocument(
        self, request: exchange_pb2.SendDocumentRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.SendDocumentResponse:
        await self._authorize(context)
        return await self._send_document(context, request)

    async def SendDocuments(
        self,
        request_iterator: AsyncIterator[exchange_pb2.SendDocumentRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[exchange_pb2.SendDocumentResult]:
        """Documents on one stream, sent in batches of what the stream has ready: each batch
        is checked like SendDocument, kept in one transaction and published pipelined; one
        result per request, in order. A refused request does not end the stream."""
        await self._authorize(context)
        index = 0
        batches = ready_batches(request_iterator, SEND_BATCH_MAX)
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for result in await self._send_documents(batch, many="SendDocuments"):
                    result.index = index
                    index += 1
                    yield result

    async def SendDocumentBatch(
        self, request: exchange_pb2.SendDocumentBatchRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.SendDocumentBatchResponse:
        """Many documents in one call: the batches of a SendDocuments stream, without the
        stream's per-document messages. A refused document gets its error result; only a
        call that is empty or too big fails as a whole."""
        await self._authorize(context)
        count = len(request.documents)
        if not 1 <= count <= SEND_CALL_MAX:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"documents: 1 to {SEND_CALL_MAX} documents a call, not {count}",
            )
        response = exchange_pb2.SendDocumentBatchResponse()
        for start in range(0, count, SEND_BATCH_MAX):
            batch = request.documents[start : start + SEND_BATCH_MAX]
            response.results.extend(await self._send_documents(batch, many="SendDocumentBatch"))
        for index, result in enumerate(response.results):
            result.index = index
        return response

    async def SendEdxml(
        self, request: exchange_pb2.SendEdxmlRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.SendDocumentResponse:
        """An edXML package: parsed defensively, then sent like SendDocument. The sender is
        this adapter's member (From/OrganId must say so), the recipients are the To organs,
        and a revoke/update/replace names the earlier document by its edXML DocumentId,
        which must be one this member sent."""
        await self._authorize(context)
        member = self._gateway.member
        try:
            package = parse_edxml(request.edxml)
            document = package.document
            if document.from_organ.organ_id != member:
                raise EdxmlError(
                    "MessageHeader/From/OrganId",
                    f"{document.from_organ.organ_id or 'empty'} is not this adapter's member"
                    f" {member}",
                )
            if document.business_type != document_pb2.BUSINESS_TYPE_NEW:
                document.refers_to = self._sent_with_edxml_id(package.refers_to_edxml_id)
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise AssertionError("unreachable") from error
        return await self._send_document(
            context,
            exchange_pb2.SendDocumentRequest(
                recipients=package.recipients,
                document=document,
                document_id=request.document_id,
                message_id=request.message_id,
                wait_for_receipt=request.wait_for_receipt,
            ),
        )

    def _sent_with_edxml_id(self, edxml_id: str) -> str:
        """The Truc id of the document this member sent with edXML DocumentId `edxml_id`."""
        field = "TraceHeaderList/Bussiness/DocumentId"
        if not edxml_id:
            raise EdxmlError(field, "required for a revoke, update or replace")
        for row in self._gateway.mailbox.sent_documents():
            if document_pb2.Document.FromString(row.payload).edxml_document_id == edxml_id:
                return row.document_id
        raise EdxmlError(field, f"this member never sent a document {edxml_id}")

    async def GetEdxml(
        self, request: exchange_pb2.GetDocumentRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.EdxmlPackage:
        await self._authorize(context)
        record = self._record(request.document_id)
        if record is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"document_id: {request.document_id} was neither sent nor received here",
            )
            raise AssertionError("unreachable")
        try:
            edxml = write_edxml(record.document)
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.DATA_LOSS, str(error))
            raise AssertionError("unreachable") from error
        return exchange_pb2.EdxmlPackage(document_id=request.document_id, edxml=edxml)

    def _resolve_stored(self, document: document_pb2.Document) -> None:
        """Stored attachments must be objects this adapter uploaded; their size and SHA-256
        come from the adapter's own record of the upload, never from the caller."""
        for i, attachment in enumerate(document.attachments):
            if not attachment.object_name:
                continue
            upload = self._gateway.mailbox.upload(attachment.object_name)
            if upload is None:
                raise MalformedMessage(
                    f"attachments[{i}].object_name",
                    f"{attachment.object_name} was not uploaded to this adapter",
                )
            _, size, sha256 = upload
            if (attachment.size and attachment.size != size) or (
                attachment.sha256 and attachment.sha256 != sha256
            ):
                raise MalformedMessage(
                    f"attachments[{i}]", "size or sha256 differs from what was uploaded"
                )
            attachment.size, attachment.sha256 = size, sha256

    async def UploadAttachment(
        self,
        request_iterator: AsyncIterator[exchange_pb2.AttachmentChunk],
        context: grpc.aio.ServicerContext,
    ) -> exchange_pb2.StoredAttachment:
        """Stream a file into this member's bucket; nothing is held but the current chunk."""
        await self._authorize(context)
        first: list[exchange_pb2.AttachmentChunk] = []

        async def data() -> AsyncIterator[bytes]:
            async for chunk in request_iterator:
                if not first:
                    first.append(chunk)
                    if not chunk.name or len(chunk.name) > ATTACHMENT_NAME_MAX:
                        raise MalformedMessage(
                            "name", f"the first chunk names the file (1 to {ATTACHMENT_NAME_MAX})"
                        )
                if chunk.data:
                    yield chunk.data

        try:
            stored = await self._gateway.attachments.put(data())
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise AssertionError("unreachable") from error
        except AttachmentProblem as problem:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"data: {problem}")
            raise AssertionError("unreachable") from problem
        except Exception as error:  # NATS unreachable or JetStream refused
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"the attachment store did not take it: {error}"
            )
            raise AssertionError("unreachable") from error
        if not first:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "name: no chunk was sent")
        self._gateway.mailbox.store_upload(
            object_name=stored.object_name,
            name=first[0].name,
            size=stored.size,
            sha256=stored.sha256,
            created_at_ms=self._gateway._clock.now_ms(),
        )
        return exchange_pb2.StoredAttachment(
            object_name=stored.object_name, size=stored.size, sha256=stored.sha256
        )

    async def DownloadAttachment(
        self,
        request: exchange_pb2.DownloadAttachmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[exchange_pb2.AttachmentChunk]:
        """Stream one attachment, checked against the signed digest as it goes."""
        await self._authorize(context)
        record = self._record(request.document_id)
        if record is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"document_id: {request.document_id} was neither sent nor received here",
            )
            return
        if request.index >= len(record.document.attachments):
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"index: document {request.document_id} has"
                f" {len(record.document.attachments)} attachment(s)",
            )
            return
        attachment = record.document.attachments[request.index]
        head = exchange_pb2.AttachmentChunk(
            name=attachment.name,
            content_type=attachment.content_type,
            description=attachment.description,
        )
        if not attachment.object_name:
            content = attachment.content
            for start in range(0, max(len(content), 1), CHUNK_SIZE):
                head.data = content[start : start + CHUNK_SIZE]
                yield head
                head = exchange_pb2.AttachmentChunk()
            return
        expected = AttachmentDigest(attachment.name, attachment.sha256, attachment.size)
        chunks = self._gateway.attachments.verified(record.sender, attachment.object_name, expected)
        try:
            async for data in chunks:
                head.data = data
                yield head
                head = exchange_pb2.AttachmentChunk()
        except AttachmentProblem as problem:
            await context.abort(grpc.StatusCode.DATA_LOSS, f"index {request.index}: {problem}")
            return
        if head.name:  # an empty object: still tell its name
            yield head

    async def _send_document(
        self, context: grpc.aio.ServicerContext, request: exchange_pb2.SendDocumentRequest
    ) -> exchange_pb2.SendDocumentResponse:
        """One document: a batch of one, its refusal as the call's status."""
        (result,) = await self._send_documents([request])
        if result.WhichOneof("outcome") == "error":
            await context.abort(_STATUS[result.error.code], result.error.message)
        response = result.sent
        if request.wait_for_receipt:
            response.ledger_position = await self._await_receipt(context, response.message_id)
            response.recorded = True
        return response

    async def _send_documents(
        self, requests: Sequence[exchange_pb2.SendDocumentRequest], *, many: str = ""
    ) -> list[exchange_pb2.SendDocumentResult]:
        """Check each request, then sign, keep (one transaction) and publish (pipelined) the
        good ones; per request, in order, what was sent or why not. `many` names the
        many-document call the requests came in, which cannot wait for receipts."""
        results: list[exchange_pb2.SendDocumentResult] = []
        outgoing: list[tuple[exchange_pb2.SendDocumentResult, Outgoing]] = []
        for request in requests:
            result = exchange_pb2.SendDocumentResult()
            results.append(result)
            try:
                if many and request.wait_for_receipt:
                    raise MalformedMessage(
                        "wait_for_receipt", f"not supported on {many}; use GetReceipt"
                    )
                message = self._outgoing_document(request)
                reused = self._gateway.reused(message) or _reused_within(message, outgoing)
                if reused is not None:
                    _refuse(result, grpc.StatusCode.ALREADY_EXISTS, str(reused), reused.field)
                    continue
                outgoing.append((result, message))
            except MalformedMessage as error:
                _refuse(result, grpc.StatusCode.INVALID_ARGUMENT, str(error), error.field)
        sent = await self._gateway.send_many([message for _, message in outgoing])
        for (result, message), done in zip(outgoing, sent, strict=True):
            if done.error is not None:
                _refuse(
                    result,
                    grpc.StatusCode.UNAVAILABLE,
                    f"{_not_taken(done.error)}; it is kept as message_id {done.message_id} "
                    "and published again until the hub answers: retry with that message_id, "
                    "or ask GetReceipt",
                )
            else:
                result.sent.document_id = done.document_id or message.document_id
                result.sent.message_id = done.message_id
        return results

    def _outgoing_document(self, request: exchange_pb2.SendDocumentRequest) -> Outgoing:
        """The document of `request` as a message to sign, or MalformedMessage naming the
        field at fault."""
        recipients = list(request.recipients)
        document = request.document
        _check_recipients(recipients, self._gateway.member)
        self._resolve_stored(document)
        validate_document(document)
        if request.document_id and not is_uuid(request.document_id):
            raise MalformedMessage("document_id", "must be a lowercase UUID")
        if request.message_id and not is_uuid(request.message_id):
            raise MalformedMessage("message_id", "must be a lowercase UUID")
        return Outgoing(
            kind=Kind.DOCUMENT,
            recipients=tuple(recipients),
            document_id=request.document_id or new_uuid(),
            payload=document.SerializeToString(deterministic=True),
            message_id=request.message_id or None,
            attachments=tuple(attachment_digests(document)),
        )

    async def UpdateStatus(
        self, request: exchange_pb2.UpdateStatusRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.UpdateStatusResponse:
        await self._authorize(context)
        if request.status_code not in STATUS_CODES:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"status_code: {request.status_code!r} is not one of {sorted(STATUS_CODES)}",
            )
        if request.status_code == "02" and not request.description.strip():
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "description: a rejection (02) must give the reason",
            )
        counterparts = self._counterparts(request.document_id, request.status_code)
        wrong_side = self._wrong_side(request.document_id, request.status_code)
        if not counterparts and wrong_side:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, wrong_side)
        if not counterparts:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"document_id: {request.document_id} was neither sent nor received here",
            )
        status = document_pb2.StatusUpdate(
            document_id=request.document_id,
            status_code=request.status_code,
            description=request.description,
            staff=request.staff,
            timestamp_ms=self._gateway._clock.now_ms(),
        )
        message_id = await self._send(
            context,
            kind=Kind.STATUS,
            recipients=counterparts,
            document_id=request.document_id,
            payload=status.SerializeToString(deterministic=True),
        )
        position, recorded = 0, False
        if request.wait_for_receipt:
            position = await self._await_receipt(context, message_id)
            recorded = True
        return exchange_pb2.UpdateStatusResponse(
            message_id=message_id, ledger_position=position, recorded=recorded
        )

    def _counterparts(self, document_id: str, status_code: str) -> list[str]:
        """Who a status goes to: the sender of a received document, or (13) our recipients."""
        mailbox = self._gateway.mailbox
        if status_code == "13":
            for row in mailbox.sent_for(document_id):
                if row.kind == Kind.DOCUMENT.value:
                    return list(row.recipients)
            return []
        for item in mailbox.received_for(document_id):
            if item.kind == Kind.DOCUMENT.value:
                return [item.sender]
        return []

    def _wrong_side(self, document_id: str, status_code: str) -> str:
        """Why this member may not report `status_code` on a document it does know."""
        mailbox = self._gateway.mailbox
        if status_code == "13" and any(
            i.kind == Kind.DOCUMENT.value for i in mailbox.received_for(document_id)
        ):
            return (
                "status_code: 13 (recall) may only come from the document's sender"
                " (status_not_allowed)"
            )
        if status_code != "13" and any(
            r.kind == Kind.DOCUMENT.value for r in mailbox.sent_for(document_id)
        ):
            return (
                f"status_code: {status_code} comes from a recipient; the sender may only"
                " recall (13) (status_not_allowed)"
            )
        return ""

    async def Inbox(
        self, request: exchange_pb2.InboxRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[exchange_pb2.InboxItem]:
        await self._authorize(context)
        async for items in self._inbox_items(request, INBOX_BATCH_MAX):
            for item in items:
                yield item

    async def InboxBatches(
        self, request: exchange_pb2.InboxRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[exchange_pb2.InboxBatch]:
        await self._authorize(context)
        if request.max_items > INBOX_BATCH_MAX:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"max_items: at most {INBOX_BATCH_MAX}, not {request.max_items}",
            )
        async for items in self._inbox_items(request, request.max_items or INBOX_BATCH_MAX):
            yield exchange_pb2.InboxBatch(items=items)

    async def _inbox_items(
        self, request: exchange_pb2.InboxRequest, most: int
    ) -> AsyncIterator[list[exchange_pb2.InboxItem]]:
        """The inbox, oldest first, in lists of at most `most` items; with `follow`, then
        each arrival as it comes."""
        mailbox = self._gateway.mailbox
        last = 0
        while True:
            rows = mailbox.inbox(after=last, include_acknowledged=request.include_acknowledged)
            for start in range(0, len(rows), most):
                chunk = rows[start : start + most]
                problems = mailbox.attachment_problems_of([row.message_id for row in chunk])
                yield [_inbox_item(row, problems.get(row.message_id)) for row in chunk]
                last = chunk[-1].delivery_id
            if not request.follow:
                return
            # Wake on a new arrival, or re-check every few seconds (also notices shutdown).
            await self._gateway.wait_arrival(
                after=last, include_acknowledged=request.include_acknowledged
            )

    async def AckInbox(
        self, request: exchange_pb2.AckInboxRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.AckInboxResponse:
        """One item (delivery_id: NOT_FOUND when unknown) or many (delivery_ids: unknown
        ones reported, the others acknowledged), in one transaction either way."""
        await self._authorize(context)
        single = not request.delivery_ids
        ids = [request.delivery_id] if single or request.delivery_id else []
        try:
            done = await self._gateway.acknowledge_many([*ids, *request.delivery_ids])
        except ProofsPendingError as error:  # NATS unreachable or JetStream refused
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "acknowledged, but the delivery proofs did not go out yet (kept, and published"
                f" again within {self._gateway.republish_every:.0f} s): {error}",
            )
            raise AssertionError("unreachable") from error
        except Exception as error:  # the mailbox itself: nothing was marked
            log.warning("AckInbox failed before anything was marked", exc_info=True)
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"nothing acknowledged (the adapter's mailbox failed: {error}); call AckInbox"
                " again",
            )
            raise AssertionError("unreachable") from error
        if single and done.unknown:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"delivery_id: no inbox item {request.delivery_id}"
            )
        return exchange_pb2.AckInboxResponse(
            already_acknowledged=bool(ids) and ids[0] in done.already,
            acknowledged_ids=done.marked,
            already_acknowledged_ids=done.already,
            unknown_ids=done.unknown,
        )

    async def GetDocument(
        self, request: exchange_pb2.GetDocumentRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.DocumentRecord:
        await self._authorize(context)
        record = self._record(request.document_id)
        if record is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"document_id: {request.document_id} was neither sent nor received here",
            )
            raise AssertionError("unreachable")
        return record

    def _record(self, document_id: str) -> exchange_pb2.DocumentRecord | None:
        """A document as this member's mailbox knows it, None when it never saw it."""
        mailbox = self._gateway.mailbox
        record = exchange_pb2.DocumentRecord(document_id=document_id)
        for sent in mailbox.sent_for(document_id):
            if sent.kind == Kind.DOCUMENT.value:
                record.direction = "sent"
                record.sender = self._gateway.member
                record.recipients.extend(sent.recipients)
                record.document.ParseFromString(sent.payload)
            elif sent.kind == Kind.STATUS.value:
                status = document_pb2.StatusUpdate.FromString(sent.payload)
                record.statuses.append(_status_record(self._gateway.member, status))
        for item in mailbox.received_for(document_id):
            opened = open_envelope(_envelope_of(item))
            if item.kind == Kind.DOCUMENT.value:
                record.direction = "received"
                record.sender = item.sender
                record.recipients.extend(opened.header.recipients)
                record.document.CopyFrom(parse_document(opened))
            elif item.kind == Kind.STATUS.value:
                record.statuses.append(_status_record(item.sender, parse_status(opened)))
        if not record.direction:
            return None
        record.statuses.sort(key=lambda s: s.timestamp_ms)
        return record

    async def GetReceipt(
        self, request: exchange_pb2.GetReceiptRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.ReceiptRecord:
        await self._authorize(context)
        mailbox = self._gateway.mailbox
        record = exchange_pb2.ReceiptRecord(message_id=request.message_id)
        sent = mailbox.sent(request.message_id)
        received = None if sent else mailbox.received(request.message_id)
        if sent is not None:
            record.document_id = sent.document_id
            if sent.accepted is None:
                await context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"message_id: {request.message_id} has no receipt from the hub yet",
                )
            record.accepted = bool(sent.accepted)
            record.ledger_position = sent.ledger_position or 0
            record.reject_code = sent.reject_code or ""
            record.reject_reason = sent.reject_reason or ""
        elif received is not None:
            record.document_id = received.document_id
            record.accepted = True
            record.ledger_position = received.ledger_position
        else:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"message_id: {request.message_id} was neither sent nor received here",
            )
        if not record.accepted:
            return record
        try:
            proof = await self._gateway.inclusion_proof(record.ledger_position)
        except ProofError as error:
            await context.abort(grpc.StatusCode.DATA_LOSS, str(error))
            raise AssertionError("unreachable") from error
        except Exception as error:  # the hub did not answer
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"the hub did not answer: {error}")
            raise AssertionError("unreachable") from error
        if proof is None:
            record.proof_pending = True
        else:
            record.tlog_proof = proof
        return record

    # -- helpers ----------------------------------------------------------------------------

    async def _send(self, context: grpc.aio.ServicerContext, **kwargs: object) -> str:
        try:
            return await self._gateway.send(**kwargs)  # type: ignore[arg-type]
        except Exception as error:  # NATS unreachable or JetStream refused
            await context.abort(grpc.StatusCode.UNAVAILABLE, _not_taken(error))
            raise AssertionError("unreachable") from error

    async def _await_receipt(self, context: grpc.aio.ServicerContext, message_id: str) -> int:
        remaining = context.time_remaining()
        timeout = RECEIPT_TIMEOUT if remaining is None else max(0.1, min(remaining - 0.2, 120.0))
        receipt = await self._gateway.wait_receipt(message_id, timeout)
        if receipt is None:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"message {message_id} is queued but the hub has not recorded it yet",
            )
            raise AssertionError("unreachable")
        if not receipt.accepted:
            code = REJECT_STATUS.get(receipt.reject_code, grpc.StatusCode.FAILED_PRECONDITION)
            await context.abort(
                code, f"refused by the hub ({receipt.reject_code}): {receipt.reject_reason}"
            )
        return int(receipt.ledger_position)


def _not_taken(error: BaseException) -> str:
    return f"the hub's message stream did not take it: {error}"


def _reused_within(
    message: Outgoing, earlier: Sequence[tuple[exchange_pb2.SendDocumentResult, Outgoing]]
) -> MessageIdReused | None:
    """The same id given to two different documents of one call (twice the same document
    is a retry, and goes once)."""
    if message.message_id is None:
        return None
    for _, other in earlier:
        if other.message_id == message.message_id:
            if message.repeats(other.kind.value, other.recipients, other.payload):
                return None
            return MessageIdReused(message.message_id, other.document_id)
    return None


def _refuse(
    result: exchange_pb2.SendDocumentResult, code: grpc.StatusCode, message: str, field: str = ""
) -> None:
    result.error.code = code.value[0]
    result.error.field = field
    result.error.message = message


async def ready_batches(requests: AsyncIterator[T], limit: int) -> AsyncGenerator[list[T], None]:
    """Batches of what a request stream has ready: wait for one request, then take whatever
    else has already arrived, up to `limit`, without waiting for more. Under load batches
    grow by themselves (requests pile up while the previous batch is being sent); a lone
    request goes at once. At most `limit` requests are read ahead."""
    queue: asyncio.Queue[T | _End] = asyncio.Queue(maxsize=limit)

    async def read() -> None:
        end = _End()
        try:
            async for request in requests:
                await queue.put(request)
        except Exception as error:  # the client went away: end the batches with its error
            end = _End(error)
        await queue.put(end)

    reader = asyncio.create_task(read())
    try:
        while True:
            batch: list[T] = []
            item = await queue.get()
            while not isinstance(item, _End):
                batch.append(item)
                if len(batch) >= limit or queue.empty():
                    break
                item = queue.get_nowait()
            if batch:
                yield batch
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


@dataclass(frozen=True)
class _End:
    """The request stream ended (with the error that ended it, if any)."""

    error: Exception | None = None


def _check_recipients(recipients: list[str], member: str) -> None:
    if not recipients:
        raise MalformedMessage("recipients", "at least one recipient is required")
    if len(set(recipients)) != len(recipients):
        raise MalformedMessage("recipients", "a recipient is listed twice")
    for i, code in enumerate(recipients):
        if not is_valid_code(code):
            raise MalformedMessage(f"recipients[{i}]", f"{code!r} is not an agency code")
        if code == member:
            raise MalformedMessage(f"recipients[{i}]", "a member cannot send to itself")


def _envelope_of(row: InboxRow) -> bytes:
    return envelope_pb2.RoutedEnvelope.FromString(row.routed).envelope


def _status_record(member: str, status: document_pb2.StatusUpdate) -> exchange_pb2.StatusRecord:
    return exchange_pb2.StatusRecord(
        from_member=member,
        status_code=status.status_code,
        description=status.description,
        timestamp_ms=status.timestamp_ms,
    )


def _inbox_item(row: InboxRow, problems: dict[int, str] | None = None) -> exchange_pb2.InboxItem:
    item = exchange_pb2.InboxItem(
        delivery_id=row.delivery_id,
        message_id=row.message_id,
        kind=row.kind,
        document_id=row.document_id,
        sender=row.sender,
        ledger_position=row.ledger_position,
        received_at_ms=row.received_at_ms,
        acknowledged=row.acknowledged,
        routed_envelope=row.routed,
    )
    item.attachment_problems.extend(
        f"attachments[{i}]: {problem}" for i, problem in sorted((problems or {}).items())
    )
    # The row was verified and parsed on arrival: its payload is read straight into the
    # answer, without checking the header again or copying a parsed message.
    payload = envelope_pb2.Envelope.FromString(_envelope_of(row)).payload
    if row.kind == Kind.DOCUMENT.value:
        item.document.MergeFromString(payload)
    elif row.kind == Kind.STATUS.value:
        item.status.MergeFromString(payload)
    elif row.kind == Kind.DELIVERY.value:
        item.delivered_message_id = envelope_pb2.Delivery.FromString(payload).message_id
    return item
