"""Upcasters as plain functions over stored state (the stored-event path is in the contract
suite, on both backends)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ledger import upcasting
from ledger.dossier import Dossier
from ledger.refusal import RefusedMessage


def test_a_v1_refusal_gains_an_unknown_document_id_and_nothing_else() -> None:
    state: dict[str, Any] = {"message_id": "m", "reason_code": "bad_signature"}
    upcasting.refused_v1_v2(state)
    assert state == {"message_id": "m", "reason_code": "bad_signature", "document_id": ""}


def test_the_refusal_event_declares_its_version_and_the_step_to_reach_it() -> None:
    event_class = RefusedMessage.Refused
    assert event_class.class_version == 2
    assert event_class.upcast_v1_v2 is upcasting.refused_v1_v2
    assert "document_id" in {f.name for f in dataclasses.fields(event_class)}


def test_v1_dossier_events_gain_what_was_not_known_then() -> None:
    received: dict[str, Any] = {"code": "c", "received_at": "2026-06-09T01:00:00+00:00"}
    upcasting.dossier_received_v1_v2(received)
    assert received == {
        "code": "c",
        "received_at": "2026-06-09T01:00:00+00:00",
        "owner": "",
        "summary": "",
        "working_days": 0,
        "at": "2026-06-09T01:00:00+00:00",
        "status": 1,
        "documents": [],
        "fees": 0,
        "header_b64": "",
        "signature_b64": "",
    }
    changed: dict[str, Any] = {"status": 4, "received_at": "t"}
    upcasting.dossier_at_v1_v2(changed)
    assert changed == {
        "status": 4,
        "received_at": "t",
        "at": "t",
        "header_b64": "",
        "signature_b64": "",
    }
    for event_class in (Dossier.Received, Dossier.Transferred, Dossier.StatusChanged):
        assert event_class.class_version == 2
        assert {"at", "header_b64"} <= {f.name for f in dataclasses.fields(event_class)}
