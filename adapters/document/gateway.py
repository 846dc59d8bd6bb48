"""The NATS side of a document adapter: sign and publish what the member sends, take in and
verify what the hub routes to it, and keep the hub's receipts.

Sending is at-least-once with an idempotent hub: the signed envelope is stored in the mailbox
before it is published, and anything the hub has not answered is published again (same bytes,
same Nats-Msg-Id) when the adapter starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from adapters.crypto import Signer, verify_raw
from adapters.document.attachments import AttachmentProblem, AttachmentStore
from adapters.document.mailbox import (
    Arrival,
    DeliveryProof,
    HubVerdict,
    InboxRow,
    Mailbox,
    Outbound,
    SentRow,
)
from adapters.envelope import (
    MAX_DELIVERY_ITEMS,
    EnvelopeError,
    TreeHeads,
    VerifiedDelivery,
    attachment_digests,
    bundle,
    open_receipts,
    open_routed,
    parse_document,
    seal_many,
    unbundle,
)
from adapters.nats.jetstream import JetStreamPublisher, pull_loop, raise_failures
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from hub import subjects
from hub.batching import batch_id, bundles
from hub.errors import MalformedMessage
from hub.model import AttachmentDigest, Kind, Opened
from hub.ports import Clock, Publication
from ledger.errors import LedgerError
from ledger.leaf import decode_leaf
from ledger.merkle import leaf_hash
from ledger.note import TlogProof, ed25519_verifier, verify_tlog_proof

log = logging.getLogger(__name__)
# Re-sign unanswered messages older than this before publishing them again: well inside the
# hub's replay window (hub.intake.REPLAY_WINDOW_MS, 15 minutes).
RESIGN_AFTER_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class Outgoing:
    """A message of this member's to sign and send."""

    kind: Kind
    recipients: tuple[str, ...]
    document_id: str
    payload: bytes
    # The caller's id (a retry sends the kept bytes again); a new UUID when None.
    message_id: str | None = None
    attachments: tuple[AttachmentDigest, ...] = ()

    def repeats(self, kind: str, recipients: Sequence[str], payload: bytes) -> bool:
        """Whether this is that message again (a retry): the same kind, recipients and
        payload, whatever document id a retry without one made up."""
        return (self.kind.value, self.recipients, self.payload) == (
            kind,
            tuple(recipients),
            payload,
        )


@dataclass(frozen=True)
class Sent:
    """One message of `send_many`: its id, and why JetStream did not store it (None: it did;
    the message is kept all the same, and published again by the republisher)."""

    message_id: str
    error: BaseException | None = None
    # The document the kept message is about: a retry's own, not the one the retry made up.
    document_id: str = ""


@dataclass(frozen=True)
class Acknowledged:
    """What `acknowledge_many` did with each delivery id asked."""

    marked: list[int]
    already: list[int]
    unknown: list[int]


REFUSED: Literal["refused"] = "refused"
HANDED_ON: Literal["handed_on"] = "handed_on"


class MessageIdReused(MalformedMessage):
    """An agency's message id already names another kept message. A retry must repeat the
    message exactly: it is answered with what was first kept, so a different message under
    the same id would otherwise be reported sent and never leave."""

    def __init__(self, message_id: str, document_id: str) -> None:
        super().__init__(
            "message_id",
            f"{message_id} was already used for another message (document {document_id}):"
            " a retry must repeat the same kind, recipients and payload; a new message needs"
            " a new message_id",
        )


class ProofsPendingError(Exception):
    """Items were acknowledged (marked, their delivery proofs kept) but not every proof was
    published; the republisher sends them again."""


class ProofError(Exception):
    """The hub's inclusion proof is missing, refused, or does not verify."""


def check_receipt_proof(text: str, position: int, hub_name: str, hub_key: bytes) -> None:
    """Verify a tlog-proof for ledger `position` against the hub's checkpoint key, offline."""
    try:
        proof = TlogProof.parse(text)
        leaf = decode_leaf(proof.extra)
        if leaf.position != position:
            raise ProofError(f"proof is for position {leaf.position}, not {position}")
        verifier = ed25519_verifier(
            hub_name, hub_key, lambda message, signature: verify_raw(hub_key, message, signature)
        )
        verify_tlog_proof(proof, leaf_hash(proof.extra), hub_name, verifier)
    except LedgerError as error:
        raise ProofError(f"inclusion proof does not verify: {error}") from error


