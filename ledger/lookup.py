"""The Lookup aggregate: one population-register query (DOMAIN.md section 5).

Every look-up of a citizen's data must be attributable (which agency, which officer, which
purpose) without the ledger holding personal data in clear: the citizen is named only by a
digest the requesting adapter computes (a keyed hash of the identification number), which
lets an auditor holding the key check "was this person looked up" and nobody else learn it.
Keyed by the request's message id; the answer refers to it.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.base import MessageAggregate
from ledger.errors import RuleViolation

LOOKUP_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/lookup")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ID_NUMBER = re.compile(r"\d{12}")


def lookup_aggregate_id(request_message_id: str) -> UUID:
    return uuid5(LOOKUP_NAMESPACE, request_message_id)


def check_subject_digest(digest: str) -> str:
    """Refuse anything but a hex SHA-256-sized digest, and above all a bare 12-digit
    identification number: the ledger must never hold one in clear."""
    if _ID_NUMBER.fullmatch(digest) or not _DIGEST.fullmatch(digest):
        raise RuleViolation(
            "invalid_subject_digest",
            "subject_digest: must be 64 lowercase hex characters (a keyed digest), never the"
            " identification number itself",
        )
    return digest


class Lookup(MessageAggregate):
    class Requested(Aggregate.Created):
        message_id: str
        requester: str
        officer: str
        purpose: str
        subject_digest: str
        received_at: str

    class Answered(Aggregate.Event):
        answered_by: str
        matched: bool
        message_id: str
        received_at: str

    @staticmethod
    def create_id(message_id: str) -> UUID:
        return lookup_aggregate_id(message_id)

    @event(Requested)
    def __init__(
        self,
        *,
        message_id: str,
        requester: str,
        officer: str,
        purpose: str,
        subject_digest: str,
        received_at: str,
    ) -> None:
        self.request_message_id = message_id
        self.requester = requester
        self.officer = officer
        self.purpose = purpose
        self.subject_digest = subject_digest
        self.answered_by = ""
        self.matched: bool | None = None
        self.message_versions: dict[str, int] = {message_id: 1}

    def view(self) -> dict[str, Any]:
        return {
            "request_message_id": self.request_message_id,
            "version": self.version,
            "requester": self.requester,
            "officer": self.officer,
            "purpose": self.purpose,
            "subject_digest": self.subject_digest,
            "answered_by": self.answered_by,
            "matched": self.matched,
        }

    def answer(self, *, answered_by: str, matched: bool, message_id: str, received_at: str) -> None:
        if self.answered_by:
            raise RuleViolation(
                "already_answered",
                f"request_message_id: look-up {self.request_message_id} was answered by"
                f" {self.answered_by}",
            )
        self._answered(
            answered_by=answered_by,
            matched=matched,
            message_id=message_id,
            received_at=received_at,
        )

    @event(Answered)
    def _answered(self, answered_by: str, matched: bool, message_id: str, received_at: str) -> None:
        self._took(message_id)
        self.answered_by = answered_by
        self.matched = matched
