"""The Ledger application: records what the hub decided, in batches, exactly once.

Group commit: `record` applies many commands and saves every touched aggregate in one
transaction. Exactly-once effect: aggregate ids derive from document and message ids, and
each aggregate remembers which message caused which event, so a redelivered message is
recognised (`Recorded(duplicate=True)`, same position) instead of recorded twice; if another
writer got there first the optimistic-concurrency conflict sends us down the one-by-one path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Recording

from ledger.commands import (
    Command,
    LedgerEntry,
    Outcome,
    RecordDelivery,
    RecordDocument,
    Recorded,
    RecordRefusal,
    RecordStatus,
    Refused,
)
from ledger.document import Document, document_aggregate_id
from ledger.errors import RuleViolation, UnknownDocument
from ledger.positions import positions_of
from ledger.refusal import RefusedMessage, refusal_aggregate_id
from ledger.storage import Storage


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
    """A command applied to an aggregate whose events are not saved yet."""

    message_id: str
    aggregate_id: UUID
    versions: tuple[int, ...]
    route_to: tuple[str, ...]


class Ledger(Application[UUID]):
    """The system of record."""

    name = "truc"

    def __init__(self, storage: Storage) -> None:
        super().__init__(env=storage.env())
        self.storage = storage

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
        touched: dict[UUID, Document | RefusedMessage] = {}
        # For each command: its outcome, or the (aggregate id, version) whose position to fill.
        pending: list[Outcome | _Pending] = []
        for command in commands:
            pending.append(self._apply(command, touched))
        recordings: list[Recording[UUID]] = self.save(*touched.values()) if touched else []
        by_key = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification
            for r in recordings
        }
        outcomes: list[Outcome] = []
        for item in pending:
            if isinstance(item, (Recorded, Refused)):
                outcomes.append(item)
                continue
            notifications = [by_key[(item.aggregate_id, v)] for v in item.versions]
            entries = tuple(
                LedgerEntry(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                for n in notifications
            )
            outcomes.append(
                Recorded(item.message_id, notifications[0].id, False, item.route_to, entries)
            )
        return outcomes

    def _apply(
        self, command: Command, touched: dict[UUID, Document | RefusedMessage]
    ) -> Outcome | _Pending:
        if isinstance(command, RecordRefusal):
            return self._apply_refusal(command, touched)
        if isinstance(command, RecordDocument):
            return self._apply_document(command, touched)
        aggregate_id = document_aggregate_id(command.document_id)
        document = self._load_document(aggregate_id, touched)
        if document is None:
            return Refused(
                command.message_id,
                "unknown_document",
                f"document_id: no document {command.document_id} was ever recorded",
            )
        if document.has_seen(command.message_id):
            return self._duplicate(command, document, aggregate_id)
        try:
            if isinstance(command, RecordStatus):
                document.report_status(
                    reporter=command.reporter,
                    status_code=command.status_code,
                    description=command.description,
                    message_id=command.message_id,
                    received_at=command.received_at,
                    header_b64=command.header_b64,
                    signature_b64=command.signature_b64,
                )
            else:
                document.deliver(
                    recipient=command.recipient,
                    message_id=command.message_id,
                    delivered_message_id=command.delivered_message_id,
                    received_at=command.received_at,
                    header_b64=command.header_b64,
                    signature_b64=command.signature_b64,
                )
        except RuleViolation as violation:
            return Refused(command.message_id, violation.code, violation.reason)
        touched[aggregate_id] = document
        return _Pending(
            command.message_id, aggregate_id, (document.version,), _route_to(document, command)
        )

    def _apply_document(
        self, command: RecordDocument, touched: dict[UUID, Document | RefusedMessage]
    ) -> Outcome | _Pending:
        aggregate_id = document_aggregate_id(command.document_id)
        existing = self._load_document(aggregate_id, touched)
        if existing is not None:
            if existing.has_seen(command.message_id):
                return self._duplicate(command, existing, aggregate_id)
            return Refused(
                command.message_id,
                "duplicate_document_id",
                f"document_id: {command.document_id} was already used by message "
                f"{existing.sent_message_id}",
            )
        document = Document(
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
        touched[aggregate_id] = document
        return _Pending(
            command.message_id,
            aggregate_id,
            tuple(range(1, document.version + 1)),
            tuple(command.recipients),
        )

    def _apply_refusal(
        self, command: RecordRefusal, touched: dict[UUID, Document | RefusedMessage]
    ) -> Outcome | _Pending:
        aggregate_id = refusal_aggregate_id(command.message_id)
        if aggregate_id in touched or self._exists(aggregate_id):
            position = positions_of(self.recorder, aggregate_id).get(1, 0)
            return Recorded(command.message_id, position, True)
        touched[aggregate_id] = RefusedMessage(
            message_id=command.message_id,
            claimed_sender=command.claimed_sender,
            authenticated=command.authenticated,
            reason_code=command.reason_code,
            reason=command.reason,
            received_at=command.received_at,
            header_b64=command.header_b64,
            signature_b64=command.signature_b64,
        )
        return _Pending(command.message_id, aggregate_id, (1,), ())

    def _duplicate(self, command: Command, document: Document, aggregate_id: UUID) -> Recorded:
        """Answer a message seen before with its first recording, so it is routed again
        (routing is idempotent downstream) but never recorded twice."""
        version = document.message_versions[command.message_id]
        position = positions_of(self.recorder, aggregate_id).get(version, 0)
        if isinstance(command, RecordDocument):
            route_to = tuple(document.recipients)
        else:
            route_to = _route_to(document, command)
        return Recorded(command.message_id, position, True, route_to)

    def _load_document(
        self, aggregate_id: UUID, touched: dict[UUID, Document | RefusedMessage]
    ) -> Document | None:
        cached = touched.get(aggregate_id)
        if isinstance(cached, Document):
            return cached
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, Document) else None

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    # -- reading ----------------------------------------------------------------------------

    def document(self, document_id: str) -> Document:
        try:
            aggregate: object = self.repository.get(document_aggregate_id(document_id))
        except AggregateNotFoundError:
            raise UnknownDocument(f"no document {document_id} in the ledger") from None
        assert isinstance(aggregate, Document)
        return aggregate

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
                fields=_public_fields(e),
            )
            for e in events
        ]

    def size(self) -> int:
        """Highest ledger position recorded so far (0 when empty)."""
        return int(self.recorder.max_notification_id() or 0)


def _route_to(document: Document, command: Command) -> tuple[str, ...]:
    if isinstance(command, RecordStatus):
        if command.status_code == "13":
            return tuple(document.recipients)
        return (document.sender,)
    if isinstance(command, RecordDelivery):
        return (document.sender,)
    return ()


def _public_fields(event: Any) -> dict[str, Any]:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}
