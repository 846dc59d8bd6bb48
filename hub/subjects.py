"""NATS subject and stream names: one place, so the hub, adapters and tools agree."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.agency import from_token, to_token
from ledger.errors import InvalidAgencyCode

IN_STREAM = "TRUC_IN"
OUT_STREAM = "TRUC_OUT"
LEDGER_STREAM = "TRUC_LEDGER"
DEAD_STREAM = "TRUC_DEAD"

IN_ALL = "truc.in.>"
OUT_ALL = "truc.out.>"
LEDGER_ALL = "truc.ledger.>"
DEAD_ALL = "truc.dead.>"

HUB_CONSUMER = "hub"

# NATS header marking a message that holds several (envelope.proto, Bundle): routed messages
# on truc.out.<member>.msg, members' envelopes on truc.in.<member>. A message without it is
# one RoutedEnvelope, or one Envelope.
BUNDLE_HEADER = "Truc-Bundle"
ROUTED_BUNDLE = "routed"
ENVELOPE_BUNDLE = "envelopes"
# A bundle's bounds: well under nats-server's default max_payload (1 MiB) however many
# attachment digests the headers carry.
BUNDLE_MAX_ITEMS = 128
BUNDLE_MAX_BYTES = 256 * 1024


def bundle_kind(headers: Mapping[str, str] | None) -> str:
    """What a message's bundle holds (ROUTED_BUNDLE, ENVELOPE_BUNDLE); "" when alone."""
    return (headers or {}).get(BUNDLE_HEADER, "")


def inbound(member: str) -> str:
    """Where a member's adapter publishes what it sends."""
    return f"truc.in.{to_token(member)}"


def deliveries(member: str) -> str:
    """Where the hub puts routed messages for a member."""
    return f"truc.out.{to_token(member)}.msg"


def receipts(member: str) -> str:
    """Where the hub puts its verdicts on a member's own messages."""
    return f"truc.out.{to_token(member)}.rcpt"


def dead_letter(member: str | None) -> str:
    return f"truc.dead.{to_token(member) if member else 'unknown'}"


def ledger_feed(topic: str) -> str:
    """`ledger.document:Document.Sent` -> `truc.ledger.document.sent`."""
    name = topic.rsplit(":", 1)[-1].lower()
    return f"truc.ledger.{name}"


def delivery_consumer(member: str) -> str:
    return f"deliver-{to_token(member)}"


def receipt_consumer(member: str) -> str:
    return f"receipts-{to_token(member)}"


def member_from_inbound(subject: str) -> str | None:
    """The member whose inbound subject this is, or None for anything else."""
    prefix = "truc.in."
    if not subject.startswith(prefix):
        return None
    try:
        return from_token(subject[len(prefix) :])
    except InvalidAgencyCode:
        return None


PROOF_ALL = "truc.api.proof.*"


def proof_requests(member: str) -> str:
    """Where a member's adapter asks the hub for a receipt's inclusion proof (request/reply)."""
    return f"truc.api.proof.{to_token(member)}"
