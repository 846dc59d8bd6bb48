"""Judging one inbound message: the checks the hub makes before anything is recorded.

Order matters: cheap shape checks first, then who is speaking (the subject the message came
on must belong to the header's sender, and the signature must verify with that sender's key
valid at signing time), then what they may say (routes, payload rules). A message is
"authenticated" once its signature verified, which decides whether its refusal can be
attributed to the sender in the ledger.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

from hub.dossiers import dossier_command
from hub.errors import MalformedMessage
from hub.lookups import CitizenPrivacy, LookupRefused, lookup_command, refused_lookup
from hub.model import Kind, Opened, PayloadFacts
from hub.ports import Clock, EnvelopeCodec
from hub.registry import Registry, RegistryError
from ledger.commands import (
    Command,
    DeliveredItem,
    RecordDelivery,
    RecordDocument,
    RecordStatus,
)

# A message signed further in the future than this is refused (clock skew allowance).
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
# A message stored by JetStream longer than this after its sender signed it is refused as a
# replay (adapters re-sign what they publish again after a long outage).
REPLAY_WINDOW_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class Accepted:
    opened: Opened
    facts: PayloadFacts
    command: Command
    sender_public_key: bytes
    received_at_ms: int


@dataclass(frozen=True)
class Rejected:
    code: str
    reason: str
    received_at_ms: int
    opened: Opened | None = None
    # The member the subject says sent it (who to tell), when it is a registered member.
    notify: str | None = None
    authenticated: bool = False
    # What to record instead of a plain refusal (a refused look-up goes on the citizen's
    # Lookup, hub.lookups.refused_lookup).
    record: Command | None = None

    @property
    def message_id(self) -> str:
        return self.opened.header.message_id if self.opened else ""


Verdict = Accepted | Rejected


# Naive: `iso_ms` writes the UTC offset itself, after the milliseconds.
_EPOCH = datetime(1970, 1, 1)


def iso_ms(ms: int) -> str:
    """Unix milliseconds as ISO 8601 UTC, exact (integer arithmetic, no float rounding).
    Twice per message on the hub: the second is formatted once, the milliseconds added."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_second(seconds)}.{millis:03d}+00:00"


