"""The Document aggregate: one per exchanged document, with its routing, deliveries and
the edXML status life cycle per recipient (DOMAIN.md section 2).

A document sent as a revocation, update or replacement (edXML BussinessDocType 1, 2, 3)
names the earlier document in `refers_to`; the earlier document records `Revoked`, `Updated`
or `Replaced` with the later one's id, so a chain can be walked in both directions from the
ledger alone.

Status life cycle, per recipient (each recipient's copy moves on its own):
- the ladder 01 arrived -> 03 registered -> 04 assigned -> 05 handling -> 06 done, where 01
  and 04 may be skipped, 02 (returned, with a reason) may come at any point before 06, and
  nothing follows 02 or 06 but a recall;
- 13 (recall) only from the sender, at any time, once per open request: it asks every
  recipient whose copy is not recalled yet for an answer;
- 15 (agree) and 16 (refuse) only from a recipient with an open request: a recall (13), or a
  later document that revokes (1) or updates (2) this one. 15 to a recall or a revocation
  withdraws that recipient's copy (nothing more from it); 15 to an update, and 16 to
  anything, leave the ladder where it was.

Every event carries the id of the message that caused it and the hub's receive time, so the
ledger alone answers "which signed message made this happen, and when did the hub see it".
The signed header bytes and signature travel in the events (base64) so an auditor can check
each member's signature offline, without the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.base import MessageAggregate
from ledger.errors import RuleViolation
from ledger.names import name_based_id

DOCUMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/document")

RECEIVER_CODES = frozenset({"01", "02", "03", "04", "05", "06", "15", "16"})
SENDER_CODES = frozenset({"13"})
FINAL_CODES = frozenset({"02", "06"})
ANSWER_CODES = frozenset({"15", "16"})
# Requests whose acceptance (15) withdraws the recipient's copy.
WITHDRAWING_REQUESTS = frozenset({"recall", "revoke"})
# edXML BussinessDocType: 0 new, 1 revoke (thu hồi), 2 update (cập nhật), 3 replace (thay thế).
NEW, REVOKE, UPDATE, REPLACE = 0, 1, 2, 3
BUSINESS_TYPES = frozenset({NEW, REVOKE, UPDATE, REPLACE})
# Which status a recipient may report after which (None: nothing reported yet): no 04 or 05
# before 03, nothing after 02 or 06. A recall (13) and the answers (15, 16) cut across this
# ladder and are handled apart.
_NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"01", "02", "03"}),
    "01": frozenset({"02", "03"}),
    "03": frozenset({"02", "04", "05", "06"}),
    "04": frozenset({"02", "05", "06"}),
    "05": frozenset({"02", "06"}),
    "02": frozenset(),
    "06": frozenset(),
}


@lru_cache(maxsize=65_536)  # asked several times per message while recording it
def document_aggregate_id(document_id: str) -> UUID:
    """Aggregate ids derive from the document id, so a replayed send finds the same aggregate."""
    return name_based_id(DOCUMENT_NAMESPACE, document_id)


class Document(MessageAggregate):
    """An official document's life on the axis."""

    class Sent(Aggregate.Created):
        document_id: str
        message_id: str
        sender: str
        recipients: list[str]
        key_id: str
        signed_at: str
        received_at: str
        header_b64: str
        signature_b64: str
        payload_sha256: str
        subject: str
        business_type: int
        refers_to: str
        due_date: str

    # Routed and Delivered come with nearly every document, so they say how they apply
    # themselves and are triggered directly: eventsourcing's @event machinery (turning
    # arguments into keyword arguments and filtering them, on the way in and again on the
    # way back) was a seventh of recording them (README, Performance).

    class Routed(Aggregate.Event):
        recipient: str
        message_id: str
        received_at: str

        def apply(self, aggregate: Document) -> None:
            aggregate.routed.append(self.recipient)

    class Delivered(Aggregate.Event):
        recipient: str
        message_id: str
        delivered_message_id: str
        received_at: str
        header_b64: str
        signature_b64: str

        def apply(self, aggregate: Document) -> None:
            aggregate._took(self.message_id)
            aggregate.delivered.setdefault(self.recipient, self.delivered_message_id)

    class StatusReported(Aggregate.Event):
        reporter: str
        status_code: str
        description: str
        message_id: str
        received_at: str
        header_b64: str
        signature_b64: str

    class Revoked(Aggregate.Event):
        """A later document (BussinessDocType 1) revoked this one."""

        by_document_id: str
        by_member: str
        message_id: str
        received_at: str

    class Updated(Aggregate.Event):
        """A later document (BussinessDocType 2) updates this one; there may be several."""

        by_document_id: str
        by_member: str
        message_id: str
        received_at: str

    class Replaced(Aggregate.Event):
        """A later document (BussinessDocType 3) replaces this one."""

        by_document_id: str
        by_member: str
        message_id: str
        received_at: str

    @staticmethod
    def create_id(document_id: str) -> UUID:
        return document_aggregate_id(document_id)

    @classmethod
    def sent(cls, aggregate_id: UUID, **fields: Any) -> Document:
        """A new document, its `Sent` event triggered directly with the id the caller
        already derived: calling `Document(...)` first maps the arguments onto `__init__`'s
        signature and derives the id again, a third of the cost of creating one."""
        return cls._create(cls.Sent, id=aggregate_id, **fields)

    @event(Sent)
    def __init__(
        self,
        *,
        document_id: str,
        message_id: str,
        sender: str,
        recipients: list[str],
        key_id: str,
        signed_at: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
        payload_sha256: str,
        subject: str,
        business_type: int,
        refers_to: str,
        due_date: str,
    ) -> None:
        self.document_id = document_id
        self.sender = sender
        self.recipients = list(recipients)
        self.subject = subject
        self.business_type = business_type
        self.refers_to = refers_to
        self.due_date = due_date
        self.message_versions: dict[str, int] = {message_id: 1}
        self.routed: list[str] = []
        self.delivered: dict[str, str] = {}
        self.statuses: dict[str, str | None] = dict.fromkeys(recipients)
        # Open requests per recipient awaiting 15/16: "recall", "revoke" or "update".
        self.awaiting: dict[str, str] = {}
        # Recipients whose copy is withdrawn (they agreed to a recall or a revocation).
        self.withdrawn: set[str] = set()
        self.revoked_by = ""
        self.replaced_by = ""
        self.updated_by: list[str] = []

    @property
    def sent_message_id(self) -> str:
        return next(iter(self.message_versions))

    @property
    def recall_pending(self) -> set[str]:
        return set(self.awaiting)

    @property
    def recalled(self) -> bool:
        """Every recipient agreed to withdraw its copy."""
        return bool(self.recipients) and self.withdrawn >= set(self.recipients)

    def view(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "version": self.version,
            "sender": self.sender,
            "recipients": list(self.recipients),
            "subject": self.subject,
            "business_type": self.business_type,
            "refers_to": self.refers_to,
            "due_date": self.due_date,
            "routed": list(self.routed),
            "delivered": dict(sorted(self.delivered.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "recall_pending": sorted(self.recall_pending),
            "awaiting_answer": dict(sorted(self.awaiting.items())),
            "withdrawn": sorted(self.withdrawn),
            "recalled": self.recalled,
            "revoked_by": self.revoked_by,
            "replaced_by": self.replaced_by,
            "updated_by": list(self.updated_by),
        }

    # -- commands -------------------------------------------------------------------------

    def route(self, recipient: str, message_id: str, received_at: str) -> None:
        if recipient in self.routed:
            return
        self.trigger_event(
            self.Routed, recipient=recipient, message_id=message_id, received_at=received_at
        )

    def deliver(
        self,
        *,
        recipient: str,
        message_id: str,
        delivered_message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self.check_delivery(recipient, delivered_message_id)
        self.trigger_event(
            self.Delivered,
            recipient=recipient,
            message_id=message_id,
            delivered_message_id=delivered_message_id,
            received_at=received_at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    def check_delivery(self, recipient: str, delivered_message_id: str) -> None:
        """Raise RuleViolation unless `recipient` may prove delivery of that message: a proof
        of several documents is checked whole before any of them changes."""
        if recipient not in self.recipients:
            raise RuleViolation(
                "not_a_recipient", f"{recipient} is not a recipient of document {self.document_id}"
            )
        if delivered_message_id not in self.message_versions:
            raise RuleViolation(
                "unknown_message",
                f"message {delivered_message_id} was never sent about document {self.document_id}",
            )

    def report_status(
        self,
        *,
        reporter: str,
        status_code: str,
        description: str,
        message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._check_status(reporter, status_code, description)
        self._status_reported(
            reporter=reporter,
            status_code=status_code,
            description=description,
            message_id=message_id,
            received_at=received_at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    def _check_status(self, reporter: str, code: str, description: str) -> None:
        """Raise RuleViolation unless `reporter` may report `code` now (module docstring)."""
        if code in SENDER_CODES:
            self._check_recall(reporter)
            return
        if code not in RECEIVER_CODES:
            raise RuleViolation(
                "unknown_status", f"status_code {code!r} is not an edXML status code"
            )
        if reporter not in self.statuses:
            raise RuleViolation(
                "not_a_recipient",
                f"{reporter} is not a recipient of document {self.document_id}"
                + (
                    " (it is the sender: only 13 comes from the sender)"
                    if reporter == self.sender
                    else ""
                ),
            )
        if reporter in self.withdrawn:
            raise RuleViolation(
                "illegal_transition",
                f"status {code} cannot follow the withdrawal {reporter} agreed to (15)",
            )
        if code in ANSWER_CODES:
            if reporter not in self.awaiting:
                raise RuleViolation(
                    "illegal_transition",
                    f"status {code} answers a recall (13), a revocation or an update, and none"
                    f" is open for {reporter}",
                )
            return
        if code == "02" and not description.strip():
            raise RuleViolation(
                "missing_field", "description: a rejection (02) must give the reason"
            )
        current = self.statuses[reporter]
        if code not in _NEXT[current]:
            after = "nothing yet" if current is None else current
            raise RuleViolation(
                "illegal_transition", f"status {code} cannot follow {after} for {reporter}"
            )

    def _check_recall(self, reporter: str) -> None:
        if reporter != self.sender:
            raise RuleViolation(
                "status_not_allowed",
                f"status 13 may only come from the sender {self.sender}, not {reporter}",
            )
        if self.revoked_by or self.replaced_by:
            raise RuleViolation(
                "illegal_transition",
                f"status 13: document {self.document_id} was already revoked or replaced",
            )
        open_for = [r for r in self.recipients if r not in self.withdrawn]
        if not open_for:
            raise RuleViolation("illegal_transition", "status 13: the document is already recalled")
        if any(self.awaiting.get(r) == "recall" for r in open_for):
            raise RuleViolation(
                "illegal_transition", "status 13: a recall is already awaiting answers (15/16)"
            )

    @event(StatusReported)
    def _status_reported(
        self,
        reporter: str,
        status_code: str,
        description: str,
        message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        if status_code == "13":
            self._ask_all("recall")
        elif status_code in ANSWER_CODES:
            request = self.awaiting.pop(reporter, "")
            if status_code == "15" and request in WITHDRAWING_REQUESTS:
                self.withdrawn.add(reporter)
        else:
            self.statuses[reporter] = status_code

    def _ask_all(self, request: str) -> None:
        """Every recipient whose copy is still live owes an answer (15/16) to `request`."""
        for recipient in self.recipients:
            if recipient not in self.withdrawn:
                self.awaiting[recipient] = request

    # -- revoke / update / replace -------------------------------------------------------

    def referred_by(
        self,
        *,
        business_type: int,
        by_document_id: str,
        by_member: str,
        message_id: str,
        received_at: str,
    ) -> None:
        """A later document revokes, updates or replaces this one. Only this document's
        sender may do so, and nothing may refer to a document already revoked or replaced
        (refer to the replacement instead), so a chain never forks."""
        if by_member != self.sender:
            raise RuleViolation(
                "not_the_sender",
                f"refers_to: only the sender {self.sender} may revoke, update or replace "
                f"document {self.document_id}, not {by_member}",
            )
        if self.revoked_by:
            raise RuleViolation(
                "document_revoked",
                f"refers_to: document {self.document_id} was revoked by {self.revoked_by}",
            )
        if self.replaced_by:
            raise RuleViolation(
                "document_replaced",
                f"refers_to: document {self.document_id} was replaced by {self.replaced_by};"
                " refer to the replacement",
            )
        fields = {
            "by_document_id": by_document_id,
            "by_member": by_member,
            "message_id": message_id,
            "received_at": received_at,
        }
        if business_type == REVOKE:
            self._revoked(**fields)
        elif business_type == UPDATE:
            self._updated(**fields)
        elif business_type == REPLACE:
            self._replaced(**fields)
        else:
            raise RuleViolation(
                "invalid_business_type",
                f"business_type: {business_type} does not refer to an earlier document",
            )

    @event(Revoked)
    def _revoked(
        self, by_document_id: str, by_member: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.revoked_by = by_document_id
        self._ask_all("revoke")

    @event(Updated)
    def _updated(
        self, by_document_id: str, by_member: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.updated_by.append(by_document_id)
        self._ask_all("update")

    @event(Replaced)
    def _replaced(
        self, by_document_id: str, by_member: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.replaced_by = by_document_id


# -- chains -------------------------------------------------------------------------------

_RELATIONS = {REVOKE: "revoked", UPDATE: "updated", REPLACE: "replaced"}
MAX_CHAIN = 1000


def document_chain(
    load: Callable[[str], Document | None], document_id: str
) -> list[dict[str, str]]:
    """The revoke/update/replace chain `document_id` belongs to, oldest first: each link is
    {"document_id", "relation", "of"}, where relation says what the link did to `of`
    ("" for the original). Walks back through `refers_to`, then forward through every
    later document, using only the ledger (`load` returns None for unknown ids). Bounded, so
    a corrupt ledger cannot loop it."""
    start = load(document_id)
    if start is None:
        return []
    root = start
    for _ in range(MAX_CHAIN):
        if root.business_type == NEW or not root.refers_to:
            break
        earlier = load(root.refers_to)
        if earlier is None:
            break
        root = earlier
    links = [{"document_id": root.document_id, "relation": "", "of": ""}]
    frontier = [root]
    seen = {root.document_id}
    while frontier and len(links) < MAX_CHAIN:
        current = frontier.pop(0)
        later = [*current.updated_by, current.replaced_by, current.revoked_by]
        for later_id in [d for d in later if d and d not in seen]:
            seen.add(later_id)
            document = load(later_id)
            relation = _RELATIONS.get(document.business_type, "") if document else ""
            links.append({"document_id": later_id, "relation": relation, "of": current.document_id})
            if document is not None:
                frontier.append(document)
    return links
