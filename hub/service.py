"""The hub's main use case: judge a batch of inbound messages, record, countersign, route.

One batch = one ledger transaction (group commit). The caller acknowledges the inbound
messages only after `process` returns, i.e. after the events are durable and every routed
copy, receipt, ledger-feed entry and dead letter is stored by JetStream; if anything fails
the batch comes again and the ledger recognises what it already recorded (answering with the
first recording's position and events), so the same publications are made again under the
same ids and nothing is lost: JetStream keeps one of each. The feed and the receipts are at
least once all the same (a message that comes again in other company is grouped
differently); their consumers skip what they have seen, by position and by message id.

`fault` is a test seam: it is called at each named point between the ledger write and the
acknowledgement, and raising there is how tests simulate a crash at that point.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from hub import subjects
from hub.batching import batch_id, bundles, chunks
from hub.intake import Accepted, Intake, Rejected, Verdict, iso_ms
from hub.model import Kind, ReceiptFacts
from hub.ports import Clock, EnvelopeCodec, Publication, Publisher
from ledger.commands import (
    Command,
    LedgerEntry,
    Outcome,
    Recorded,
    RecordRefusal,
    Refused,
)

RecordFn = Callable[[Sequence[Command]], list[Outcome]]
# Well under nats-server's default max_payload (1 MiB): a feed message of a batch of
# documents with many attachments (each line carries the signed header) stays publishable.
FEED_MESSAGE_BYTES = 256 * 1024
RECEIPTS_PER_MESSAGE = 128
# Routed messages that may share a message (a Bundle): those every adapter keeps in its
# mailbox by id. Look-ups and their answers, which their handlers act on at once, go alone.
BUNDLED_KINDS = frozenset({Kind.DOCUMENT, Kind.STATUS, Kind.DOSSIER, Kind.POSTAL})
# Points `fault` is called at: after the ledger write, and after publishing (before the ack).
AFTER_RECORD, AFTER_PUBLISH = "after_record", "after_publish"
FaultHook = Callable[[str], None]


@dataclass(frozen=True)
class Inbound:
    subject: str
    data: bytes
    # When JetStream stored the message (Unix ms): the replay window is judged against it,
    # so a message queued while the hub was down is not "too old" when the hub comes back.
    stored_at_ms: int | None = None


@dataclass(frozen=True)
class MessageOutcome:
    """One inbound message's fate, for metrics and logs (hub.metrics.MessageFacts)."""

    # The registered member accountable for it: the sender when accepted, the owner of the
    # subject it came on when refused, "" when nobody registered is (never an unchecked claim,
    # which would let anyone mint metric labels).
    member: str
    kind: str  # document, status, delivery; "" when it could not be parsed
    outcome: str  # accepted, duplicate, rejected
    reason: str = ""  # the refusal code
    message_id: str = ""
    signed_at_ms: int = 0
    received_at_ms: int = 0


