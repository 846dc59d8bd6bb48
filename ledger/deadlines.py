"""Document deadlines (edXML DueDate), per recipient, in Vietnamese time.

The DueDate is the deadline for handling a document (hạn xử lý), so a recipient has handled
its copy once it reported it done (06) or returned it (02); registering it (03) or working on
it (04, 05) is not handling it. Against the DueDate (`yyyy/MM/dd`, a calendar day in
Asia/Ho_Chi_Minh, inclusive) each recipient's copy is:

- `on_time`: handled on or before the due day;
- `late`: handled, but after the due day;
- `overdue`: not handled, and the due day is over;
- `pending`: not handled, and the due day is not over yet;
- `withdrawn`: the recipient agreed (15) to a recall or revocation before handling it.

Pure functions over plain values, so `truc trace`, `truc stats`, the operations dashboard
(hub.ops) and tests share one rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ledger.replay import VIETNAM

HANDLED = frozenset({"02", "06"})
WITHDRAWN = "15"
STATES = ("on_time", "late", "overdue", "pending", "withdrawn")


def parse_due(text: str) -> date | None:
    """edXML `yyyy/MM/dd` as a date; None when empty or unreadable (not tracked)."""
    try:
        return datetime.strptime(text.strip(), "%Y/%m/%d").date()
    except ValueError:
        return None


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


@dataclass
class DocumentDeadline:
    """One document's deadline and, per recipient, when (if ever) it took the document up."""

    due: date
    recipients: tuple[str, ...]
    taken_up: dict[str, datetime] = field(default_factory=dict)
    withdrawn: set[str] = field(default_factory=set)

    def status(self, reporter: str, code: str, at: datetime) -> None:
        if reporter not in self.recipients or reporter in self.taken_up:
            return
        if code in HANDLED:
            self.taken_up[reporter] = at
        elif code == WITHDRAWN:
            self.withdrawn.add(reporter)

    def states(self, now: datetime) -> dict[str, str]:
        today = vietnam_day(now)
        out: dict[str, str] = {}
        for recipient in self.recipients:
            when = self.taken_up.get(recipient)
            if when is not None:
                out[recipient] = "on_time" if vietnam_day(when) <= self.due else "late"
            elif recipient in self.withdrawn:
                out[recipient] = "withdrawn"
            else:
                out[recipient] = "overdue" if today > self.due else "pending"
        return out


def deadline_of(events: Iterable[tuple[str, dict[str, Any], datetime]]) -> DocumentDeadline | None:
    """Fold one document's events (event name, fields, hub receive time) into its
    deadline; None when it has no DueDate."""
    deadline: DocumentDeadline | None = None
    for name, fields, at in events:
        if name.endswith("Sent"):
            due = parse_due(str(fields.get("due_date", "")))
            if due is None:
                return None
            deadline = DocumentDeadline(due, tuple(fields.get("recipients", ())))
        elif name.endswith("StatusReported") and deadline is not None:
            deadline.status(str(fields["reporter"]), str(fields["status_code"]), at)
    return deadline


@dataclass
class OverdueFold:
    """Every document with a DueDate, folded from the notification log (domain events),
    keyed by aggregate id (status events carry no document id of their own)."""

    documents: dict[Any, tuple[str, DocumentDeadline]] = field(default_factory=dict)

    def add(self, event: Any) -> None:
        name = type(event).__qualname__
        if name == "Document.Sent":
            due = parse_due(getattr(event, "due_date", "") or "")
            if due is not None:
                deadline = DocumentDeadline(due, tuple(event.recipients))
                self.documents[event.originator_id] = (event.document_id, deadline)
        elif name == "Document.StatusReported":
            found = self.documents.get(event.originator_id)
            if found is not None:
                found[1].status(event.reporter, event.status_code, _received(event))

    def report(self, now: datetime) -> dict[str, Any]:
        """Counts per state, per recipient, and the overdue (document, recipient) pairs."""
        totals: Counter[str] = Counter()
        by_member: dict[str, Counter[str]] = {}
        overdue: list[dict[str, str]] = []
        for document_id, deadline in sorted(self.documents.values(), key=lambda d: d[0]):
            for recipient, state in deadline.states(now).items():
                totals[state] += 1
                by_member.setdefault(recipient, Counter())[state] += 1
                if state == "overdue":
                    overdue.append(
                        {
                            "document_id": document_id,
                            "recipient": recipient,
                            "due_date": deadline.due.strftime("%Y/%m/%d"),
                        }
                    )
        return {
            "as_of": now.astimezone(VIETNAM).isoformat(timespec="seconds"),
            "documents_with_due_date": len(self.documents),
            "totals": {state: totals[state] for state in STATES},
            "by_member": {
                member: {state: counts[state] for state in STATES}
                for member, counts in sorted(by_member.items())
            },
            "overdue": overdue,
        }


def _received(event: Any) -> datetime:
    text = getattr(event, "received_at", "")
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return event.timestamp  # type: ignore[no-any-return]
