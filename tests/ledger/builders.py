"""Commands as the hub builds them, with only what a test cares about spelled out."""

from __future__ import annotations

from ledger.commands import (
    DeliveredItem,
    RecordDelivery,
    RecordDocument,
    RecordRefusal,
    RecordStatus,
)
from tests.ledger.backends import at
from tests.support import G15, G22, H49


def document(
    message_id: str,
    document_id: str,
    minute: float = 0,
    *,
    sender: str = G22,
    recipients: tuple[str, ...] = (H49, G15),
    business_type: int = 0,
    refers_to: str = "",
    subject: str = "Công văn",
) -> RecordDocument:
    return RecordDocument(
        message_id=message_id,
        document_id=document_id,
        sender=sender,
        recipients=recipients,
        key_id="key-1",
        signed_at=at(minute),
        received_at=at(minute),
        header_b64="aGVhZGVy",
        signature_b64="c2ln",
        payload_sha256="00" * 32,
        subject=subject,
        business_type=business_type,
        refers_to=refers_to,
    )


def status(
    message_id: str,
    document_id: str,
    code: str,
    minute: float = 0,
    *,
    reporter: str = H49,
    description: str = "",
) -> RecordStatus:
    return RecordStatus(
        message_id=message_id,
        document_id=document_id,
        reporter=reporter,
        status_code=code,
        description=description,
        received_at=at(minute),
        header_b64="aGVhZGVy",
        signature_b64="c2ln",
    )


def delivery(
    message_id: str, document_id: str, delivered: str, minute: float = 0, *, recipient: str = H49
) -> RecordDelivery:
    return RecordDelivery(
        message_id=message_id,
        recipient=recipient,
        items=(DeliveredItem(document_id, delivered),),
        received_at=at(minute),
        header_b64="aGVhZGVy",
        signature_b64="c2ln",
    )


def deliveries(
    message_id: str, items: list[tuple[str, str]], minute: float = 0, *, recipient: str = H49
) -> RecordDelivery:
    """One proof of several documents: `items` are (document id, delivered message id)."""
    return RecordDelivery(
        message_id=message_id,
        recipient=recipient,
        items=tuple(DeliveredItem(d, m) for d, m in items),
        received_at=at(minute),
        header_b64="aGVhZGVy",
        signature_b64="c2ln",
    )


def refusal(message_id: str, minute: float = 0, *, document_id: str = "") -> RecordRefusal:
    return RecordRefusal(
        message_id=message_id,
        claimed_sender=G22,
        authenticated=True,
        reason_code="route_not_allowed",
        reason="header.recipients: G22 may not send document messages to BCCI.VNPOST",
        received_at=at(minute),
        document_id=document_id,
    )