@dataclass
class BatchReport:
    """What one batch did, for metrics and logs."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    published: int = 0
    messages: list[MessageOutcome] = field(default_factory=list)
    published_subjects: list[str] = field(default_factory=list)
    recorded: int = 0  # commands in the ledger transaction(s): the group-commit size
    commit_seconds: float = 0.0
    published_at_ms: int = 0  # when JetStream had stored every publication


@dataclass(frozen=True)
class Prepared:
    """A batch judged and recorded, with the publications it owes."""

    report: BatchReport
    publications: list[Publication]


class HubService:
    def __init__(
        self,
        *,
        intake: Intake,
        record: RecordFn,
        codec: EnvelopeCodec,
        publisher: Publisher,
        clock: Clock,
        executor: Executor,
        fault: FaultHook | None = None,
    ) -> None:
        self._intake = intake
        self._record = record
        self._codec = codec
        self._publisher = publisher
        self._clock = clock
        self._executor = executor
        self._fault = fault

    async def process(self, batch: Sequence[Inbound]) -> BatchReport:
        """Prepare and publish one batch."""
        return await self.publish(await self.prepare(batch))

    async def prepare(self, batch: Sequence[Inbound]) -> Prepared:
        """Judge and record a batch, and compose what it owes (routed copies, receipts,
        dead letters, feed entries); nothing is published yet."""
        loop = asyncio.get_running_loop()
        verdicts, commands, count, commit_seconds = await loop.run_in_executor(
            self._executor, self._judge_and_record, batch
        )
        report = BatchReport(recorded=count, commit_seconds=commit_seconds)
        outcomes = iter(commands.outcomes)
        publications: list[Publication] = []
        answers: list[Answer] = []
        routed: list[RoutedCopy] = []
        fed: list[LedgerEntry] = []
        late_refusals: list[Command] = []
        for verdict, command, item in zip(verdicts, commands.commands, batch, strict=True):
            outcome = next(outcomes) if command is not None else None
            if isinstance(verdict, Accepted) and isinstance(outcome, Refused):
                verdict = Rejected(
                    outcome.code,
                    outcome.reason,
                    verdict.received_at_ms,
                    verdict.opened,
                    verdict.opened.header.sender,
                    True,
                )
                late = _command_for(verdict, item.data)
                assert late is not None
                late_refusals.append(late)
            if isinstance(verdict, Accepted):
                assert isinstance(outcome, Recorded)
                report.accepted += 1
                report.duplicates += outcome.duplicate
                report.messages.append(
                    _outcome(verdict, "duplicate" if outcome.duplicate else "accepted")
                )
                self._accepted(verdict, outcome, answers, routed)
            else:
                report.rejected += 1
                report.messages.append(_outcome(verdict, "rejected"))
                publications += self._rejected(verdict, item.data, answers)
            # Duplicates too: a first attempt may have recorded and then failed to publish.
            if isinstance(outcome, Recorded):
                fed += outcome.entries
        if late_refusals:
            started = time.perf_counter()
            recorded = await loop.run_in_executor(self._executor, self._record, late_refusals)
            report.commit_seconds += time.perf_counter() - started
            report.recorded += len(late_refusals)
            for outcome in recorded:
                if isinstance(outcome, Recorded):
                    fed += outcome.entries
        publications += routed_publications(self._codec, routed)
        publications += receipt_publications(self._codec, answers)
        # Once each, in ledger order (a message twice in one batch answers the same entries).
        unique = {entry.position: entry for entry in fed}
        publications += feed_publications([unique[position] for position in sorted(unique)])
        self._at(AFTER_RECORD)
        return Prepared(report, publications)

    async def publish(self, prepared: Prepared) -> BatchReport:
        """Publish what a prepared batch owes; returns once JetStream stored all of it."""
        report, publications = prepared.report, prepared.publications
        await self._publisher.publish_all(publications)
        report.published = len(publications)
        if publications:
            report.published_subjects = [p.subject for p in publications for _ in range(p.items)]
            report.published_at_ms = self._clock.now_ms()
        self._at(AFTER_PUBLISH)
        return report

    def _judge_and_record(
        self, batch: Sequence[Inbound]
    ) -> tuple[list[Verdict], _Judged, int, float]:
        """Judge and record a batch on the ledger's thread, off the event loop.

        Signature checks (libsodium) and the ledger transaction (SQLite, PostgreSQL) both
        release the interpreter lock, so the loop keeps moving messages while they run.
        """
        verdicts: list[Verdict] = [
            self._intake.judge(
                subjects.member_from_inbound(item.subject), item.data, item.stored_at_ms
            )
            for item in batch
        ]
        commands = [_command_for(v, item.data) for v, item in zip(verdicts, batch, strict=True)]
        to_record = [c for c in commands if c is not None]
        started = time.perf_counter()
        outcomes = self._record(to_record)
        seconds = time.perf_counter() - started if to_record else 0.0
        return verdicts, _Judged(commands, outcomes), len(to_record), seconds

    async def give_up(self, item: Inbound, attempts: int, error: str) -> None:
        """Set aside a poison message: one whose processing raised `attempts` times.

        It is dead-lettered with the reason (and recorded as refused when the ledger still
        takes writes), so the caller can terminate it and the queue behind it moves on
        instead of being redelivered for ever.
        """
        member = subjects.member_from_inbound(item.subject)
        try:  # name the message and its document in the refusal when its header reads
            first = self._intake.judge(member, item.data, item.stored_at_ms)
        except Exception:
            first = None
        verdict = Rejected(
            "poison",
            f"processing failed {attempts} times: {error}"[:500],
            self._clock.now_ms(),
            first.opened if first is not None else None,
            first.notify if isinstance(first, Rejected) else member,
            isinstance(first, Accepted),
        )
        command = _command_for(verdict, item.data)
        answers: list[Answer] = []
        publications = self._rejected(verdict, item.data, answers)
        publications += receipt_publications(self._codec, answers)
        if command is not None:
            loop = asyncio.get_running_loop()
            try:
                outcomes = await loop.run_in_executor(self._executor, self._record, [command])
            except Exception:  # the ledger itself may be what fails: the dead letter remains
                outcomes = []
            for outcome in outcomes:
                if isinstance(outcome, Recorded):
                    publications += feed_publications(outcome.entries)
        await self._publisher.publish_all(publications)

    def _at(self, point: str) -> None:
        if self._fault is not None:
            self._fault(point)

    def _accepted(
        self,
        verdict: Accepted,
        outcome: Recorded,
        answers: list[Answer],
        routed: list[RoutedCopy],
    ) -> None:
        """What an accepted message owes: its routed copies go to `routed`, its receipts
        to `answers`."""
        header = verdict.opened.header
        if header.kind is Kind.DELIVERY:
            # Item by item: the document's sender (route_to) and its Delivered event.
            single = len(verdict.facts.delivered) == 1
            for (document_id, delivered), sender, entry in zip(
                verdict.facts.delivered, outcome.route_to, outcome.entries, strict=True
            ):
                answers.append(
                    Answer(
                        sender,
                        ReceiptFacts(
                            message_id=delivered,
                            document_id=document_id,
                            accepted=True,
                            ledger_position=entry.position,
                            recorded_at_ms=verdict.received_at_ms,
                            delivered_to=header.sender,
                        ),
                        f"{header.message_id}:delivered" + ("" if single else f":{document_id}"),
                    )
                )
        else:
            for recipient in outcome.route_to:
                routed.append(
                    RoutedCopy(
                        recipient,
                        verdict.opened.raw,
                        self._codec.stamp(
                            verdict.opened,
                            recipient=recipient,
                            ledger_position=outcome.position,
                            received_at_ms=verdict.received_at_ms,
                            sender_public_key=verdict.sender_public_key,
                        ),
                        f"{header.message_id}:{recipient}",
                        header.kind in BUNDLED_KINDS,
                    )
                )
        answers.append(
            Answer(
                header.sender,
                ReceiptFacts(
                    message_id=header.message_id,
                    document_id=header.document_id,
                    accepted=True,
                    ledger_position=outcome.position,
                    recorded_at_ms=verdict.received_at_ms,
                ),
                f"{header.message_id}:receipt",
            )
        )

    def _rejected(self, verdict: Rejected, raw: bytes, answers: list[Answer]) -> list[Publication]:
        """The dead letter of a refused message; its receipt goes to `answers`."""
        message_id = verdict.message_id or _raw_id(raw)
        header = verdict.opened.header if verdict.opened else None
        letter = {
            "message_id": message_id,
            "claimed_sender": header.sender if header else None,
            "subject_member": verdict.notify,
            "code": verdict.code,
            "reason": verdict.reason,
            "authenticated": verdict.authenticated,
            "received_at": iso_ms(verdict.received_at_ms),
            "envelope_b64": base64.b64encode(raw).decode(),
        }
        if header is not None and header.kind in (Kind.LOOKUP, Kind.LOOKUP_ANSWER):
            # A look-up's payload is personal data: its dead letter keeps the signed header.
            assert verdict.opened is not None
            letter["envelope_b64"] = ""
            letter["header_b64"] = base64.b64encode(verdict.opened.header_bytes).decode()
        out = [
            Publication(
                subjects.dead_letter(verdict.notify),
                json.dumps(letter, ensure_ascii=False).encode(),
                f"{message_id}:dead",
            )
        ]
        if verdict.notify:
            answers.append(
                Answer(
                    verdict.notify,
                    ReceiptFacts(
                        message_id=message_id,
                        document_id=header.document_id if header else "",
                        accepted=False,
                        reject_code=verdict.code,
                        reject_reason=verdict.reason,
                    ),
                    f"{message_id}:receipt",
                )
            )
        return out


@dataclass(frozen=True)
class _Judged:
    """Per message, what the ledger was asked to record (None: nothing), and the answers in
    the order of the commands that were not None."""

    commands: list[Command | None]
    outcomes: list[Outcome]


def _outcome(verdict: Verdict, outcome: str) -> MessageOutcome:
    header = verdict.opened.header if verdict.opened else None
    if isinstance(verdict, Accepted):
        member, reason = verdict.opened.header.sender, ""
    else:
        member, reason = verdict.notify or "", verdict.code
    return MessageOutcome(
        member=member,
        kind=str(header.kind) if header else "",
        outcome=outcome,
        reason=reason,
        message_id=header.message_id if header else "",
        signed_at_ms=header.signed_at_ms if header else 0,
        received_at_ms=verdict.received_at_ms,
    )


def _raw_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _command_for(verdict: Verdict, raw: bytes) -> Command | None:
    """What the ledger records for a verdict; refusals only when someone is accountable."""
    if isinstance(verdict, Accepted):
        return verdict.command
    if verdict.notify is None:
        return None
    if verdict.record is not None:
        return verdict.record
    header = verdict.opened.header if verdict.opened else None
    return RecordRefusal(
        message_id=verdict.message_id or _raw_id(raw),
        claimed_sender=header.sender if header else "",
        authenticated=verdict.authenticated,
        reason_code=verdict.code,
        reason=verdict.reason,
        received_at=iso_ms(verdict.received_at_ms),
        header_b64=base64.b64encode(verdict.opened.header_bytes).decode() if verdict.opened else "",
        signature_b64=base64.b64encode(verdict.opened.signature).decode() if verdict.opened else "",
        document_id=header.document_id if header else "",
    )


@dataclass(frozen=True)
class Answer:
    """A receipt the batch owes `member`, and the id it would be published under alone."""

    member: str
    facts: ReceiptFacts
    msg_id: str


# Room a copy's countersignature takes beside its envelope and stamp, when sizing bundles:
# a tree head, its signature and an inclusion proof of at most 7 hashes (128 copies).
COUNTERSIGNATURE_BYTES = 512


@dataclass(frozen=True)
class RoutedCopy:
    """A copy the batch owes `member` (the sender's envelope and the hub's stamp, still to
    be countersigned), and the id it is published under alone."""

    member: str
    envelope: bytes
    stamp: bytes
    msg_id: str
    # Whether it may travel in a bundle (BUNDLED_KINDS); the others always go alone.
    bundled: bool


def routed_publications(codec: EnvelopeCodec, copies: Sequence[RoutedCopy]) -> list[Publication]:
    """The routed copies of a batch: for each member, consecutive copies that may be bundled
    in one message (a `Bundle`, within `hub.batching.bundles`' bounds), each other copy
    alone, as before bundling. A member's copies keep their order. A lone copy keeps its own
    id and its own signature; a bundle's copies are countersigned together, with one
    signature (`EnvelopeCodec.countersign`), and its id derives from its copies' ids, so a
    batch processed again after a crash is recognised by JetStream, and a copy that comes
    again in other company is harmless (adapters keep messages by id).
    """
    by_member: dict[str, list[RoutedCopy]] = {}
    seen: set[str] = set()
    for copy in copies:
        if copy.msg_id not in seen:  # a message twice in a batch is routed once
            seen.add(copy.msg_id)
            by_member.setdefault(copy.member, []).append(copy)
    out: list[Publication] = []
    for member, theirs in by_member.items():
        subject = subjects.deliveries(member)
        runs: list[list[RoutedCopy]] = []
        for copy in theirs:
            if copy.bundled and runs and runs[-1][-1].bundled:
                runs[-1].append(copy)
            else:
                runs.append([copy])
        for run in runs:
            for part in bundles(run, _sized):
                signed = codec.countersign(member, [(c.envelope, c.stamp) for c in part])
                if len(part) == 1:
                    out.append(Publication(subject, signed[0], part[0].msg_id))
                    continue
                out.append(
                    Publication(
                        subject,
                        codec.bundle(signed),
                        batch_id("routed", [c.msg_id for c in part]),
                        items=len(part),
                        headers={subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE},
                    )
                )
    return out


def _sized(copy: RoutedCopy) -> int:
    """A copy's size in a bundle, countersigned (`bundles` counts `len` of what this gives)."""
    return len(copy.envelope) + len(copy.stamp) + COUNTERSIGNATURE_BYTES


def receipt_publications(codec: EnvelopeCodec, answers: Sequence[Answer]) -> list[Publication]:
    """One signed message per member for its receipts of a batch (at most
    `RECEIPTS_PER_MESSAGE` a message).

    Signing and publishing each receipt alone cost the hub a signature and JetStream a
    message apiece, three per document. A lone receipt keeps its own id; a batch's id is
    derived from its receipts' ids, so a batch processed again after a crash is recognised
    by JetStream (and a redelivered receipt is harmless: adapters record verdicts by id).
    """
    by_member: dict[str, list[Answer]] = {}
    for answer in answers:
        by_member.setdefault(answer.member, []).append(answer)
    out = []
    for member, theirs in by_member.items():
        for mine in chunks(theirs, lambda _: 1, RECEIPTS_PER_MESSAGE):
            msg_id = (
                mine[0].msg_id if len(mine) == 1 else batch_id("receipts", [a.msg_id for a in mine])
            )
            out.append(
                Publication(
                    subjects.receipts(member),
                    codec.receipts([a.facts for a in mine]),
                    msg_id,
                    items=len(mine),
                )
            )
    return out


def feed_publications(entries: Sequence[LedgerEntry]) -> list[Publication]:
    """Recorded events on the ledger feed, for monitors and mirrors: one message per event
    kind per batch (its subject still names the kind, `truc.ledger.document.routed`), each
    event one line of JSON in ledger order, at most `FEED_MESSAGE_BYTES` a message.

    A lone event is its own message under its own id `ledger:<position>`, exactly as before
    batching; a run's id derives from its positions, so a batch that comes again as it was
    (JetStream's redelivery after a crash) is deduplicated. The feed is at least once all
    the same: a message that comes again in other company is grouped differently, so a
    consumer skips positions it has already seen.
    """
    by_subject: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_subject.setdefault(subjects.ledger_feed(entry.topic), []).append(entry)
    out = []
    for subject, theirs in by_subject.items():
        lines = [(e, _feed_line(e)) for e in theirs]
        for mine in chunks(lines, lambda line: len(line[1]) + 1, FEED_MESSAGE_BYTES):
            first = mine[0][0].position
            if len(mine) == 1:
                msg_id = f"ledger:{first}"
            else:
                msg_id = batch_id(f"ledger:{first}", [str(e.position) for e, _ in mine])
            out.append(
                Publication(subject, b"\n".join(b for _, b in mine), msg_id, items=len(mine))
            )
    return out


def _feed_line(entry: LedgerEntry) -> bytes:
    """One event as a line of JSON. Written by hand, not by `json.dumps` of a dict (a tenth
    of the cost, three times per document); the state is already JSON (the ledger's
    transcoder wrote it) and is spliced in as it is rather than parsed and written again."""
    return (
        b'{"position": %d, "originator_id": %s, "originator_version": %d, "topic": %s, "state": %s}'
        % (
            entry.position,
            _json_text(entry.originator_id),
            entry.originator_version,
            _json_text(entry.topic),
            entry.state,
        )
    )


@functools.lru_cache(maxsize=4096)
def _json_text(text: str) -> bytes:
    """A string as JSON, kept: topics repeat, and an aggregate's id comes once per event."""
    return json.dumps(text, ensure_ascii=False).encode()
