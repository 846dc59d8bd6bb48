"""The Member aggregate: the registry's history (who is a member, which keys spoke for it
and when, where it may send), so that any signature in the ledger can be judged later
against the registry as it stood when the message arrived.

The hub's registry is configured; `plan_sync` turns "the configuration now says this" into
the few commands that bring the ledger's history up to date, with message ids derived from a
change id, so applying the same configuration twice records nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.base import MessageAggregate
from ledger.commands import (
    AddMemberKey,
    Command,
    GrantRoute,
    RegisterMember,
    RetireMemberKey,
    RevokeMemberKey,
    WithdrawRoute,
)
from ledger.errors import RuleViolation
from ledger.names import name_based_id

MEMBER_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/member")


def member_aggregate_id(code: str) -> UUID:
    return name_based_id(MEMBER_NAMESPACE, code)


def route_key(recipients: str, kinds: Sequence[str]) -> str:
    """One route as a stable string: the pattern, then the kinds in order."""
    return f"{recipients} {','.join(sorted(kinds))}"


class Member(MessageAggregate):
    class Registered(Aggregate.Created):
        code: str
        name: str
        kind: str
        message_id: str
        received_at: str

    class KeyAdded(Aggregate.Event):
        code: str
        key_id: str
        public_key_b64: str
        valid_from: str
        valid_until: str
        message_id: str
        received_at: str

    class KeyRevoked(Aggregate.Event):
        code: str
        key_id: str
        revoked_from: str
        reason: str
        message_id: str
        received_at: str

    class KeyRetired(Aggregate.Event):
        """After a rotation's overlap the old key stops speaking at `valid_until`."""

        code: str
        key_id: str
        valid_until: str
        message_id: str
        received_at: str

    class RouteGranted(Aggregate.Event):
        code: str
        recipients: str
        kinds: list[str]
        message_id: str
        received_at: str

    class RouteWithdrawn(Aggregate.Event):
        code: str
        recipients: str
        kinds: list[str]
        message_id: str
        received_at: str

    @staticmethod
    def create_id(code: str) -> UUID:
        return member_aggregate_id(code)

    @event(Registered)
    def __init__(
        self, *, code: str, name: str, kind: str, message_id: str, received_at: str
    ) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        # key id -> {public_key_b64, valid_from, valid_until, revoked_from, reason}
        self.keys: dict[str, dict[str, str]] = {}
        self.routes: dict[str, list[str]] = {}
        self.message_versions: dict[str, int] = {message_id: 1}

    def view(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "version": self.version,
            "name": self.name,
            "kind": self.kind,
            "keys": {k: dict(v) for k, v in sorted(self.keys.items())},
            "routes": [
                {"recipients": self.routes[key][0], "kinds": self.routes[key][1:]}
                for key in sorted(self.routes)
            ],
        }

    # -- keys -----------------------------------------------------------------------------

    def add_key(
        self,
        *,
        key_id: str,
        public_key_b64: str,
        valid_from: str,
        valid_until: str,
        message_id: str,
        received_at: str,
    ) -> None:
        if not key_id:
            raise RuleViolation("missing_field", "key_id: empty")
        known = self.keys.get(key_id)
        if known is not None:
            raise RuleViolation(
                "duplicate_key",
                f"key_id: {self.code} already has key {key_id}"
                + (" (revoked)" if known["revoked_from"] else ""),
            )
        self._key_added(
            code=self.code,
            key_id=key_id,
            public_key_b64=public_key_b64,
            valid_from=valid_from,
            valid_until=valid_until,
            message_id=message_id,
            received_at=received_at,
        )

    @event(KeyAdded)
    def _key_added(
        self,
        code: str,
        key_id: str,
        public_key_b64: str,
        valid_from: str,
        valid_until: str,
        message_id: str,
        received_at: str,
    ) -> None:
        self._took(message_id)
        self.keys[key_id] = {
            "public_key_b64": public_key_b64,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "revoked_from": "",
            "reason": "",
        }

    def revoke_key(
        self, *, key_id: str, revoked_from: str, reason: str, message_id: str, received_at: str
    ) -> None:
        known = self.keys.get(key_id)
        if known is None:
            raise RuleViolation("unknown_key", f"key_id: {self.code} has no key {key_id}")
        if known["revoked_from"]:
            raise RuleViolation(
                "key_revoked", f"key_id: key {key_id} of {self.code} is already revoked"
            )
        self._key_revoked(
            code=self.code,
            key_id=key_id,
            revoked_from=revoked_from,
            reason=reason,
            message_id=message_id,
            received_at=received_at,
        )

    @event(KeyRevoked)
    def _key_revoked(
        self,
        code: str,
        key_id: str,
        revoked_from: str,
        reason: str,
        message_id: str,
        received_at: str,
    ) -> None:
        self._took(message_id)
        self.keys[key_id] = {**self.keys[key_id], "revoked_from": revoked_from, "reason": reason}

    def retire_key(
        self, *, key_id: str, valid_until: str, message_id: str, received_at: str
    ) -> None:
        """Set when a key stops being valid (the end of a rotation's overlap).

        Retirement only ever shortens a key's life: a key cannot be brought back by moving
        its end later, and a revoked key stays revoked.
        """
        known = self.keys.get(key_id)
        if known is None:
            raise RuleViolation("unknown_key", f"key_id: {self.code} has no key {key_id}")
        if known["revoked_from"]:
            raise RuleViolation("key_revoked", f"key_id: key {key_id} of {self.code} is revoked")
        if not valid_until:
            raise RuleViolation("missing_field", "valid_until: empty")
        if valid_until < known["valid_from"]:
            raise RuleViolation(
                "invalid_validity",
                f"valid_until: {valid_until} is before the key's valid_from {known['valid_from']}",
            )
        if known["valid_until"] and known["valid_until"] <= valid_until:
            raise RuleViolation(
                "already_retired",
                f"valid_until: key {key_id} of {self.code} already ends at {known['valid_until']}",
            )
        self._key_retired(
            code=self.code,
            key_id=key_id,
            valid_until=valid_until,
            message_id=message_id,
            received_at=received_at,
        )

    @event(KeyRetired)
    def _key_retired(
        self, code: str, key_id: str, valid_until: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.keys[key_id] = {**self.keys[key_id], "valid_until": valid_until}

    # -- routes ---------------------------------------------------------------------------

    def grant_route(
        self, *, recipients: str, kinds: Sequence[str], message_id: str, received_at: str
    ) -> None:
        if not recipients or not kinds:
            raise RuleViolation("missing_field", "recipients/kinds: a route needs both")
        if route_key(recipients, kinds) in self.routes:
            raise RuleViolation(
                "duplicate_route", f"recipients: {self.code} already has this route"
            )
        self._route_granted(
            code=self.code,
            recipients=recipients,
            kinds=sorted(kinds),
            message_id=message_id,
            received_at=received_at,
        )

    @event(RouteGranted)
    def _route_granted(
        self, code: str, recipients: str, kinds: list[str], message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.routes[route_key(recipients, kinds)] = [recipients, *sorted(kinds)]

    def withdraw_route(
        self, *, recipients: str, kinds: Sequence[str], message_id: str, received_at: str
    ) -> None:
        if route_key(recipients, kinds) not in self.routes:
            raise RuleViolation(
                "unknown_route", f"recipients: {self.code} has no route to {recipients}"
            )
        self._route_withdrawn(
            code=self.code,
            recipients=recipients,
            kinds=sorted(kinds),
            message_id=message_id,
            received_at=received_at,
        )

    @event(RouteWithdrawn)
    def _route_withdrawn(
        self, code: str, recipients: str, kinds: list[str], message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.routes.pop(route_key(recipients, kinds), None)


# -- bringing the ledger in line with the configured registry -------------------------------


@dataclass(frozen=True)
class KeySpec:
    key_id: str
    public_key_b64: str
    valid_from: str = ""
    valid_until: str = ""
    revoked_from: str = ""


@dataclass(frozen=True)
class RouteSpec:
    recipients: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class MemberSpec:
    """A member as the configuration describes it now."""

    code: str
    name: str
    kind: str
    keys: tuple[KeySpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()


def plan_sync(
    current: Member | None, spec: MemberSpec, *, change_id: str, received_at: str
) -> list[Command]:
    """The commands that make the ledger's `current` member match `spec`.

    Keys and routes the configuration no longer lists are revoked or withdrawn (never
    deleted: the history keeps them); a revoked key stays revoked. Name and kind are set at
    registration only. Message ids are `<change_id>/<code>@<version>/<what>`: the same
    change applied twice from the same state (a restart, two hub processes) is recorded
    once, and going back to an earlier configuration later is a new change, not a replay.
    """
    prefix = f"{change_id}/{spec.code}@{current.version if current is not None else 0}"
    commands: list[Command] = []
    if current is None:
        commands.append(
            RegisterMember(f"{prefix}/registered", spec.code, spec.name, spec.kind, received_at)
        )
    keys = current.keys if current is not None else {}
    for key in spec.keys:
        if key.key_id not in keys:
            commands.append(
                AddMemberKey(
                    f"{prefix}/key+/{key.key_id}",
                    spec.code,
                    key.key_id,
                    key.public_key_b64,
                    key.valid_from,
                    key.valid_until,
                    received_at,
                )
            )
        known = keys.get(key.key_id)
        if (
            known is not None
            and key.valid_until
            and not known["revoked_from"]
            and not key.revoked_from
            and (not known["valid_until"] or key.valid_until < known["valid_until"])
        ):
            commands.append(
                RetireMemberKey(
                    f"{prefix}/key~/{key.key_id}",
                    spec.code,
                    key.key_id,
                    key.valid_until,
                    received_at,
                )
            )
        if key.revoked_from and not keys.get(key.key_id, {}).get("revoked_from"):
            commands.append(
                RevokeMemberKey(
                    f"{prefix}/key-/{key.key_id}",
                    spec.code,
                    key.key_id,
                    key.revoked_from,
                    "revoked in configuration",
                    received_at,
                )
            )
    wanted_keys = {k.key_id for k in spec.keys}
    for key_id, known in sorted(keys.items()):
        if key_id not in wanted_keys and not known["revoked_from"]:
            commands.append(
                RevokeMemberKey(
                    f"{prefix}/key-/{key_id}",
                    spec.code,
                    key_id,
                    received_at,
                    "removed from configuration",
                    received_at,
                )
            )
    routes = current.routes if current is not None else {}
    wanted_routes = {route_key(r.recipients, r.kinds): r for r in spec.routes}
    for name, route in sorted(wanted_routes.items()):
        if name not in routes:
            commands.append(
                GrantRoute(
                    f"{prefix}/route+/{name}",
                    spec.code,
                    route.recipients,
                    tuple(sorted(route.kinds)),
                    received_at,
                )
            )
    for name, (recipients, *kinds) in sorted(routes.items()):
        if name not in wanted_routes:
            commands.append(
                WithdrawRoute(
                    f"{prefix}/route-/{name}", spec.code, recipients, tuple(kinds), received_at
                )
            )
    return commands
