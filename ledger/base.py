"""What every ledger aggregate shares: it remembers which message caused which event.

Exactly-once effect rests on this. Aggregate ids derive from business keys (document id,
dossier code, member code, request message id), so a redelivered message finds the same
aggregate, and the aggregate answers "have I already taken this message?" from its own
events, with no side table that could disagree with the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.errors import LedgerError


class MessageAggregate(Aggregate):
    """An aggregate whose every event names the message that caused it.

    Subclasses set `message_versions` in their creating `__init__` (version 1 is the
    creating event). The annotation hides from eventsourcing, which would otherwise read a
    class annotation as a constructor field.
    """

    if TYPE_CHECKING:
        message_versions: dict[str, int]

    def has_seen(self, message_id: str) -> bool:
        return message_id in self.message_versions

    def _took(self, message_id: str) -> None:
        """Call from an event handler: handlers run before the version moves on, so the
        event being applied has version `self.version + 1`. The first event of a message
        is the one its position points at."""
        self.message_versions.setdefault(message_id, self.version + 1)

    def view(self) -> dict[str, Any]:
        """The aggregate's state as primitives: what replay and tests compare."""
        raise NotImplementedError


class NotRecorded(LedgerError, LookupError):
    """No dossier, member or look-up with that key was ever recorded (documents keep their
    own `UnknownDocument`, which the CLI already maps to "not found")."""
