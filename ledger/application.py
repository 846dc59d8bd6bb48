"""The Ledger application: records what the hub decided, in batches, exactly once.

Group commit: `record` applies many commands and saves all their events in one transaction,
in the order the messages came (so the ledger order is the order the hub took them), and
one fsync (SQLite) or one commit (PostgreSQL) covers a whole batch; the hub acknowledges
the batch's messages only after `record` returned.

Exactly-once effect: aggregate ids derive from business keys (document id, dossier code,
member code, request message id), and each aggregate remembers which message caused which
event, so a message seen before is answered `Recorded(duplicate=True)` with the position and
entries of its first recording instead of being recorded twice. That holds for a message
repeated within one batch, redelivered in a later batch, resent after a restart, and sent to
two hub processes at once (the optimistic-concurrency conflict sends the loser down the
one-by-one path, where it finds the winner's events). A message refused once is refused again
with the same reason, and a message recorded once is never recorded as refused later.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification, Recording, Transcoder
from eventsourcing.utils import Environment, EnvType

from ledger.base import MessageAggregate, NotRecorded
from ledger.calendar import WorkingCalendar, vietnam_calendar
from ledger.commands import (
    DOSSIER_COMMANDS,
    AddMemberKey,
    Command,
    DossierCommand,
    GrantRoute,
    LedgerEntry,
    MemberCommand,
    Outcome,
    RecordDelivery,
    RecordDocument,
    RecordDossierApology,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    Recorded,
    RecordLookup,
    RecordLookupAnswer,
    RecordPostalOrder,
    RecordPostalTracking,
    RecordRefusal,
    RecordStatus,
    Refused,
    RegisterMember,
    RetireMemberKey,
    RevokeMemberKey,
    WithdrawRoute,
)
from ledger.document import BUSINESS_TYPES, NEW, Document, document_aggregate_id
from ledger.dossier import Dossier, dossier_aggregate_id
from ledger.errors import RuleViolation, UnknownDocument
from ledger.lookup import Lookup, check_subject_digest, lookup_aggregate_id
from ledger.member import Member, MemberSpec, member_aggregate_id, plan_sync
from ledger.positions import existing, positions_of, stored_of
from ledger.refusal import RefusedMessage, refusal_aggregate_id
from ledger.storage import Storage
from ledger.transcoding import OrjsonTranscoder

A = TypeVar("A", bound=MessageAggregate)
# Aggregates the writer keeps as it saved them (a few kB each): the documents of the last
# few minutes at the national rate, which is when their deliveries and statuses come.
SAVED_AGGREGATES = 20_000


@dataclass(frozen=True)
class TraceEntry:
    """One event of one document, for `truc trace`."""

    position: int
    version: int
    event: str
    timestamp: datetime
    fields: dict[str, Any]


@dataclass(frozen=True)
class _Pending:
    """A command applied to aggregates whose events are not saved yet."""

    message_id: str
    # (aggregate id, version) of every event the message caused.
    keys: tuple[tuple[UUID, int], ...]
    route_to: tuple[str, ...]
    duplicate: bool = False


class _SavedAggregates:
    """Aggregates as this ledger last saved them, most recently used kept, so a document's
    delivery or status does not reload it event by event (that reload was a tenth of the
    hub's time).

    Trusted only while this ledger is the only writer: `top` is the last position it
    wrote, and a batch that finds the log elsewhere (another hub process, a CLI command)
    or its own events not right after `top` starts from empty. A batch that fails
    forgets everything, since its aggregates may hold changes that were never saved.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[UUID, MessageAggregate] = OrderedDict()
        self.top: int | None = None

    def get(self, aggregate_id: UUID) -> MessageAggregate | None:
        found = self._items.get(aggregate_id)
        if found is not None:
            self._items.move_to_end(aggregate_id)
        return found

    def __contains__(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._items

    def begin(self, top: int) -> None:
        if top != self.top:
            self.forget()
        self.top = top

    def forget(self) -> None:
        self._items.clear()
        self.top = None

    def saved(self, touched: dict[UUID, MessageAggregate], positions: Sequence[int]) -> None:
        """A batch's `touched` aggregates were saved at `positions` (ascending)."""
        if self.top is None or (positions and positions[0] != self.top + 1):
            self.forget()  # someone else wrote in between: nothing here is sure
            return
        for aggregate_id, aggregate in touched.items():
            if aggregate.pending_events:  # changed by a command that was then refused
                self._items.pop(aggregate_id, None)
                continue
            self._items[aggregate_id] = aggregate
            self._items.move_to_end(aggregate_id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        if positions:
            self.top = positions[-1]


@dataclass
class _Batch:
    """What one transaction is building: the aggregates it touched, and the answer already
    given to each message id (so a message twice in one batch is recorded once)."""

    touched: dict[UUID, MessageAggregate] = field(default_factory=dict)
    answered: dict[str, Outcome | _Pending] = field(default_factory=dict)
    # New events in the order the messages came: the ledger order follows the batch.
    events: list[Any] = field(default_factory=list)
    # Aggregates known (from one query up front) to have no events yet.
    absent: set[UUID] = field(default_factory=set)
    # The writer's saved aggregates (readers go to the event store).
    saved: _SavedAggregates | None = None

    def take(self, pending: _Pending) -> None:
        for aggregate_id in dict.fromkeys(key[0] for key in pending.keys):
            self.events += self.touched[aggregate_id].collect_events()

    def load(self, ledger: Ledger, aggregate_id: UUID, kind: type[A]) -> A | None:
        cached = self.touched.get(aggregate_id)
        if cached is not None:
            return cached if isinstance(cached, kind) else None
        if aggregate_id in self.absent:
            return None
        if self.saved is not None:
            kept = self.saved.get(aggregate_id)
            if kept is not None:
                self.touched[aggregate_id] = kept  # changed in place: forgotten on failure
                return kept if isinstance(kept, kind) else None
        try:
            aggregate: object = ledger.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None


class Ledger(Application[UUID]):
    """The system of record."""

    name = "truc"

    def __init__(
        self,
        storage: Storage,
        calendar: WorkingCalendar | None = None,
        *,
        saved_aggregates: int = SAVED_AGGREGATES,
    ) -> None:
        super().__init__(env=storage.env())
        self.storage = storage
        self._saved = _SavedAggregates(saved_aggregates)
        # Working days for dossiers' due dates; the shipped Vietnamese calendar by default.
        self._calendar = calendar

    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = vietnam_calendar()
        return self._calendar

    def construct_transcoder(self) -> Transcoder:
        """The same JSON as eventsourcing's, written and read by orjson (ledger.transcoding)."""
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the storage configuration decides where events go: unlike eventsourcing's
        default, stray PERSISTENCE_MODULE / POSTGRES_* / TRUC_* variables in the process
        environment are not read."""
        merged = dict(type(self).env)
        merged.update(env or {})
        return Environment(name, merged)

    # -- writing ----------------------------------------------------------------------------

    def record(self, commands: Sequence[Command]) -> list[Outcome]:
        """Record a batch in one transaction; fall back to one by one on a conflict."""
        if not commands:
            return []
        try:
            return self._record_batch(commands)
        except IntegrityError:
            return [self._record_alone(command) for command in commands]

    def _record_alone(self, command: Command, attempts: int = 3) -> Outcome:
        for attempt in range(attempts):
            try:
                return self._record_batch([command])[0]
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _record_batch(self, commands: Sequence[Command]) -> list[Outcome]:
        self._saved.begin(self.size())
        try:
            return self._record_saving(commands)
        except BaseException:
            self._saved.forget()
            raise

    def _record_saving(self, commands: Sequence[Command]) -> list[Outcome]:
        batch = _Batch(saved=self._saved)
        # Which aggregates have no events yet, in one query; those kept as saved exist.
        saved = self._saved
        candidates = [i for command in commands for i in _aggregate_ids(command) if i not in saved]
        batch.absent = set(candidates) - existing(self.recorder, candidates)
        results: list[Outcome | _Pending] = []
        for command in commands:
            earlier = batch.answered.get(command.message_id)
            if isinstance(earlier, _Pending):
                result: Outcome | _Pending = replace(earlier, duplicate=True)
            elif earlier is not None:
                result = earlier
            else:
                result = self._apply(command, batch)
                batch.answered[command.message_id] = result
                if isinstance(result, _Pending):
                    batch.take(result)
            results.append(result)
        # Straight to the event store: `save()` checks each object against a runtime
        # Protocol (an eighth of recording), to collect events this batch already holds in
        # ledger order; its other steps (snapshots, notify hooks) are not used here.
        recordings: list[Recording[UUID]] = self.events.put(batch.events) if batch.events else []
        self._saved.saved(batch.touched, [r.notification.id for r in recordings])
        by_key = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification
            for r in recordings
        }
        outcomes: list[Outcome] = []
        for item in results:
            if not isinstance(item, _Pending):
                outcomes.append(item)
                continue
            notifications = sorted((by_key[key] for key in item.keys), key=lambda n: n.id)
            outcomes.append(
                Recorded(
                    item.message_id,
                    notifications[0].id,
                    item.duplicate,
                    item.route_to,
                    tuple(_entry(n) for n in notifications),
                )
            )
        return outcomes

    def _apply(self, command: Command, batch: _Batch) -> Outcome | _Pending:
        if isinstance(command, RecordRefusal):
            return self._apply_refusal(command, batch)
        if isinstance(command, RecordDocument):
            return self._apply_document(command, batch)
        if isinstance(command, RecordStatus):
            return self._apply_status(command, batch)
        if isinstance(command, RecordDelivery):
            return self._apply_delivery(command, batch)
        if isinstance(command, DOSSIER_COMMANDS):
            return self._apply_dossier(command, batch)
        if isinstance(command, (RecordLookup, RecordLookupAnswer)):
            return self._apply_lookup(command, batch)
        return self._apply_member(command, batch)

    # -- documents --------------------------------------------------------------------------

    def _apply_document(self, command: RecordDocument, batch: _Batch) -> Outcome | _Pending:
        aggregate_id = document_aggregate_id(command.document_id)
        refers = command.business_type != NEW
        referred_id = document_aggregate_id(command.refers_to) if refers else None
        existing = batch.load(self, aggregate_id, Document)
        if existing is not None:
            if existing.has_seen(command.message_id):
                ids = (aggregate_id,) if referred_id is None else (aggregate_id, referred_id)
                return self._duplicate(command, ids, tuple(existing.recipients))
            return Refused(
                command.message_id,
                "duplicate_document_id",
                f"document_id: {command.document_id} was already used by message "
                f"{existing.sent_message_id}",
            )
        refused = self._refused_before(command.message_id, batch)
        if refused is not None:
            return refused
        if command.business_type not in BUSINESS_TYPES:
            return Refused(
                command.message_id,
                "invalid_business_type",
                f"business_type: {command.business_type} is not 0 new, 1 revoke, 2 update"
                " or 3 replace",
            )
        earlier: Document | None = None
        earlier_version = 0
        if referred_id is not None:
            if not command.refers_to or command.refers_to == command.document_id:
                return Refused(
                    command.message_id,
                    "invalid_reference",
                    "refers_to: revoke, update and replace must name another, earlier document",
                )
            earlier = batch.load(self, referred_id, Document)
            if earlier is None:
                return Refused(
                    command.message_id,
                    "unknown_document",
                    f"refers_to: no document {command.refers_to} was ever recorded",
                )
            earlier_version = earlier.version
            try:
                earlier.referred_by(
                    business_type=command.business_type,
                    by_document_id=command.document_id,
                    by_member=command.sender,
                    message_id=command.message_id,
                    received_at=command.received_at,
                )
            except RuleViolation as violation:
                return Refused(command.message_id, violation.code, violation.reason)
        document = Document.sent(
            aggregate_id,
            document_id=command.document_id,
            message_id=command.message_id,
            sender=command.sender,
            recipients=list(command.recipients),
            key_id=command.key_id,
            signed_at=command.signed_at,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
            payload_sha256=command.payload_sha256,
            subject=command.subject,
            business_type=command.business_type,
            refers_to=command.refers_to,
            due_date=command.due_date,
        )
        for recipient in command.recipients:
            document.route(recipient, command.message_id, command.received_at)
        batch.touched[aggregate_id] = document
        keys = _versions(aggregate_id, 0, document.version)
        if earlier is not None and referred_id is not None:
            batch.touched.setdefault(referred_id, earlier)
            keys += _versions(referred_id, earlier_version, earlier.version)
        return _Pending(command.message_id, keys, tuple(command.recipients))

    def _apply_status(self, command: RecordStatus, batch: _Batch) -> Outcome | _Pending:
        aggregate_id = document_aggregate_id(command.document_id)
        document = batch.load(self, aggregate_id, Document)
        if document is None:
            return Refused(
                command.message_id,
                "unknown_document",
                f"document_id: no document {command.document_id} was ever recorded",
            )
        if document.has_seen(command.message_id):
            return self._duplicate(command, (aggregate_id,), _status_route(document, command))
        refused = self._refused_before(command.message_id, batch)
        if refused is not None:
            return refused
        before = document.version
        try:
            document.report_status(
                reporter=command.reporter,
                status_code=command.status_code,
                description=command.description,
                message_id=command.message_id,
                received_at=command.received_at,
                header_b64=command.header_b64,
                signature_b64=command.signature_b64,
            )
        except RuleViolation as violation:
            return Refused(command.message_id, violation.code, violation.reason)
        batch.touched[aggregate_id] = document
        return _Pending(
            command.message_id,
            _versions(aggregate_id, before, document.version),
            _status_route(document, command),
        )

    def _apply_delivery(self, command: RecordDelivery, batch: _Batch) -> Outcome | _Pending:
        """Every item's document checked first, then one Delivered event on each: a proof
        is recorded whole or refused whole (naming the item), never in part."""
        if not command.items:
            return Refused(command.message_id, "invalid_payload", "items: none listed")
        ids = [document_aggregate_id(item.document_id) for item in command.items]
        if len(set(ids)) != len(ids):
            return Refused(
                command.message_id, "invalid_payload", "items: a document is listed twice"
            )
        documents: list[Document] = []
        for i, (item, aggregate_id) in enumerate(zip(command.items, ids, strict=True)):
            document = batch.load(self, aggregate_id, Document)
            if document is None:
                return Refused(
                    command.message_id,
                    "unknown_document",
                    f"{_field(command, i, 'document_id')}: no document {item.document_id}"
                    " was ever recorded",
                )
            if document.has_seen(command.message_id):
                senders = tuple(d.sender for d in self._documents(batch, ids))
                return self._duplicate(command, ids, senders)
            try:
                document.check_delivery(command.recipient, item.delivered_message_id)
            except RuleViolation as violation:
                where = f"items[{i}]: " if len(command.items) > 1 else ""
                return Refused(command.message_id, violation.code, where + violation.reason)
            documents.append(document)
        refused = self._refused_before(command.message_id, batch)
        if refused is not None:
            return refused
        keys: list[tuple[UUID, int]] = []
        for item, aggregate_id, document in zip(command.items, ids, documents, strict=True):
            before = document.version
            document.deliver(
                recipient=command.recipient,
                message_id=command.message_id,
                delivered_message_id=item.delivered_message_id,
                received_at=command.received_at,
                header_b64=command.header_b64,
                signature_b64=command.signature_b64,
            )
            batch.touched[aggregate_id] = document
            keys += _versions(aggregate_id, before, document.version)
        return _Pending(command.message_id, tuple(keys), tuple(d.sender for d in documents))

    def _documents(self, batch: _Batch, ids: Sequence[UUID]) -> list[Document]:
        found = [batch.load(self, aggregate_id, Document) for aggregate_id in ids]
        return [d for d in found if d is not None]

    # -- refusals ---------------------------------------------------------------------------

    def _apply_refusal(self, command: RecordRefusal, batch: _Batch) -> Outcome | _Pending:
        aggregate_id = refusal_aggregate_id(command.message_id)
        if batch.load(self, aggregate_id, RefusedMessage) is not None:
            return self._duplicate(command, (aggregate_id,), ())
        if command.document_id:
            # A message the ledger already took (then redelivered, and judged otherwise,
            # e.g. after a key was revoked) keeps its first effect: never a second one.
            document_id = document_aggregate_id(command.document_id)
            document = batch.load(self, document_id, Document)
            if document is not None and document.has_seen(command.message_id):
                return self._duplicate(command, (document_id,), ())
        batch.touched[aggregate_id] = RefusedMessage(
            message_id=command.message_id,
            document_id=command.document_id,
            claimed_sender=command.claimed_sender,
            authenticated=command.authenticated,
            reason_code=command.reason_code,
            reason=command.reason,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
        )
        return _Pending(command.message_id, ((aggregate_id, 1),), ())

    def _refused_before(self, message_id: str, batch: _Batch) -> Refused | None:
        """The same refusal again, when this message was refused before."""
        refusal = batch.load(self, refusal_aggregate_id(message_id), RefusedMessage)
        if refusal is None:
            return None
        return Refused(message_id, refusal.reason_code, refusal.reason)

    # -- dossiers, members, look-ups ---------------------------------------------------------

    def _apply_dossier(self, command: DossierCommand, batch: _Batch) -> Outcome | _Pending:
        aggregate_id = dossier_aggregate_id(command.code)
        dossier = batch.load(self, aggregate_id, Dossier)
        if dossier is not None and dossier.has_seen(command.message_id):
            return self._duplicate(command, (aggregate_id,), _dossier_route(dossier, command))
        refused = self._refused_before(command.message_id, batch)
        if refused is not None:
            return refused
        try:
            if isinstance(command, RecordDossierReceived):
                if dossier is not None:
                    raise RuleViolation(
                        "duplicate_dossier_code", f"code: dossier {command.code} already exists"
                    )
                dossier = Dossier.receive(
                    self.calendar,
                    code=command.code,
                    procedure_code=command.procedure_code,
                    receiver=command.receiver,
                    channel=command.channel,
                    message_id=command.message_id,
                    received_at=command.received_at,
                    owner=command.owner,
                    summary=command.summary,
                    working_days=command.working_days,
                    at=command.at,
                    status=command.status,
                    documents=command.documents,
                    fees=command.fees,
                    due=command.due_date,
                    header_b64=command.header_b64,
                    signature_b64=command.signature_b64,
                )
                before = 0
            else:
                if dossier is None:
                    raise RuleViolation(
                        "unknown_dossier", f"code: no dossier {command.code} was ever recorded"
                    )
                before = dossier.version
                _change_dossier(dossier, command, self.calendar)
        except RuleViolation as violation:
            return Refused(command.message_id, violation.code, violation.reason)
        batch.touched[aggregate_id] = dossier
        return _Pending(
            command.message_id,
            _versions(aggregate_id, before, dossier.version),
            _dossier_route(dossier, command),
        )

    def _apply_member(
        self,
        command: MemberCommand,
        batch: _Batch,
    ) -> Outcome | _Pending:
        aggregate_id = member_aggregate_id(command.code)
        member = batch.load(self, aggregate_id, Member)
        if member is not None and member.has_seen(command.message_id):
            return self._duplicate(command, (aggregate_id,), ())
        try:
            if isinstance(command, RegisterMember):
                if member is not None:
                    raise RuleViolation(
                        "duplicate_member", f"code: {command.code} is already registered"
                    )
                member = Member(
                    code=command.code,
                    name=command.name,
                    kind=command.kind,
                    message_id=command.message_id,
                    received_at=command.received_at,
                )
                before = 0
            else:
                if member is None:
                    raise RuleViolation(
                        "unknown_member", f"code: {command.code} was never registered"
                    )
                before = member.version
                _change_member(member, command)
        except RuleViolation as violation:
            return Refused(command.message_id, violation.code, violation.reason)
        batch.touched[aggregate_id] = member
        return _Pending(command.message_id, _versions(aggregate_id, before, member.version), ())

    def _apply_lookup(
        self, command: RecordLookup | RecordLookupAnswer, batch: _Batch
    ) -> Outcome | _Pending:
        request_id = (
            command.message_id if isinstance(command, RecordLookup) else command.request_message_id
        )
        aggregate_id = lookup_aggregate_id(request_id)
        lookup = batch.load(self, aggregate_id, Lookup)
        if lookup is not None and lookup.has_seen(command.message_id):
            if isinstance(command, RecordLookup):
                # Never routed when refused, even if the policy changed since.
                again = (lookup.responder,) if lookup.responder and not lookup.refused_code else ()
            else:
                again = (lookup.requester,)
            return self._duplicate(command, (aggregate_id,), again)
        try:
            if isinstance(command, RecordLookup):
                check_subject_digest(command.subject_digest)
                if not command.purpose.strip():
                    raise RuleViolation("missing_field", "purpose: every look-up must say why")
                if not command.legal_basis.strip():
                    raise RuleViolation(
                        "missing_field", "legal_basis: every look-up must name the law allowing it"
                    )
                lookup = Lookup(
                    message_id=command.message_id,
                    requester=command.requester,
                    officer=command.officer,
                    purpose=command.purpose,
                    subject_digest=command.subject_digest,
                    received_at=command.received_at,
                    legal_basis=command.legal_basis,
                    responder=command.responder,
                    attributes=tuple(command.attributes),
                    header_b64=command.header_b64,
                    signature_b64=command.signature_b64,
                )
                before = 0
                route_to: tuple[str, ...] = (command.responder,) if command.responder else ()
                if command.refused_code:
                    lookup.refuse(
                        code=command.refused_code,
                        reason=command.refused_reason,
                        message_id=command.message_id,
                        received_at=command.received_at,
                    )
                    route_to = ()
            else:
                if lookup is None:
                    raise RuleViolation(
                        "unknown_lookup",
                        f"request_message_id: no look-up {command.request_message_id}",
                    )
                before = lookup.version
                lookup.answer(
                    answered_by=command.answered_by,
                    matched=command.matched,
                    message_id=command.message_id,
                    received_at=command.received_at,
                    subject_digest=command.subject_digest,
                    disclosed=tuple(command.disclosed),
                    sealed_attributes=command.sealed_attributes,
                    header_b64=command.header_b64,
                    signature_b64=command.signature_b64,
                )
                route_to = (lookup.requester,)
        except RuleViolation as violation:
            return Refused(command.message_id, violation.code, violation.reason)
        batch.touched[aggregate_id] = lookup
        return _Pending(
            command.message_id, _versions(aggregate_id, before, lookup.version), route_to
        )

    # -- duplicates ---------------------------------------------------------------------------

    def _duplicate(
        self, command: Command, aggregate_ids: Sequence[UUID], route_to: tuple[str, ...]
    ) -> Recorded:
        """Answer a message seen before with its first recording (position and entries), so
        it is routed and fed again under the same ids (JetStream drops those within its
        duplicate window, adapters beyond it) but never recorded twice."""
        found = [
            n
            for aggregate_id in aggregate_ids
            for n in stored_of(self.recorder, aggregate_id)
            if getattr(self.mapper.to_domain_event(n), "message_id", None) == command.message_id
        ]
        found.sort(key=lambda n: n.id)
        position = found[0].id if found else 0
        return Recorded(command.message_id, position, True, route_to, tuple(map(_entry, found)))

    # -- registry -------------------------------------------------------------------------------

    def sync_members(
        self, specs: Sequence[MemberSpec], *, change_id: str, received_at: str
    ) -> list[Outcome]:
        """Bring the Member aggregates in line with the configured registry (see
        `ledger.member.plan_sync`); idempotent for one `change_id`."""
        commands: list[Command] = []
        for spec in specs:
            current = _Batch().load(self, member_aggregate_id(spec.code), Member)
            commands += plan_sync(current, spec, change_id=change_id, received_at=received_at)
        return self.record(commands)

    # -- reading ----------------------------------------------------------------------------

    def document(self, document_id: str) -> Document:
        found = _Batch().load(self, document_aggregate_id(document_id), Document)
        if found is None:
            raise UnknownDocument(f"no document {document_id} in the ledger")
        return found

    def dossier(self, code: str) -> Dossier:
        return self._get(dossier_aggregate_id(code), Dossier, f"no dossier {code} in the ledger")

    def member(self, code: str) -> Member:
        return self._get(member_aggregate_id(code), Member, f"no member {code} in the ledger")

    def lookup(self, request_message_id: str) -> Lookup:
        return self._get(
            lookup_aggregate_id(request_message_id),
            Lookup,
            f"no look-up {request_message_id} in the ledger",
        )

    def _get(self, aggregate_id: UUID, kind: type[A], missing: str) -> A:
        found = _Batch().load(self, aggregate_id, kind)
        if found is None:
            raise NotRecorded(missing)
        return found

    def history(self, aggregate_id: UUID) -> list[tuple[int, Any]]:
        """(position, domain event) for every event of one aggregate, upcast to today's
        classes, in version order."""
        return [
            (n.id, self.mapper.to_domain_event(n)) for n in stored_of(self.recorder, aggregate_id)
        ]

    def trace(self, document_id: str) -> list[TraceEntry]:
        """Every recorded event of one document, in order, with its ledger position."""
        aggregate_id = document_aggregate_id(document_id)
        events: list[Any] = list(self.events.get(aggregate_id))
        if not events:
            raise UnknownDocument(f"no document {document_id} in the ledger")
        positions = positions_of(self.recorder, aggregate_id)
        return [
            TraceEntry(
                position=positions.get(e.originator_version, 0),
                version=e.originator_version,
                event=type(e).__qualname__,
                timestamp=e.timestamp,
                fields=public_fields(e),
            )
            for e in events
        ]

    def size(self) -> int:
        """Highest ledger position recorded so far (0 when empty)."""
        return int(self.recorder.max_notification_id() or 0)


def _aggregate_ids(command: Command) -> list[UUID]:
    """Every aggregate `command` may read: the one it is about, the document it refers to,
    and the refusal that may already exist for its message."""
    ids = [refusal_aggregate_id(command.message_id)]
    if isinstance(command, RecordDocument):
        ids.append(document_aggregate_id(command.document_id))
        if command.refers_to:
            ids.append(document_aggregate_id(command.refers_to))
    elif isinstance(command, RecordStatus):
        ids.append(document_aggregate_id(command.document_id))
    elif isinstance(command, RecordDelivery):
        ids += [document_aggregate_id(item.document_id) for item in command.items]
    elif isinstance(command, RecordRefusal):
        if command.document_id:
            ids.append(document_aggregate_id(command.document_id))
    elif isinstance(command, DOSSIER_COMMANDS):
        ids.append(dossier_aggregate_id(command.code))
    elif isinstance(command, RecordLookup):
        ids.append(lookup_aggregate_id(command.message_id))
    elif isinstance(command, RecordLookupAnswer):
        ids.append(lookup_aggregate_id(command.request_message_id))
    else:
        ids.append(member_aggregate_id(command.code))
    return ids


def _versions(aggregate_id: UUID, before: int, after: int) -> tuple[tuple[UUID, int], ...]:
    return tuple((aggregate_id, v) for v in range(before + 1, after + 1))


def _entry(n: Notification) -> LedgerEntry:
    return LedgerEntry(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)


_MEMBER_CHANGES: dict[type[Any], Callable[[Member, Any], None]] = {
    AddMemberKey: lambda m, c: m.add_key(
        key_id=c.key_id,
        public_key_b64=c.public_key_b64,
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        message_id=c.message_id,
        received_at=c.received_at,
    ),
    RevokeMemberKey: lambda m, c: m.revoke_key(
        key_id=c.key_id,
        revoked_from=c.revoked_from,
        reason=c.reason,
        message_id=c.message_id,
        received_at=c.received_at,
    ),
    RetireMemberKey: lambda m, c: m.retire_key(
        key_id=c.key_id,
        valid_until=c.valid_until,
        message_id=c.message_id,
        received_at=c.received_at,
    ),
    GrantRoute: lambda m, c: m.grant_route(
        recipients=c.recipients, kinds=c.kinds, message_id=c.message_id, received_at=c.received_at
    ),
    WithdrawRoute: lambda m, c: m.withdraw_route(
        recipients=c.recipients, kinds=c.kinds, message_id=c.message_id, received_at=c.received_at
    ),
}


def _change_member(member: Member, command: Command) -> None:
    _MEMBER_CHANGES[type(command)](member, command)


def _dossier_actor(command: DossierCommand) -> str:
    """The member whose signed message the command comes from."""
    if isinstance(command, RecordDossierReceived):
        return command.receiver
    if isinstance(command, RecordDossierTransfer):
        return command.from_agency
    if isinstance(command, RecordPostalOrder):
        return command.ordered_by
    return command.by


def _dossier_route(dossier: Dossier, command: DossierCommand) -> tuple[str, ...]:
    """The agencies of the dossier, and the operator of a postal order."""
    route = dossier.route_to(_dossier_actor(command))
    if isinstance(command, RecordPostalOrder) and command.operator not in route:
        route += (command.operator,)
    return route


def _change_dossier(dossier: Dossier, command: Command, calendar: WorkingCalendar) -> None:
    if isinstance(command, RecordDossierTransfer):
        dossier.transfer(
            from_agency=command.from_agency,
            to_agency=command.to_agency,
            reason=command.reason,
            message_id=command.message_id,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
            at=command.at,
        )
    elif isinstance(command, RecordDossierStatus):
        dossier.change_status(
            status=command.status,
            by=command.by,
            note=command.note,
            message_id=command.message_id,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
            at=command.at,
            calendar=calendar,
            documents=command.documents,
            amount=command.amount,
        )
    elif isinstance(command, RecordDossierApology):
        dossier.apologize(
            by=command.by,
            new_appointment=command.new_appointment,
            reason=command.reason,
            message_id=command.message_id,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
            at=command.at,
        )
    elif isinstance(command, RecordPostalOrder):
        dossier.order_postal(
            order_id=command.order_id,
            order_kind=command.order_kind,
            ordered_by=command.ordered_by,
            operator=command.operator,
            message_id=command.message_id,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
        )
    elif isinstance(command, RecordPostalTracking):
        dossier.track_postal(
            order_id=command.order_id,
            state=command.state,
            note=command.note,
            by=command.by,
            at=command.at,
            message_id=command.message_id,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
        )
    else:
        raise TypeError(f"not a dossier command: {type(command).__name__}")


def _status_route(document: Document, command: RecordStatus) -> tuple[str, ...]:
    if command.status_code == "13":
        return tuple(document.recipients)
    return (document.sender,)


def _field(command: RecordDelivery, i: int, name: str) -> str:
    """How a refusal names a field of the item at fault (`items[2].document_id` in the list
    form, `document_id` alone in the single form)."""
    return f"items[{i}].{name}" if len(command.items) > 1 else name


def public_fields(event: Any) -> dict[str, Any]:
    """An event's own fields, without eventsourcing's bookkeeping."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
