"""Document chains (revoke, update, replace), and the minimal Dossier and Lookup rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.commands import (
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    Recorded,
    RecordLookup,
    RecordLookupAnswer,
    Refused,
)
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.ledger.backends import at
from tests.support import G01, G15, H49


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


def _refused(outcome: object, code: str) -> Refused:
    assert isinstance(outcome, Refused) and outcome.code == code, outcome
    return outcome


def test_a_chain_of_updates_and_a_replacement_can_be_walked_both_ways(ledger: Ledger) -> None:
    ledger.record([b.document("m1", "d1")])
    ledger.record([b.document("m2", "d2", 1, business_type=2, refers_to="d1")])
    ledger.record([b.document("m3", "d3", 2, business_type=2, refers_to="d1")])
    ledger.record([b.document("m4", "d4", 3, business_type=3, refers_to="d1")])
    first = ledger.document("d1")
    assert first.updated_by == ["d2", "d3"] and first.replaced_by == "d4"
    assert [ledger.document(d).refers_to for d in ("d2", "d3", "d4")] == ["d1"] * 3
    trace = [e.event.split(".")[-1] for e in ledger.trace("d1")]
    assert trace[-3:] == ["Updated", "Updated", "Replaced"]
    assert [e.fields["by_document_id"] for e in ledger.trace("d1")[-3:]] == ["d2", "d3", "d4"]


def test_a_chain_never_forks_and_only_the_sender_may_extend_it(ledger: Ledger) -> None:
    ledger.record([b.document("m1", "d1")])
    stranger = b.document(
        "m2", "d2", 1, sender=G15, recipients=(H49,), business_type=1, refers_to="d1"
    )
    reason = _refused(ledger.record([stranger])[0], "not_the_sender").reason
    assert reason.startswith("refers_to: ")
    ledger.record([b.document("m3", "d3", 2, business_type=3, refers_to="d1")])
    _refused(
        ledger.record([b.document("m4", "d4", 3, business_type=3, refers_to="d1")])[0],
        "document_replaced",
    )
    ledger.record([b.document("m5", "d5", 4, business_type=1, refers_to="d3")])
    _refused(
        ledger.record([b.document("m6", "d6", 5, business_type=2, refers_to="d3")])[0],
        "document_revoked",
    )
    # A refused reference records nothing at all: not the new document either.
    assert {e.fields.get("document_id") for e in ledger.trace("d3")} >= {"d3"}
    for missing in ("d2", "d4", "d6"):
        with pytest.raises(LookupError):
            ledger.document(missing)


@pytest.mark.parametrize(
    ("business_type", "refers_to", "code"),
    [
        (1, "", "invalid_reference"),
        (2, "d1", "invalid_reference"),
        (3, "dX", "unknown_document"),
        (7, "", "invalid_business_type"),
    ],
)
def test_bad_references_are_refused(
    ledger: Ledger, business_type: int, refers_to: str, code: str
) -> None:
    (outcome,) = ledger.record(
        [b.document("m1", "d1", business_type=business_type, refers_to=refers_to)]
    )
    _refused(outcome, code)
    assert ledger.size() == 0


DOSSIER = "000.00.14.H20-200703-0002"


def test_a_dossier_moves_between_agencies_and_its_holder_changes_its_status(
    ledger: Ledger,
) -> None:
    received = RecordDossierReceived("x1", DOSSIER, "1.011442.000.00.00.H38", H49, 3, "", at(0))
    assert isinstance(ledger.record([received, received])[1], Recorded)
    _refused(
        ledger.record([RecordDossierStatus("x2", DOSSIER, 4, G15, "", at(1))])[0], "not_the_holder"
    )
    ledger.record([RecordDossierTransfer("x3", DOSSIER, H49, G15, "liên thông", at(2))])
    _refused(
        ledger.record([RecordDossierStatus("x4", DOSSIER, 10, G15, "đã trả", at(3))])[0],
        "illegal_transition",  # a result is returned once the dossier is finished (9)
    )
    ledger.record([RecordDossierStatus("x4b", DOSSIER, 9, G15, "xong", at(3))])
    ledger.record([RecordDossierStatus("x4c", DOSSIER, 10, G15, "đã trả", at(3))])
    _refused(
        ledger.record([RecordDossierStatus("x5", DOSSIER, 4, G15, "", at(4))])[0],
        "illegal_transition",
    )
    assert ledger.dossier(DOSSIER).view()["transfers"] == [[H49, G15]]
    newer = RecordDossierReceived("y1", "G09.20-20260609-0092637", "p", G15, 2, "", at(5))
    assert isinstance(ledger.record([newer])[0], Recorded)
    bad = RecordDossierReceived("y2", "H20-2026", "p", G15, 2, "", at(5))
    assert _refused(ledger.record([bad])[0], "invalid_dossier_code").reason.startswith(
        "dossier_code: "
    )


def test_a_lookup_never_holds_an_identification_number_in_clear(ledger: Ledger) -> None:
    law = "Luật Căn cước 2023"
    clear = RecordLookup("l1", G15, "cán bộ A", "xác minh", "087084000999", at(0), law)
    _refused(ledger.record([clear])[0], "invalid_subject_digest")
    no_purpose = RecordLookup("l2", G15, "cán bộ A", " ", "ab" * 32, at(0))
    _refused(ledger.record([no_purpose])[0], "missing_field")
    ledger.record([RecordLookup("l3", G15, "cán bộ A", "xác minh", "ab" * 32, at(0), law)])
    ledger.record([RecordLookupAnswer("a1", "l3", G01, True, at(1))])
    _refused(
        ledger.record([RecordLookupAnswer("a2", "l3", G01, False, at(2))])[0], "already_answered"
    )
    assert ledger.lookup("l3").view()["matched"] is True
