"""The asking side of a look-up: the PopulationLookup service every agency adapter offers.

Request/reply over the hub: Verify checks every field here (so a mistyped number never
leaves the agency), signs the look-up, publishes it, and waits, up to a deadline, for
either the hub's refusal (a signed receipt: PERMISSION_DENIED when the route policy says
no) or the population member's signed answer routed back by the hub (verified by the
gateway: hub stamp and the register's signature). Nothing is kept here: the caller gets
the answer, the ledger keeps the pseudonymous record.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from adapters.document.gateway import DocumentGateway
from adapters.document.servicer import REJECT_STATUS
from adapters.envelope import VerifiedDelivery
from adapters.ids import new_uuid
from adapters.pb.truc.v1 import envelope_pb2, population_pb2, population_pb2_grpc
from adapters.population.payloads import check_request, parse_answer, request_payload
from hub.errors import MalformedMessage
from hub.model import Kind

DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000

# The hub's look-up refusals, besides the document vocabulary.
LOOKUP_REJECT_STATUS: dict[str, grpc.StatusCode] = {
    **REJECT_STATUS,
    "attribute_not_allowed": grpc.StatusCode.PERMISSION_DENIED,
    "not_a_register": grpc.StatusCode.FAILED_PRECONDITION,
    "lookups_disabled": grpc.StatusCode.UNIMPLEMENTED,
    "missing_field": grpc.StatusCode.INVALID_ARGUMENT,
}


class LookupAnswers:
    """Answers routed to this member, handed to the Verify call waiting for each."""

    def __init__(self, gateway: DocumentGateway) -> None:
        self._waiting: dict[str, asyncio.Future[VerifiedDelivery]] = {}
        gateway.on_lookup_answer = self._arrived

    def expect(self, lookup_id: str) -> asyncio.Future[VerifiedDelivery]:
        future: asyncio.Future[VerifiedDelivery] = asyncio.get_running_loop().create_future()
        self._waiting[lookup_id] = future
        return future

    def forget(self, lookup_id: str) -> None:
        self._waiting.pop(lookup_id, None)

    def _arrived(self, verified: VerifiedDelivery) -> None:
        future = self._waiting.get(verified.opened.header.document_id)
        if future is not None and not future.done():
            future.set_result(verified)


class PopulationLookupServicer(population_pb2_grpc.PopulationLookupServicer):
    def __init__(
        self,
        gateway: DocumentGateway,
        population_member: str,
        client_common_name: str | None = None,
    ) -> None:
        self._gateway = gateway
        self._register = population_member
        self._answers = LookupAnswers(gateway)
        self._client_cn = client_common_name

    async def _authorize(self, context: grpc.aio.ServicerContext) -> None:
        if self._client_cn is None:
            return
        names = context.auth_context().get("x509_common_name", [])
        if self._client_cn.encode() not in names:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"client certificate CN is not {self._client_cn}"
            )

    async def Verify(
        self, request: population_pb2.VerifyRequest, context: grpc.aio.ServicerContext
    ) -> population_pb2.VerifyResponse:
        await self._authorize(context)
        try:
            check_request(request)
        except MalformedMessage as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        if not self._register:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "no population member is configured"
            )
        timeout = _timeout(request.timeout_ms, context.time_remaining())
        lookup_id = new_uuid()
        answer = self._answers.expect(lookup_id)
        receipt = self._gateway.expect_receipt(lookup_id)
        try:
            try:
                await self._gateway.publish_unkept(
                    kind=Kind.LOOKUP,
                    recipients=[self._register],
                    document_id=lookup_id,
                    payload=request_payload(request, self._gateway.now_ms() + int(timeout * 1000)),
                )
            except Exception as error:  # NATS unreachable or JetStream refused
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    f"the hub's message stream did not take it: {error}",
                )
            return await self._wait(context, lookup_id, answer, receipt, timeout)
        finally:
            self._answers.forget(lookup_id)
            self._gateway.forget_receipt(lookup_id, receipt)
            for future in (answer, receipt):
                future.cancel()

    async def _wait(
        self,
        context: grpc.aio.ServicerContext,
        lookup_id: str,
        answer: asyncio.Future[VerifiedDelivery],
        receipt: asyncio.Future[envelope_pb2.Receipt],
        within: float,
    ) -> population_pb2.VerifyResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # The hub's refusal comes as a receipt; its acceptance matters only through the answer.
        pending: set[asyncio.Future[Any]] = {answer, receipt}
        while not answer.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if receipt.done() and receipt in pending:
                pending.discard(receipt)
                verdict = receipt.result()
                if not verdict.accepted:
                    code = LOOKUP_REJECT_STATUS.get(
                        verdict.reject_code, grpc.StatusCode.FAILED_PRECONDITION
                    )
                    await context.abort(
                        code, f"refused by the hub ({verdict.reject_code}): {verdict.reject_reason}"
                    )
        if not answer.done():
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"look-up {lookup_id}: no answer from {self._register} within {within:.1f} s",
            )
        verified = answer.result()
        if verified.opened.header.sender != self._register:
            await context.abort(
                grpc.StatusCode.DATA_LOSS,
                f"look-up {lookup_id}: answered by {verified.opened.header.sender}, not"
                f" {self._register}",
            )
        payload = parse_answer(verified.opened.payload)
        return population_pb2.VerifyResponse(
            lookup_id=lookup_id,
            matched=payload.matched,
            attributes=dict(payload.attributes) if payload.matched else {},
            answered_by=verified.opened.header.sender,
            ledger_position=verified.stamp.ledger_position,
        )


def _timeout(timeout_ms: int, remaining: float | None) -> float:
    wanted = min(timeout_ms or DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS) / 1000
    if remaining is not None:
        wanted = min(wanted, max(0.1, remaining - 0.2))
    return wanted
