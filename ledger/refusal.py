"""A refused message: the ledger keeps a record of what the hub turned away, and why.

Keyed by the message id, so a refused message redelivered by NATS is recorded once, and a
message refused once is refused again (same reason) if it ever comes back.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger import upcasting
from ledger.base import MessageAggregate
from ledger.names import name_based_id

REFUSAL_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/refusal")


@lru_cache(maxsize=65_536)  # asked several times per message while recording it
def refusal_aggregate_id(message_id: str) -> UUID:
    return name_based_id(REFUSAL_NAMESPACE, message_id)


class RefusedMessage(MessageAggregate):
    class Refused(Aggregate.Created):
        # v2 added document_id (see ledger.upcasting.refused_v1_v2).
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.refused_v1_v2)

        message_id: str
        document_id: str
        claimed_sender: str
        authenticated: bool
        reason_code: str
        reason: str
        received_at: str
        header_b64: str
        signature_b64: str

    @staticmethod
    def create_id(message_id: str) -> UUID:
        return refusal_aggregate_id(message_id)

    @event(Refused)
    def __init__(
        self,
        *,
        message_id: str,
        document_id: str,
        claimed_sender: str,
        authenticated: bool,
        reason_code: str,
        reason: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self.message_id = message_id
        self.message_versions: dict[str, int] = {message_id: 1}
        self.document_id = document_id
        self.claimed_sender = claimed_sender
        self.authenticated = authenticated
        self.reason_code = reason_code
        self.reason = reason

    def view(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "version": self.version,
            "document_id": self.document_id,
            "claimed_sender": self.claimed_sender,
            "authenticated": self.authenticated,
            "reason_code": self.reason_code,
            "reason": self.reason,
        }
