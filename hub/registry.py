"""Who the members are, which keys speak for them and when, and who may send what to whom.

A signature is judged with the key that was valid at the message's signing time: a key
counts from `valid_from_ms`, stops at `valid_until_ms` (retired after an overlap), and a key
revoked from an instant speaks for nobody from then on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hub.errors import HubError
from hub.model import Kind

# Route answers a registry keeps (only members reach `check_route`, so keys are bounded by
# members squared; this bounds them for a national registry too).
ROUTE_ANSWERS_KEPT = 100_000


class RegistryError(HubError):
    """A member, key or route check failed; `code` is stable for machines."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class MemberKey:
    key_id: str
    public_key: bytes
    valid_from_ms: int = 0
    valid_until_ms: int | None = None
    revoked_from_ms: int | None = None

    def valid_at(self, at_ms: int) -> bool:
        if at_ms < self.valid_from_ms:
            return False
        if self.valid_until_ms is not None and at_ms >= self.valid_until_ms:
            return False
        return self.revoked_from_ms is None or at_ms < self.revoked_from_ms


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    kind: str
    keys: tuple[MemberKey, ...] = ()


@dataclass(frozen=True)
class Route:
    """Members matching `senders` may send `kinds` to members matching `recipients`.

    Patterns are shell-style globs over agency codes (`*`, `000.00.00.G*`).
    """

    senders: str
    recipients: str
    kinds: frozenset[Kind] = field(default_factory=lambda: frozenset(Kind))
    # Population look-ups (issue 7): attributes the senders may ask the recipients for,
    # besides the yes/no answer every look-up route allows.
    attributes: frozenset[str] = frozenset()

    def allows(self, sender: str, recipient: str, kind: Kind) -> bool:
        return (
            kind in self.kinds
            and fnmatch.fnmatchcase(sender, self.senders)
            and fnmatch.fnmatchcase(recipient, self.recipients)
        )


class Registry:
    """Read-only view the hub judges messages with."""

    def __init__(self, members: Iterable[Member], routes: Iterable[Route]) -> None:
        self._members: Mapping[str, Member] = {m.code: m for m in members}
        self._routes = tuple(routes)
        # (sender, recipient, kind) -> allowed. Matching every route's globs for every
        # message was a twentieth of the hub's time; a registry never changes (a new one
        # replaces it), so each answer holds for its lifetime.
        self._allowed: dict[tuple[str, str, Kind], bool] = {}

    @property
    def members(self) -> tuple[Member, ...]:
        return tuple(self._members.values())

    def member(self, code: str) -> Member:
        try:
            return self._members[code]
        except KeyError:
            raise RegistryError("unknown_member", f"{code} is not a registered member") from None

    def is_member(self, code: str) -> bool:
        return code in self._members

    def key(self, code: str, key_id: str, at_ms: int) -> MemberKey:
        member = self.member(code)
        for key in member.keys:
            if key.key_id == key_id:
                if key.revoked_from_ms is not None and at_ms >= key.revoked_from_ms:
                    raise RegistryError(
                        "key_revoked", f"key {key_id} of {code} is revoked for messages signed then"
                    )
                if not key.valid_at(at_ms):
                    raise RegistryError(
                        "key_not_valid", f"key {key_id} of {code} was not valid at the signing time"
                    )
                return key
        raise RegistryError("unknown_key", f"{code} has no key {key_id}")

    def may_send(self, sender: str, kind: Kind) -> bool:
        """Whether some route lets `sender` send `kind` messages to anyone registered."""
        return any(
            route.allows(sender, member, kind)
            for route in self._routes
            for member in self._members
            if member != sender
        )

    def check_route(self, sender: str, recipient: str, kind: Kind) -> None:
        self.member(recipient)
        if not self._allows(sender, recipient, kind):
            raise RegistryError(
                "route_not_allowed", f"{sender} may not send {kind.value} messages to {recipient}"
            )

    def _allows(self, sender: str, recipient: str, kind: Kind) -> bool:
        key = (sender, recipient, kind)
        allowed = self._allowed.get(key)
        if allowed is None:
            allowed = any(route.allows(sender, recipient, kind) for route in self._routes)
            if len(self._allowed) >= ROUTE_ANSWERS_KEPT:
                self._allowed.clear()
            self._allowed[key] = allowed
        return allowed

    def allowed_attributes(self, sender: str, recipient: str) -> frozenset[str]:
        """What `sender` may ask the population member `recipient` to disclose."""
        return frozenset(
            name
            for route in self._routes
            if route.allows(sender, recipient, Kind.LOOKUP)
            for name in route.attributes
        )