@lru_cache(maxsize=64)
def _iso_second(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds")


class Intake:
    def __init__(
        self,
        registry: Registry,
        codec: EnvelopeCodec,
        clock: Clock,
        replay_window_ms: int = REPLAY_WINDOW_MS,
        privacy: CitizenPrivacy | None = None,
    ) -> None:
        self._registry = registry
        self._codec = codec
        self._clock = clock
        self._replay_window_ms = replay_window_ms
        # Population look-ups are pseudonymised with it; without it they are refused.
        self._privacy = privacy

    def use_registry(self, registry: Registry) -> None:
        """Judge from now on with `registry` (after a key rotation or revocation)."""
        self._registry = registry

    def judge(
        self, subject_member: str | None, raw: bytes, stored_at_ms: int | None = None
    ) -> Verdict:
        """Judge one message; `stored_at_ms` (when JetStream stored it) enables the replay
        window: a copy of an old message published again now is refused as too old."""
        now = self._clock.now_ms()
        notify = (
            subject_member if subject_member and self._registry.is_member(subject_member) else None
        )
        try:
            opened = self._codec.open(raw)
        except MalformedMessage as error:
            return Rejected("malformed", str(error), now, notify=notify)
        header = opened.header
        if subject_member != header.sender:
            return Rejected(
                "sender_mismatch",
                f"header.sender: {header.sender} signed, but the message came on "
                f"{subject_member or 'an unknown subject'}'s subject",
                now,
                opened,
                notify,
            )
        try:
            key = self._registry.key(header.sender, header.key_id, header.signed_at_ms)
        except RegistryError as error:
            code = "unknown_sender" if error.code == "unknown_member" else error.code
            return Rejected(code, f"header.sender/key_id: {error.reason}", now, opened, notify)
        if not self._codec.sender_signature_valid(opened, key.public_key):
            return Rejected(
                "bad_signature",
                f"signature: does not verify with key {key.key_id} of {header.sender}",
                now,
                opened,
                notify,
            )
        rejected = self._judge_authenticated(opened, now, notify, stored_at_ms)
        if rejected is not None and header.kind is Kind.LOOKUP:
            return self._refused_lookup(rejected, opened)
        if rejected is not None:
            return rejected
        try:
            facts = self._codec.inspect(opened)
        except MalformedMessage as error:
            return Rejected("invalid_payload", str(error), now, opened, notify, True)
        if header.kind in (Kind.LOOKUP, Kind.LOOKUP_ANSWER):
            try:
                command = lookup_command(self._registry, self._privacy, opened, facts, iso_ms(now))
            except LookupRefused as error:
                rejected = Rejected(error.code, error.reason, now, opened, notify, True)
                return self._refused_lookup(rejected, opened, facts)
            return Accepted(opened, facts, command, key.public_key, now)
        return Accepted(opened, facts, _command(opened, facts, now), key.public_key, now)

    def _refused_lookup(
        self, rejected: Rejected, opened: Opened, facts: PayloadFacts | None = None
    ) -> Rejected:
        """Record an authenticated look-up the hub refuses on the citizen's Lookup, when its
        payload is valid (so the attempt shows in their access report)."""
        try:
            facts = facts or self._codec.inspect(opened)
        except MalformedMessage:
            return rejected
        record = refused_lookup(
            self._privacy,
            opened,
            facts,
            rejected.code,
            rejected.reason,
            iso_ms(rejected.received_at_ms),
        )
        return replace(rejected, record=record)

    def _judge_authenticated(
        self, opened: Opened, now: int, notify: str | None, stored_at_ms: int | None
    ) -> Rejected | None:
        header = opened.header
        if header.signed_at_ms > now + MAX_FUTURE_SKEW_MS:
            return Rejected(
                "signed_in_future",
                "header.signed_at_ms: later than the hub's clock allows",
                now,
                opened,
                notify,
                True,
            )
        if stored_at_ms is not None and header.signed_at_ms < stored_at_ms - self._replay_window_ms:
            age_s = (stored_at_ms - header.signed_at_ms) // 1000
            return Rejected(
                "replayed_or_stale",
                f"header.signed_at_ms: signed {age_s} s before it reached the hub's stream;"
                f" the replay window is {self._replay_window_ms // 1000} s",
                now,
                opened,
                notify,
                True,
            )
        # Every kind is routed by policy: a route list without "status" stops statuses too.
        for recipient in header.recipients:
            try:
                self._registry.check_route(header.sender, recipient, header.kind)
            except RegistryError as error:
                return Rejected(
                    error.code, f"header.recipients: {error.reason}", now, opened, notify, True
                )
        # A dossier act routed by the ledger (no recipient named) still needs the policy to
        # let its sender send that kind at all: the postal service cannot open a dossier.
        if not header.recipients and not self._registry.may_send(header.sender, header.kind):
            return Rejected(
                "route_not_allowed",
                f"header.sender: {header.sender} may not send {header.kind.value} messages",
                now,
                opened,
                notify,
                True,
            )
        return None


def _command(opened: Opened, facts: PayloadFacts, now: int) -> Command:
    header = opened.header
    if header.kind in (Kind.DOSSIER, Kind.POSTAL):
        assert facts.act is not None, "the codec reads every dossier payload into an act"
        return dossier_command(opened, facts.act, iso_ms(now))
    signed = {
        "received_at": iso_ms(now),
        "header_b64": base64.b64encode(opened.header_bytes).decode(),
        "signature_b64": base64.b64encode(opened.signature).decode(),
    }
    if header.kind is Kind.DOCUMENT:
        return RecordDocument(
            message_id=header.message_id,
            document_id=header.document_id,
            sender=header.sender,
            recipients=header.recipients,
            key_id=header.key_id,
            signed_at=iso_ms(header.signed_at_ms),
            payload_sha256=header.payload_sha256.hex(),
            subject=facts.subject,
            business_type=facts.business_type,
            refers_to=facts.refers_to,
            due_date=facts.due_date,
            **signed,
        )
    if header.kind is Kind.STATUS:
        return RecordStatus(
            message_id=header.message_id,
            document_id=header.document_id,
            reporter=header.sender,
            status_code=facts.status_code,
            description=facts.description,
            **signed,
        )
    return RecordDelivery(
        message_id=header.message_id,
        recipient=header.sender,
        items=tuple(
            DeliveredItem(document_id, message_id) for document_id, message_id in facts.delivered
        ),
        **signed,
    )
