"""The hub's judgement of population look-ups, and the privacy port it pseudonymises with.

A look-up carries personal data (the number, the name, the date of birth, the disclosed
attributes). The hub needs the number only to name the citizen by a keyed pseudonym, and
records disclosed attributes only as ciphertext under the citizen's own key: both through
`CitizenPrivacy`, whose implementation (HMAC secret, key table) lives outside the ledger, so
the ledger never holds personal data in clear and erasing one key erases one citizen's data.
"""

from __future__ import annotations

import base64
import json
from typing import Protocol

from hub.errors import HubError
from hub.model import Kind, Opened, PayloadFacts
from hub.registry import Registry
from ledger.commands import Command, RecordLookup, RecordLookupAnswer

POPULATION_KIND = "population"
SEAL_CONTEXT = b"truc.v1/lookup-attributes\n"


class CitizenPrivacy(Protocol):
    def pseudonym(self, id_number: str) -> str:
        """A keyed, stable pseudonym of a citizen: 64 lowercase hex characters."""
        ...

    def seal(self, pseudonym: str, plaintext: bytes, context: bytes) -> str:
        """Encrypt under the citizen's own key (made on first use); text safe to record."""
        ...


class LookupRefused(HubError):
    """The look-up may not go through: a stable `code`, and a reason naming the field."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def seal_context(request_message_id: str) -> bytes:
    """What the sealed attributes are bound to: they cannot be moved to another look-up."""
    return SEAL_CONTEXT + request_message_id.encode()


def lookup_command(
    registry: Registry,
    privacy: CitizenPrivacy | None,
    opened: Opened,
    facts: PayloadFacts,
    received_at: str,
) -> Command:
    """The ledger command for an authenticated look-up or answer, or LookupRefused."""
    header = opened.header
    facts_ = facts.lookup
    if privacy is None or facts_ is None:
        raise LookupRefused("lookups_disabled", "header.kind: this hub takes no look-ups")
    signed = {
        "received_at": received_at,
        "header_b64": base64.b64encode(opened.header_bytes).decode(),
        "signature_b64": base64.b64encode(opened.signature).decode(),
    }
    (other,) = header.recipients
    if header.kind is Kind.LOOKUP:
        if registry.member(other).kind != POPULATION_KIND:
            raise LookupRefused(
                "not_a_register", f"header.recipients: {other} keeps no population register"
            )
        allowed = registry.allowed_attributes(header.sender, other)
        undue = [a for a in facts_.attributes if a not in allowed]
        if undue:
            raise LookupRefused(
                "attribute_not_allowed",
                f"attributes: {header.sender} may not ask {other} for {', '.join(undue)}",
            )
        return RecordLookup(
            message_id=header.message_id,
            requester=header.sender,
            officer=facts_.officer,
            purpose=facts_.purpose,
            subject_digest=privacy.pseudonym(facts_.id_number),
            legal_basis=facts_.legal_basis,
            responder=other,
            attributes=facts_.attributes,
            **signed,
        )
    if registry.member(header.sender).kind != POPULATION_KIND:
        raise LookupRefused(
            "not_a_register", f"header.sender: {header.sender} keeps no population register"
        )
    pseudonym = privacy.pseudonym(facts_.id_number)
    sealed = ""
    if facts_.disclosed:
        plaintext = json.dumps(dict(facts_.disclosed), ensure_ascii=False, sort_keys=True)
        sealed = privacy.seal(
            pseudonym, plaintext.encode(), seal_context(facts_.request_message_id)
        )
    return RecordLookupAnswer(
        message_id=header.message_id,
        request_message_id=facts_.request_message_id,
        answered_by=header.sender,
        matched=facts_.matched,
        subject_digest=pseudonym,
        disclosed=tuple(name for name, _ in facts_.disclosed),
        sealed_attributes=sealed,
        **signed,
    )


def refused_lookup(
    privacy: CitizenPrivacy | None,
    opened: Opened,
    facts: PayloadFacts,
    code: str,
    reason: str,
    received_at: str,
) -> RecordLookup | None:
    """How an authenticated look-up the hub refused is recorded: on the citizen's own Lookup
    (pseudonym, asker, officer, purpose, law, and the refusal), so the attempt shows in their
    access report; None when it cannot be pseudonymised (then a plain refusal is recorded)."""
    header = opened.header
    if privacy is None or facts.lookup is None or header.kind is not Kind.LOOKUP:
        return None
    (other,) = header.recipients
    return RecordLookup(
        message_id=header.message_id,
        requester=header.sender,
        officer=facts.lookup.officer,
        purpose=facts.lookup.purpose,
        subject_digest=privacy.pseudonym(facts.lookup.id_number),
        received_at=received_at,
        legal_basis=facts.lookup.legal_basis,
        responder=other,
        attributes=facts.lookup.attributes,
        header_b64=base64.b64encode(opened.header_bytes).decode(),
        signature_b64=base64.b64encode(opened.signature).decode(),
        refused_code=code,
        refused_reason=reason,
    )


__all__ = [
    "CitizenPrivacy",
    "LookupRefused",
    "lookup_command",
    "refused_lookup",
    "seal_context",
]
