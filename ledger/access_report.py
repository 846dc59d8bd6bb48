"""One citizen's access report: every look-up of them, from the ledger alone (the data-tracker
idea from Estonia's X-Road: citizens see which agency looked at their data, when and why).

The ledger names citizens by pseudonym only, so the caller (who holds the hub's secret)
passes the pseudonym. Reads the Lookup events of the notification log once, filtered by
topic in the database: a look-up's `Requested` event carries the pseudonym, its `Answered`
event the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from ledger.lookup import Lookup
from ledger.replay import PAGE

if TYPE_CHECKING:
    from ledger.application import Ledger


@dataclass(frozen=True)
class AccessEntry:
    lookup_id: str
    position: int
    requested_at: str
    requester: str
    officer: str
    purpose: str
    legal_basis: str
    responder: str
    attributes: tuple[str, ...]
    # "matched", "not matched", "refused" (by the hub: no right) or "no answer"
    outcome: str
    answered_at: str = ""
    answer_position: int = 0
    disclosed: tuple[str, ...] = ()
    sealed_attributes: str = ""
    refused_reason: str = ""


def access_report(
    ledger: Ledger,
    subject_digest: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[AccessEntry]:
    """Every look-up of the citizen with this pseudonym, oldest first."""
    requested: dict[str, tuple[int, Lookup.Requested]] = {}
    answered: dict[str, tuple[int, Lookup.Answered | Lookup.Refused]] = {}
    ids: dict[object, str] = {}
    total = ledger.size()
    for page in _lookup_pages(ledger):
        for position, event in page:
            if isinstance(event, Lookup.Requested) and event.subject_digest == subject_digest:
                requested[event.message_id] = (position, event)
                ids[event.originator_id] = event.message_id
            elif (
                isinstance(event, (Lookup.Answered, Lookup.Refused)) and event.originator_id in ids
            ):
                answered[ids[event.originator_id]] = (position, event)
        if progress is not None and page:
            progress(page[-1][0], total)
    report = []
    for lookup_id, (position, req) in requested.items():
        entry = AccessEntry(
            lookup_id=lookup_id,
            position=position,
            requested_at=req.received_at,
            requester=req.requester,
            officer=req.officer,
            purpose=req.purpose,
            legal_basis=req.legal_basis,
            responder=req.responder,
            attributes=tuple(req.attributes),
            outcome="no answer",
        )
        settled = answered.get(lookup_id)
        if settled is not None and isinstance(settled[1], Lookup.Refused):
            refusal = settled[1]
            entry = AccessEntry(
                **{
                    **entry.__dict__,
                    "outcome": "refused",
                    "answered_at": refusal.received_at,
                    "answer_position": settled[0],
                    "refused_reason": f"{refusal.code}: {refusal.reason}",
                }
            )
        elif settled is not None:
            answer_position, ans = settled
            assert isinstance(ans, Lookup.Answered)
            entry = AccessEntry(
                **{
                    **entry.__dict__,
                    "outcome": "matched" if ans.matched else "not matched",
                    "answered_at": ans.received_at,
                    "answer_position": answer_position,
                    "disclosed": tuple(ans.disclosed),
                    "sealed_attributes": ans.sealed_attributes,
                }
            )
        report.append(entry)
    return sorted(report, key=lambda e: e.position)


def _lookup_pages(ledger: Ledger, size: int = PAGE) -> Iterator[list[tuple[int, Any]]]:
    """Only the Lookup events of the notification log (the recorder filters by topic, so
    documents and everything else are never read or decoded)."""
    topics = [get_topic(c) for c in (Lookup.Requested, Lookup.Answered, Lookup.Refused)]
    start = 0
    while True:
        page = ledger.recorder.select_notifications(
            start, size, topics=topics, inclusive_of_start=False
        )
        if not page:
            return
        yield [(n.id, ledger.mapper.to_domain_event(n)) for n in page]
        start = page[-1].id
