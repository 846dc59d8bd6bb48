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


def dossier_received_v1_v2(state: dict[str, Any]) -> None:
    """Dossier.Received v2 (the dossier work) adds what the one-stop system said about the
    dossier: owner, summary, processing time in working days, its own time of receipt, the
    first status, submitted documents (name and SHA-256) and fees. v1 recorded none of it;
    the old aggregate started every dossier at status 1."""
    state.setdefault("owner", "")
    state.setdefault("summary", "")
    state.setdefault("working_days", 0)
    state.setdefault("at", state.get("received_at", ""))
    state.setdefault("status", 1)
    state.setdefault("documents", [])
    state.setdefault("fees", 0)
    state.setdefault("header_b64", "")
    state.setdefault("signature_b64", "")


def dossier_at_v1_v2(state: dict[str, Any]) -> None:
    """Dossier.Transferred and Dossier.StatusChanged v2 carry `at`, the agency's own time of
    the act (ThoiDiemXuLy), which due dates are judged on; v1 had only the hub's receive
    time, the best stand-in. Nor did they keep the signed header (header_b64 "")."""
    state.setdefault("at", state.get("received_at", ""))
    state.setdefault("header_b64", "")
    state.setdefault("signature_b64", "")