class DocumentGateway:
    def __init__(
        self,
        *,
        member: str,
        signer: Signer,
        hub_public_key: bytes,
        nc: NATS,
        mailbox: Mailbox,
        clock: Clock,
        hub_name: str = "",
        republish_every: float = 30.0,
    ) -> None:
        self.member = member
        self.republish_every = republish_every
        self.hub_name = hub_name
        self._signer = signer
        self._hub_key = hub_public_key
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._publisher = JetStreamPublisher(self._js, max_payload=nc.max_payload)
        self.mailbox = mailbox
        self._clock = clock
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: dict[str, list[asyncio.Future[envelope_pb2.Receipt]]] = {}
        self.arrivals = asyncio.Condition()
        self.attachments = AttachmentStore(self._js, member)
        # Population look-up answers (issue 7) go here, not to the mailbox: they are
        # personal data, for the one waiting Verify call (adapters.population.asker).
        self.on_lookup_answer: Callable[[VerifiedDelivery], None] | None = None

    @property
    def key_id(self) -> str:
        return self._signer.key_id

    def use_signer(self, signer: Signer) -> None:
        """Sign from now on with `signer` (a rotated key); stored envelopes keep theirs."""
        if signer.name != self.member:
            raise ValueError(f"a key of {signer.name} cannot sign for {self.member}")
        self._signer = signer

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        deliveries = await self._js.pull_subscribe_bind(
            durable=subjects.delivery_consumer(self.member), stream=subjects.OUT_STREAM
        )
        receipts = await self._js.pull_subscribe_bind(
            durable=subjects.receipt_consumer(self.member), stream=subjects.OUT_STREAM
        )
        self._tasks = [
            asyncio.create_task(
                pull_loop(
                    deliveries,
                    self._on_deliveries,
                    self._stop,
                    batch=64,
                    name=f"{self.member} deliveries",
                    auto_ack=False,
                )
            ),
            asyncio.create_task(
                pull_loop(
                    receipts,
                    self._on_receipts,
                    self._stop,
                    batch=256,
                    name=f"{self.member} receipts",
                    auto_ack=False,
                )
            ),
        ]
        await self._publish_unanswered(older_than_ms=0, limit=-1)
        self._tasks.append(asyncio.create_task(self._republish_unanswered()))

    async def _publish_unanswered(self, older_than_ms: int, limit: int = 1000) -> int:
        """Publish again what the hub has not answered for `older_than_ms`, at most `limit`
        (-1: all, at start) per round, with the same bytes and Nats-Msg-Id, so JetStream and
        the ledger recognise a copy that did arrive."""
        now = self._clock.now_ms()
        rows = self.mailbox.unconfirmed(created_by_ms=now - older_than_ms, limit=limit)
        envelopes = [
            self._reseal(row) if row.created_at_ms < now - RESIGN_AFTER_MS else row.envelope
            for row in rows
        ]
        raise_failures(
            await self._publish_each(
                [(row.message_id, envelope) for row, envelope in zip(rows, envelopes, strict=True)]
            )
        )
        return len(rows)

    async def _republish_unanswered(self) -> None:
        """Every `republish_every` seconds, publish again what has waited that long for the
        hub's answer. A publish can fail after the message was kept (NATS away for a moment,
        a cluster electing a leader: the caller got an error, or an `AckInbox` whose
        delivery proof did not go out); without this it would wait for the adapter's next
        start."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.republish_every)
            if self._stop.is_set():
                return
            try:
                count = await self._publish_unanswered(int(self.republish_every * 1000))
            except Exception as error:  # NATS still away: try again next round
                log.warning(
                    "%s: publishing unanswered messages again failed: %s", self.member, error
                )
                continue
            if count:
                log.info("%s: published %d unanswered messages again", self.member, count)

    def _reseal(self, row: SentRow) -> bytes:
        """Sign an old unanswered message again (same id, same payload), so the hub's replay
        window does not refuse what this adapter failed to deliver during an outage. If the
        hub did record the first copy, the message id makes this one a duplicate."""
        kind = Kind(row.kind)
        attachments = (
            attachment_digests(document_pb2.Document.FromString(row.payload))
            if kind is Kind.DOCUMENT
            else []
        )
        sealed = self._seal(
            Outgoing(
                kind=kind,
                recipients=row.recipients,
                document_id=row.document_id,
                payload=row.payload,
                message_id=row.message_id,
                attachments=tuple(attachments),
            )
        )
        self.mailbox.replace_envelope(row.message_id, sealed.envelope, sealed.created_at_ms)
        return sealed.envelope

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        self._tasks = []
        async with self.arrivals:
            self.arrivals.notify_all()

    # -- sending ----------------------------------------------------------------------------

    async def send(
        self,
        *,
        kind: Kind,
        recipients: Sequence[str],
        document_id: str,
        payload: bytes,
        message_id: str | None = None,
        attachments: Sequence[AttachmentDigest] = (),
    ) -> str:
        """Sign, keep, publish; return once JetStream stored the message. Safe to retry with
        the same message id: the stored bytes are published again, not signed anew."""
        return await self.send_one(
            Outgoing(
                kind=kind,
                recipients=tuple(recipients),
                document_id=document_id,
                payload=payload,
                message_id=message_id,
                attachments=tuple(attachments),
            )
        )

    async def send_one(self, message: Outgoing) -> str:
        """`send`, for a message already built (one checked with `reused`, say)."""
        (sent,) = await self.send_many([message])
        if sent.error is not None:
            raise sent.error
        return sent.message_id

    def reused(self, message: Outgoing) -> MessageIdReused | None:
        """Why `message` may not go under its caller-given id: the id is kept for a message
        of another kind, other recipients or another payload (None when it is new, or a
        true retry)."""
        if message.message_id is None:
            return None
        kept = self.mailbox.sent(message.message_id)
        if kept is None or message.repeats(kept.kind, kept.recipients, kept.payload):
            return None
        return MessageIdReused(message.message_id, kept.document_id)

    async def send_many(self, messages: Sequence[Outgoing]) -> list[Sent]:
        """Sign each message, keep them all in one mailbox transaction, then publish them
        all pipelined; per message, in order, its id and whether JetStream stored it.

        At least once, as for one message: nothing is published before it is kept (and the
        republisher sends again what the hub leaves unanswered). A message whose id was
        kept before (a retry, or twice in one batch) is not signed anew: its kept bytes are
        published again, which JetStream and the hub recognise by the id."""
        kept: dict[str, tuple[bytes, str]] = {}  # message id: envelope, document id
        to_seal: list[Outgoing] = []
        slots: list[str | int] = []  # per message: a kept id, or its place in to_seal
        sealing: set[str] = set()  # ids of to_seal's messages that came with one
        for message in messages:
            message_id = message.message_id
            if message_id is not None and message_id not in kept and message_id not in sealing:
                previous = self.mailbox.sent(message_id)
                if previous is not None:
                    kept[message_id] = (previous.envelope, previous.document_id)
            if message_id is not None and (message_id in kept or message_id in sealing):
                slots.append(message_id)
                continue
            if message_id is not None:
                sealing.add(message_id)
            slots.append(len(to_seal))
            to_seal.append(message)
        fresh = self._seal_all(to_seal) if to_seal else []
        for sealed in fresh:
            kept[sealed.message_id] = (sealed.envelope, sealed.document_id)
        out = [slot if isinstance(slot, str) else fresh[slot].message_id for slot in slots]
        if fresh:
            stored = self.mailbox.store_sent_many(fresh)
            for sealed, first in zip(fresh, stored, strict=True):
                previous = None if first else self.mailbox.sent(sealed.message_id)
                if previous is not None:  # a concurrent send kept this id first: send its bytes
                    kept[sealed.message_id] = (previous.envelope, previous.document_id)
        errors = await self._publish_each([(m, kept[m][0]) for m in out])
        return [Sent(m, e, kept[m][1]) for m, e in zip(out, errors, strict=True)]

    def _seal(self, message: Outgoing) -> Outbound:
        """Sign `message` now (a new message id unless it names one), as `sent` keeps it."""
        return self._seal_all([message])[0]

    def _seal_all(self, messages: Sequence[Outgoing]) -> list[Outbound]:
        """Sign `messages` now, together (one signature for all: `seal_many`), as `sent`
        keeps them."""
        now = self._clock.now_ms()
        sealed = seal_many(self._signer, messages, signed_at_ms=now)
        return [
            Outbound(
                message_id=message_id,
                document_id=message.document_id,
                kind=message.kind.value,
                recipients=message.recipients,
                envelope=envelope,
                payload=message.payload,
                created_at_ms=now,
            )
            for (message_id, envelope), message in zip(sealed, messages, strict=True)
        ]

    async def _publish_each(
        self, messages: Sequence[tuple[str, bytes]]
    ) -> list[BaseException | None]:
        """Publish (message id, envelope) pairs pipelined on this member's inbound subject,
        several to a `Bundle` (`Truc-Bundle: envelopes`); per message, None once JetStream
        stored it, or why not. A lone message goes as itself under its own id, as before
        bundling; a bundle's id derives from its messages' ids, so a retry of the same
        batch is deduplicated by JetStream (and anything else by the hub's ledger)."""
        subject = subjects.inbound(self.member)
        groups = bundles(messages, lambda message: len(message[1]))
        publications = [
            Publication(subject, group[0][1], group[0][0])
            if len(group) == 1
            else Publication(
                subject,
                bundle([envelope for _, envelope in group]),
                batch_id("envelopes", [message_id for message_id, _ in group]),
                items=len(group),
                headers={subjects.BUNDLE_HEADER: subjects.ENVELOPE_BUNDLE},
            )
            for group in groups
        ]
        errors = await self._publisher.publish_each(publications)
        return [error for group, error in zip(groups, errors, strict=True) for _ in group]

    async def publish_unkept(
        self, *, kind: Kind, recipients: Sequence[str], document_id: str, payload: bytes
    ) -> str:
        """Sign and publish without keeping a copy in the mailbox (a look-up: personal data,
        and a synchronous call the agency system retries itself). The message id is
        `document_id` (a look-up's id); call `expect_receipt(document_id)` before this when
        the hub's verdict matters."""
        sealed = self._seal(
            Outgoing(
                kind=kind,
                recipients=tuple(recipients),
                document_id=document_id,
                payload=payload,
                message_id=document_id,
            )
        )
        raise_failures(await self._publish_each([(sealed.message_id, sealed.envelope)]))
        return sealed.message_id

    def now_ms(self) -> int:
        """The adapter's clock (the one it signs with)."""
        return self._clock.now_ms()

    def expect_receipt(self, message_id: str) -> asyncio.Future[envelope_pb2.Receipt]:
        """A future the hub's receipt for `message_id` will complete (register it before
        publishing, so a fast receipt is not missed); `forget_receipt` when done."""
        future: asyncio.Future[envelope_pb2.Receipt] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(message_id, []).append(future)
        return future

    def forget_receipt(self, message_id: str, future: asyncio.Future[envelope_pb2.Receipt]) -> None:
        waiters = self._waiters.get(message_id, [])
        if future in waiters:
            waiters.remove(future)
        if not waiters:
            self._waiters.pop(message_id, None)

    async def wait_receipt(self, message_id: str, within: float) -> envelope_pb2.Receipt | None:
        """The hub's verdict on one of our messages, or None if none came in time."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[envelope_pb2.Receipt] = loop.create_future()
        self._waiters.setdefault(message_id, []).append(future)
        try:
            row = self.mailbox.sent(message_id)
            if row is not None and row.accepted is not None:
                return envelope_pb2.Receipt(
                    message_id=message_id,
                    document_id=row.document_id,
                    accepted=row.accepted,
                    ledger_position=row.ledger_position or 0,
                    reject_code=row.reject_code or "",
                    reject_reason=row.reject_reason or "",
                )
            try:
                return await asyncio.wait_for(future, within)
            except TimeoutError:
                return None
        finally:
            waiters = self._waiters.get(message_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(message_id, None)

    async def acknowledge(self, delivery_id: int) -> bool | None:
        """The agency system took an item: mark it, and prove delivery to the hub (signed).

        Returns None for an unknown delivery id, False when it was already acknowledged.
        """
        done = await self.acknowledge_many([delivery_id])
        if done.unknown:
            return None
        return bool(done.marked)

    async def acknowledge_many(self, delivery_ids: Sequence[int]) -> Acknowledged:
        """The agency system took these items: mark them all in one mailbox transaction,
        keeping in it one signed delivery proof for the documents marked (up to
        `MAX_DELIVERY_ITEMS` a proof; the ledger records a delivery on each document), then
        publish the proofs pipelined.

        Raises ProofsPendingError when a proof was not published: the items stay marked and
        their proofs kept, and the republisher sends them again (a retry reports them already
        acknowledged). Anything else raised means nothing was marked.
        """
        ids = list(dict.fromkeys(delivery_ids))
        rows = self.mailbox.inbox_items(ids)
        now = self._clock.now_ms()

        def prove(marked: list[int]) -> list[Outbound]:
            taken = [rows[i] for i in marked if rows[i].kind == Kind.DOCUMENT.value]
            return [self._delivery_proof(part, now) for part in delivery_parts(taken)]

        pending = [i for i in ids if i in rows and not rows[i].acknowledged]
        marked, kept = self.mailbox.acknowledge_many(pending, now, prove) if pending else ([], [])
        newly = set(marked)
        done = Acknowledged(
            marked=marked,
            already=[i for i in ids if i in rows and i not in newly],
            unknown=[i for i in ids if i not in rows],
        )
        try:
            raise_failures(await self._publish_each([(p.message_id, p.envelope) for p in kept]))
        except Exception as error:
            raise ProofsPendingError(str(error)) from error
        return done

    def _delivery_proof(self, rows: Sequence[InboxRow], now: int) -> Outbound:
        """One signed proof that the agency system took these documents: the single form
        for one, the list form for several."""
        if len(rows) == 1:
            delivery = envelope_pb2.Delivery(message_id=rows[0].message_id, delivered_at_ms=now)
        else:
            delivery = envelope_pb2.Delivery(
                items=[
                    envelope_pb2.DeliveredItem(document_id=r.document_id, message_id=r.message_id)
                    for r in rows
                ],
                delivered_at_ms=now,
            )
        return self._seal(
            Outgoing(
                kind=Kind.DELIVERY,
                recipients=tuple(dict.fromkeys(r.sender for r in rows)),
                document_id=rows[0].document_id,
                payload=delivery.SerializeToString(deterministic=True),
            )
        )

    async def wait_arrival(
        self, *, after: int, include_acknowledged: bool = False, within: float = 5.0
    ) -> None:
        """Return once the inbox holds an item after delivery id `after` (at once if it
        already does), or after `within` seconds. The check is made holding `arrivals`,
        which an arrival is stored before notifying: an item stored while the caller was
        busy (streaming the previous ones) is not missed until the next arrival."""
        async with self.arrivals:
            if self.mailbox.has_inbox_after(after, include_acknowledged=include_acknowledged):
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrivals.wait(), within)

    async def inclusion_proof(self, position: int, within: float = 5.0) -> str | None:
        """Ask the hub for the tlog-proof of `position`, and verify it before trusting it.

        None while no signed checkpoint covers the position yet.
        """
        reply = await self._nc.request(
            subjects.proof_requests(self.member),
            json.dumps({"position": position}).encode(),
            timeout=within,
        )
        answer = json.loads(reply.data)
        if answer.get("error"):
            raise ProofError(str(answer["error"]))
        text = answer.get("proof")
        if text is None:
            return None
        check_receipt_proof(str(text), position, self.hub_name, self._hub_key)
        return str(text)

    # -- receiving --------------------------------------------------------------------------

    async def _on_deliveries(self, msgs: list[Msg]) -> None:
        """Verify a pull of routed messages, keep them in one mailbox transaction, then ack:
        nothing is acknowledged to NATS before it is durable here.

        A bundle (several routed messages in one, `Truc-Bundle: routed`) is taken item by
        item, each checked as if it came alone; an item that fails its checks is refused
        (logged, never handed on) without holding back the others.
        """
        arrivals: list[Arrival] = []
        taken: list[Msg] = []
        for msg in msgs:
            bundled = subjects.bundle_kind(msg.headers) == subjects.ROUTED_BUNDLE
            try:
                items = unbundle(msg.data) if bundled else [msg.data]
            except (EnvelopeError, MalformedMessage) as error:
                log.error("%s: refused a bundle of routed messages: %s", self.member, error)
                await msg.term()
                continue
            heads = TreeHeads()  # a bundle's copies share one signed tree head
            results = [await self._arrival(raw, heads) for raw in items]
            arrivals += [result for result in results if isinstance(result, Arrival)]
            if not bundled and results == [REFUSED]:  # a lone message that failed its checks
                await msg.term()
            else:
                taken.append(msg)
        stored = any(self.mailbox.store_received_many(arrivals)) if arrivals else False
        for msg in taken:
            await msg.ack()
        if stored:
            async with self.arrivals:
                self.arrivals.notify_all()

    async def _arrival(
        self, raw: bytes, heads: TreeHeads | None = None
    ) -> Arrival | Literal["refused", "handed_on"]:
        """One routed message checked end to end: what to keep in the mailbox, or REFUSED,
        or HANDED_ON (a look-up answer, given to its waiter at once)."""
        try:
            verified = open_routed(
                raw, hub_public_key=self._hub_key, recipient=self.member, heads=heads
            )
        except (EnvelopeError, MalformedMessage) as error:
            # Not from the hub, or altered on the way: never hand it to the agency system.
            log.error("%s: refused a routed message: %s", self.member, error)
            return REFUSED
        header = verified.opened.header
        if header.kind is Kind.LOOKUP_ANSWER:
            if self.on_lookup_answer is not None:
                self.on_lookup_answer(verified)
            return HANDED_ON
        if (
            header.kind is Kind.DOCUMENT
            and header.attachments
            and self.mailbox.received(header.message_id) is None
        ):
            await self._check_stored_attachments(verified.opened)
        return Arrival(
            message_id=header.message_id,
            kind=header.kind.value,
            document_id=header.document_id,
            sender=header.sender,
            ledger_position=verified.stamp.ledger_position,
            received_at_ms=self._clock.now_ms(),
            routed=verified.routed_bytes,
        )

    async def _check_stored_attachments(self, opened: Opened) -> None:
        """Read every stored attachment of an arriving document back from the sender's
        bucket and check it against the digest the sender signed (chunk by chunk, keeping
        nothing). A missing or altered object is recorded against the message, shown with
        the inbox item, and its download refused; the document itself, whose signature
        verified, is still delivered."""
        header = opened.header
        try:
            document = parse_document(opened)
        except MalformedMessage:
            return
        for i, attachment in enumerate(document.attachments):
            if not attachment.object_name or i >= len(header.attachments):
                continue
            try:
                await self.attachments.check(
                    header.sender, attachment.object_name, header.attachments[i]
                )
            except AttachmentProblem as problem:
                log.error(
                    "%s: attachment %d of message %s: %s",
                    self.member,
                    i,
                    header.message_id,
                    problem,
                    extra={"message_id": header.message_id, "member": self.member},
                )
                self.mailbox.record_attachment_problem(header.message_id, i, str(problem))

    async def _on_receipts(self, msgs: list[Msg]) -> None:
        """Keep a pull of hub receipts in one mailbox transaction, ack, then wake whoever
        waits for them (a waiter must find the verdict stored when it looks)."""
        verdicts: list[HubVerdict] = []
        deliveries: list[DeliveryProof] = []
        answered: list[envelope_pb2.Receipt] = []
        taken: list[Msg] = []
        for msg in msgs:
            try:
                receipts = open_receipts(msg.data, hub_public_key=self._hub_key)
            except (EnvelopeError, MalformedMessage) as error:
                log.error("%s: refused a receipt: %s", self.member, error)
                await msg.term()
                continue
            for receipt in receipts:
                if receipt.delivered_to:
                    deliveries.append(
                        DeliveryProof(
                            receipt.message_id, receipt.delivered_to, receipt.ledger_position
                        )
                    )
                else:
                    verdicts.append(
                        HubVerdict(
                            receipt.message_id,
                            receipt.accepted,
                            receipt.ledger_position,
                            receipt.reject_code,
                            receipt.reject_reason,
                        )
                    )
                    answered.append(receipt)
            taken.append(msg)
        if verdicts or deliveries:
            self.mailbox.record_receipts(verdicts, deliveries)
        for msg in taken:
            await msg.ack()
        for receipt in answered:
            for future in self._waiters.get(receipt.message_id, []):
                if not future.done():
                    future.set_result(receipt)


def delivery_parts(rows: Sequence[InboxRow]) -> list[list[InboxRow]]:
    """Documents taken together, in proofs of at most `MAX_DELIVERY_ITEMS`, each document
    once a proof (a document listed again starts the next proof)."""
    parts: list[list[InboxRow]] = []
    seen: set[str] = set()
    for row in rows:
        if not parts or len(parts[-1]) >= MAX_DELIVERY_ITEMS or row.document_id in seen:
            parts.append([])
            seen = set()
        parts[-1].append(row)
        seen.add(row.document_id)
    return parts
