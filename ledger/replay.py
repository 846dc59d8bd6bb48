"""Replay: the state of any document, dossier or member (or of the whole ledger) as it was at
an instant, rebuilt from the recorded events alone.

Which clock "at T" reads: the hub's receive time, `received_at`, which every event carries.
It is the instant the hub vouches for (the signed receipt tells the sender the same time),
it is inside the event's bytes and so covered by the Merkle log, and it is the same for all
the events one message caused. eventsourcing's own `timestamp` is only when the Python event
object was made: it moves if a conflicting batch is applied again, and says nothing an
auditor can check against a receipt.

An event counts at T when it, and every earlier event of the same aggregate, was received at
or before T. With one hub process receive times rise with the ledger order; with several
(scale-out), two messages for one document can be received in one order and recorded in the
other, and the aggregate's own order wins: a replay never shows version n+1 without n.

Instants: ISO 8601 (`2026-06-09T14:30:00+07:00`, `...Z`); a time without an offset is
Vietnamese time (Asia/Ho_Chi_Minh); a date alone is the start of that day. Receive times are
kept to the millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from uuid import UUID

from ledger.application import Ledger
from ledger.base import MessageAggregate, NotRecorded
from ledger.document import document_aggregate_id
from ledger.dossier import dossier_aggregate_id
from ledger.errors import LedgerError, UnknownDocument
from ledger.member import member_aggregate_id

# (events done, events in all): called as a long replay goes.
Progress = Callable[[int, int], None]
PAGE = 1000


def _vietnam() -> tzinfo:
    """Asia/Ho_Chi_Minh; a fixed +07:00 (no daylight saving since 1975) where the system
    has no time-zone database."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Ho_Chi_Minh")
    except Exception:  # ZoneInfoNotFoundError, or no tzdata at all
        return timezone(timedelta(hours=7), "ICT")


VIETNAM = _vietnam()


class InvalidInstant(LedgerError, ValueError):
    """An instant given for replay is not ISO 8601."""


class ReplayError(LedgerError):
    """A recorded event cannot be placed in time (it has no readable receive time)."""


def parse_instant(text: str, *, field_name: str = "--at") -> datetime:
    """ISO 8601 with an offset or `Z`; naive means Asia/Ho_Chi_Minh."""
    value = text.strip()
    if not value:
        raise InvalidInstant(f"{field_name}: empty; give an ISO 8601 time")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInstant(
            f"{field_name}: {text!r} is not ISO 8601 (e.g. 2026-06-09T14:30:00+07:00)"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=VIETNAM)
    return instant


def received_at(event: Any) -> datetime:
    """The hub's receive time of the message that caused `event`."""
    raw = getattr(event, "received_at", None)
    try:
        instant = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ReplayError(
            f"received_at: event {type(event).__qualname__} v{event.originator_version} of "
            f"{event.originator_id} has {raw!r}, not an ISO 8601 time"
        ) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Replayed:
    """One aggregate at an instant: its state then, or None when it did not exist yet."""

    kind: str
    key: str
    at: datetime
    version: int
    position: int
    state: dict[str, Any] | None

    @property
    def existed(self) -> bool:
        return self.state is not None


def replay_document(ledger: Ledger, document_id: str, at: datetime) -> Replayed:
    return _replay_one(ledger, document_aggregate_id(document_id), "document", document_id, at)


def replay_dossier(ledger: Ledger, code: str, at: datetime) -> Replayed:
    return _replay_one(ledger, dossier_aggregate_id(code), "dossier", code, at)


def replay_member(ledger: Ledger, code: str, at: datetime) -> Replayed:
    return _replay_one(ledger, member_aggregate_id(code), "member", code, at)


def _replay_one(ledger: Ledger, aggregate_id: UUID, kind: str, key: str, at: datetime) -> Replayed:
    history = ledger.history(aggregate_id)
    if not history:
        if kind == "document":
            raise UnknownDocument(f"no document {key} in the ledger")
        raise NotRecorded(f"no {kind} {key} in the ledger")
    aggregate: Any = None
    position = 0
    for event_position, event in history:
        if received_at(event) > at:
            break
        aggregate = event.mutate(aggregate)
        position = event_position
    state = aggregate.view() if isinstance(aggregate, MessageAggregate) else None
    return Replayed(kind, key, at, aggregate.version if aggregate else 0, position, state)


@dataclass
class LedgerState:
    """Every aggregate as it was at `at`: kind -> key -> state."""

    at: datetime
    position: int = 0
    events: int = 0
    aggregates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in sorted(self.aggregates.items())}


# How each aggregate kind is named in a replay, and which attribute is its key.
_KEYS = {
    "Document": ("document", "document_id"),
    "Dossier": ("dossier", "code"),
    "Member": ("member", "code"),
    "Lookup": ("lookup", "request_message_id"),
    "RefusedMessage": ("refusal", "message_id"),
}


def replay_all(ledger: Ledger, at: datetime, progress: Progress | None = None) -> LedgerState:
    """Fold the whole notification log up to `at`. Reads every event once (receive times
    need not rise with positions, see above), so `progress` is told how far it got."""
    total = ledger.size()
    folded: dict[UUID, Any] = {}
    stopped: set[UUID] = set()
    state = LedgerState(at)
    for page in pages(ledger):
        for position, event in page:
            oid = event.originator_id
            if oid in stopped:
                continue
            if received_at(event) > at:
                stopped.add(oid)
                continue
            folded[oid] = event.mutate(folded.get(oid))
            state.position = position
            state.events += 1
        if progress is not None:
            progress(page[-1][0], total)
    for aggregate in folded.values():
        kind, attribute = _KEYS.get(type(aggregate).__name__, (type(aggregate).__name__, "id"))
        key = str(getattr(aggregate, attribute))
        state.aggregates.setdefault(kind, {})[key] = aggregate.view()
    return state


def pages(ledger: Ledger, *, after: int = 0, size: int = PAGE) -> Iterator[list[tuple[int, Any]]]:
    """The notification log after position `after`, a page at a time, as (position, domain
    event upcast to today's classes)."""
    start = after
    while True:
        page = ledger.recorder.select_notifications(start, size, inclusive_of_start=False)
        if not page:
            return
        yield [(n.id, ledger.mapper.to_domain_event(n)) for n in page]
        start = page[-1].id
