"""The population adapter (member G01): answers look-ups the hub routes to it from the register.

For each routed look-up it verifies the hub's stamp and the asker's signature (open_routed),
asks the register over its gRPC service, and signs and publishes the answer back through the
hub. The answer's message id derives from the request's, so a redelivered request (after a
crash, a NATS redelivery) produces the same answer id and the hub records it once.

A request its asker no longer waits for (the signed `wait_until_ms`, plus a clock-skew
allowance; two minutes after signing when absent) is not answered at all: answering would
disclose data nobody is waiting for, and the ledger would show a disclosure the agency never
received. It stays on record as asked and unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from adapters.crypto import Signer
from adapters.envelope import EnvelopeError, open_receipts, open_routed, seal
from adapters.nats.jetstream import pull_loop
from adapters.population.payloads import answer_payload, parse_request
from hub import subjects
from hub.errors import MalformedMessage
from hub.model import Kind
from hub.ports import Clock

log = logging.getLogger(__name__)
ANSWER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://truc.gov.vn/ns/lookup-answer")
# When a request does not say how long its asker waits (asker.MAX_TIMEOUT_MS is 60 s).
STALE_AFTER_MS = 120_000
# Clocks of the asking and the answering adapter may differ by this much.
CLOCK_SKEW_MS = 5_000

# (id number, full name, date of birth, attributes) -> (matched, disclosed attributes)
Verify = Callable[[str, str, str, list[str]], Awaitable[tuple[bool, dict[str, str]]]]


def answer_id(request_message_id: str) -> str:
    return str(uuid.uuid5(ANSWER_NAMESPACE, request_message_id))


class PopulationResponder:
    def __init__(
        self,
        *,
        member: str,
        signer: Signer,
        hub_public_key: bytes,
        nc: NATS,
        verify: Verify,
        clock: Clock,
        stale_after_ms: int = STALE_AFTER_MS,
    ) -> None:
        self.member = member
        self._signer = signer
        self._hub_key = hub_public_key
        self._js: JetStreamContext = nc.jetstream()
        self._verify = verify
        self._clock = clock
        self._stale_after_ms = stale_after_ms
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.answered = 0
        self.expired = 0

    @property
    def key_id(self) -> str:
        return self._signer.key_id

    def use_signer(self, signer: Signer) -> None:
        if signer.name != self.member:
            raise ValueError(f"a key of {signer.name} cannot sign for {self.member}")
        self._signer = signer

    async def start(self) -> None:
        requests = await self._js.pull_subscribe_bind(
            durable=subjects.delivery_consumer(self.member), stream=subjects.OUT_STREAM
        )
        receipts = await self._js.pull_subscribe_bind(
            durable=subjects.receipt_consumer(self.member), stream=subjects.OUT_STREAM
        )
        self._tasks = [
            asyncio.create_task(
                pull_loop(
                    requests,
                    self._on_requests,
                    self._stop,
                    batch=64,
                    name=f"{self.member} look-ups",
                    auto_ack=False,
                )
            ),
            asyncio.create_task(
                pull_loop(
                    receipts, self._on_receipts, self._stop, batch=256, name=f"{self.member} rcpt"
                )
            ),
        ]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        self._tasks = []

    async def _on_requests(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            if subjects.bundle_kind(msg.headers):  # documents: not look-ups
                log.error("%s: refused a bundle of routed messages: not look-ups", self.member)
                await msg.term()
                continue
            try:
                verified = open_routed(
                    msg.data, hub_public_key=self._hub_key, recipient=self.member
                )
                header = verified.opened.header
                if header.kind is not Kind.LOOKUP:
                    raise MalformedMessage("header.kind", f"{header.kind} is not a look-up")
                request = parse_request(verified.opened.payload)
            except (EnvelopeError, MalformedMessage) as error:
                log.error("%s: refused a routed message: %s", self.member, error)
                await msg.term()
                continue
            wait_until = (
                request.wait_until_ms + CLOCK_SKEW_MS
                if request.wait_until_ms
                else header.signed_at_ms + self._stale_after_ms
            )
            if self._clock.now_ms() > wait_until:
                log.warning(
                    "%s: nobody waits for look-up %s any more; not answered",
                    self.member,
                    header.message_id,
                )
                self.expired += 1
                await msg.ack()
                continue
            try:
                matched, attributes = await self._verify(
                    request.id_number,
                    request.full_name,
                    request.date_of_birth,
                    list(request.attributes),
                )
            except Exception:
                log.warning("%s: the register did not answer; will retry", self.member)
                await msg.nak(delay=1.0)
                continue
            payload = answer_payload(header.message_id, request.id_number, matched, attributes)
            message_id, envelope = seal(
                self._signer,
                kind=Kind.LOOKUP_ANSWER,
                recipients=[header.sender],
                document_id=header.message_id,
                payload=payload,
                signed_at_ms=self._clock.now_ms(),
                message_id=answer_id(header.message_id),
            )
            await self._js.publish(
                subjects.inbound(self.member), envelope, headers={"Nats-Msg-Id": message_id}
            )
            self.answered += 1
            await msg.ack()

    async def _on_receipts(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            try:
                receipts = open_receipts(msg.data, hub_public_key=self._hub_key)
            except (EnvelopeError, MalformedMessage) as error:
                log.error("%s: refused a receipt: %s", self.member, error)
                continue
            for receipt in receipts:
                if not receipt.accepted:
                    log.warning(
                        "%s: the hub refused answer %s: %s",
                        self.member,
                        receipt.message_id,
                        receipt.reject_reason,
                    )
