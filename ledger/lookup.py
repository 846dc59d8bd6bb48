"""The Lookup aggregate: one population-register query (DOMAIN.md section 5).

Every look-up of a citizen's data must be attributable (which agency, which officer, which
purpose, under which law) without the ledger holding personal data in clear: the citizen is
named only by a keyed pseudonym the hub computes (HMAC-SHA256 of the identification number
with a secret the hub keeps outside the ledger), which lets the hub answer "who looked this
person up" and nobody holding only the ledger learn it. Keyed by the request's message id;
the answer refers to it.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.base import MessageAggregate
from ledger.errors import RuleViolation
from ledger.names import name_based_id

LOOKUP_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/lookup")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ID_NUMBER = re.compile(r"\d{12}")


def lookup_aggregate_id(request_message_id: str) -> UUID:
    return name_based_id(LOOKUP_NAMESPACE, request_message_id)


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
    """One look-up: who asked the population member about whom (a pseudonym), why, under
    which law, and what came back. Disclosed attributes are kept only as ciphertext under
    the citizen's own key (held outside the ledger), so shredding that key erases them while
    these events, and every Merkle proof over them, stay as they are."""

    class Requested(Aggregate.Created):
        message_id: str
        requester: str
        officer: str
        purpose: str
        subject_digest: str
        received_at: str
        legal_basis: str = ""
        responder: str = ""
        attributes: tuple[str, ...] = ()
        header_b64: str = ""
        signature_b64: str = ""

    class Refused(Aggregate.Event):
        """The hub refused the look-up (the asker had no right to it): nothing was asked of
        the register, and the attempt stays on the citizen's record."""

        code: str
        reason: str
        # The member refused (every event names the member it concerns, ledger.stats).
        requester: str
        message_id: str
        received_at: str

    class Answered(Aggregate.Event):
        answered_by: str
        matched: bool
        message_id: str
        received_at: str
        disclosed: tuple[str, ...] = ()
        sealed_attributes: str = ""
        header_b64: str = ""
        signature_b64: str = ""

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
        legal_basis: str = "",
        responder: str = "",
        attributes: tuple[str, ...] = (),
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        self.request_message_id = message_id
        self.requester = requester
        self.officer = officer
        self.purpose = purpose
        self.legal_basis = legal_basis
        self.subject_digest = subject_digest
        self.responder = responder
        self.attributes = tuple(attributes)
        self.requested_at = received_at
        self.answered_by = ""
        self.answered_at = ""
        self.matched: bool | None = None
        self.disclosed: tuple[str, ...] = ()
        self.sealed_attributes = ""
        self.refused_code = ""
        self.refused_reason = ""
        self.message_versions: dict[str, int] = {message_id: 1}

    def view(self) -> dict[str, Any]:
        return {
            "request_message_id": self.request_message_id,
            "version": self.version,
            "requester": self.requester,
            "officer": self.officer,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "subject_digest": self.subject_digest,
            "responder": self.responder,
            "attributes": list(self.attributes),
            "requested_at": self.requested_at,
            "answered_by": self.answered_by,
            "answered_at": self.answered_at,
            "matched": self.matched,
            "disclosed": list(self.disclosed),
            "sealed_attributes": self.sealed_attributes,
            "refused_code": self.refused_code,
            "refused_reason": self.refused_reason,
        }

    def refuse(self, *, code: str, reason: str, message_id: str, received_at: str) -> None:
        if self.answered_by or self.refused_code:
            raise RuleViolation(
                "already_settled", f"request_message_id: look-up {self.request_message_id}"
            )
        self._refused(
            code=code,
            reason=reason,
            requester=self.requester,
            message_id=message_id,
            received_at=received_at,
        )

    @event(Refused)
    def _refused(
        self, code: str, reason: str, requester: str, message_id: str, received_at: str
    ) -> None:
        self.refused_code = code
        self.refused_reason = reason
        self.answered_at = received_at

    def answer(
        self,
        *,
        answered_by: str,
        matched: bool,
        message_id: str,
        received_at: str,
        subject_digest: str = "",
        disclosed: tuple[str, ...] = (),
        sealed_attributes: str = "",
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        if self.refused_code:
            raise RuleViolation(
                "lookup_refused",
                f"request_message_id: look-up {self.request_message_id} was refused by the hub",
            )
        if self.answered_by:
            raise RuleViolation(
                "already_answered",
                f"request_message_id: look-up {self.request_message_id} was answered by"
                f" {self.answered_by}",
            )
        if self.responder and answered_by != self.responder:
            raise RuleViolation(
                "not_the_responder",
                f"header.sender: look-up {self.request_message_id} was sent to"
                f" {self.responder}, not {answered_by}",
            )
        if subject_digest and subject_digest != self.subject_digest:
            raise RuleViolation(
                "subject_mismatch",
                "id_number: the answer is about another citizen than the request",
            )
        if not matched and (disclosed or sealed_attributes):
            raise RuleViolation(
                "disclosed_without_match", "attributes: a non-matching answer discloses nothing"
            )
        undue = sorted(set(disclosed) - set(self.attributes))
        if undue:
            raise RuleViolation(
                "attribute_not_requested",
                f"attributes: {', '.join(undue)} were not asked for",
            )
        self._answered(
            answered_by=answered_by,
            matched=matched,
            message_id=message_id,
            received_at=received_at,
            disclosed=tuple(disclosed),
            sealed_attributes=sealed_attributes,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    @event(Answered)
    def _answered(
        self,
        answered_by: str,
        matched: bool,
        message_id: str,
        received_at: str,
        disclosed: tuple[str, ...] = (),
        sealed_attributes: str = "",
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        self._took(message_id)
        self.answered_by = answered_by
        self.answered_at = received_at
        self.matched = matched
        self.disclosed = tuple(disclosed)
        self.sealed_attributes = sealed_attributes
