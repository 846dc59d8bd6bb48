"""Schema evolution: how events recorded by older code are read by today's code.

Stored events are never rewritten: the ledger is append-only and the Merkle log commits to
their exact bytes. Instead every event class carries a version (eventsourcing's
`class_version`, stored in the event's state whenever it is above 1; absent means 1), and
reading an older event runs it through `upcast_vN_vN+1` steps, one version at a time, before
the event object is built. The steps live here, as plain functions over the stored state, so
they can be tested on their own with the literal bytes an older hub wrote.

Rules for a new version: add fields with a default that states what the old event meant
("" = not known then); never reuse a field name with another meaning; never remove a field
an auditor may still read (keep it, stop setting it).
"""

from __future__ import annotations

from typing import Any


def refused_v1_v2(state: dict[str, Any]) -> None:
    """RefusedMessage.Refused v2 names the document the refused message was about, so a
    refusal shows in that document's history and a message accepted once is never refused
    later. v1 (the walking skeleton) did not record it: "" means "not known"."""
    state.setdefault("document_id", "")
