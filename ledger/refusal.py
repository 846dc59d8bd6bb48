"""A refused message: the ledger keeps a record of what the hub turned away, and why.

Keyed by the message id, so a refused message redelivered by NATS is recorded once.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

REFUSAL_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/refusal")


def refusal_aggregate_id(message_id: str) -> UUID:
    return uuid5(REFUSAL_NAMESPACE, message_id)


class RefusedMessage(Aggregate):
    class Refused(Aggregate.Created):
        message_id: str
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
        claimed_sender: str,
        authenticated: bool,
        reason_code: str,
        reason: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self.message_id = message_id
        self.reason_code = reason_code
