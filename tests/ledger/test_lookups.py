"""The Lookup aggregate's rules (issue 7), and the access report read from the ledger."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.access_report import access_report
from ledger.application import Ledger
from ledger.commands import Recorded, RecordLookup, RecordLookupAnswer, Refused
from tests.ledger.backends import at
from tests.support import G01, G15, G22, H49

ALICE, BOB = "a" * 64, "b" * 64
LAW = "Luật Căn cước 2023"


@pytest.fixture
def ledger(open_ledger: Callable[[], Ledger]) -> Ledger:
    """On SQLite and on PostgreSQL (tests/ledger/conftest.py)."""
    return open_ledger()


def ask(
    message_id: str, requester: str = H49, subject: str = ALICE, **changes: object
) -> RecordLookup:
    fields: dict[str, object] = {
        "message_id": message_id,
        "requester": requester,
        "officer": "cán bộ A",
        "purpose": "xác minh hồ sơ",
        "subject_digest": subject,
        "received_at": at(0),
        "legal_basis": LAW,
        "responder": G01,
        "attributes": ("sex", "place_of_residence"),
    }
    fields.update(changes)
    return RecordLookup(**fields)  # type: ignore[arg-type]


def answer(message_id: str, request: str, **changes: object) -> RecordLookupAnswer:
    fields: dict[str, object] = {
        "message_id": message_id,
        "request_message_id": request,
        "answered_by": G01,
        "matched": True,
        "received_at": at(1),
        "subject_digest": ALICE,
        "disclosed": ("sex",),
        "sealed_attributes": "v1.AAAA",
    }
    fields.update(changes)
    return RecordLookupAnswer(**fields)  # type: ignore[arg-type]


def _refused(outcome: object, code: str) -> None:
    assert isinstance(outcome, Refused) and outcome.code == code, outcome


def test_requests_are_routed_to_the_register_and_answers_back_to_the_asker(ledger: Ledger) -> None:
    (request,) = ledger.record([ask("l1")])
    assert isinstance(request, Recorded) and request.route_to == (G01,)
    (reply,) = ledger.record([answer("a1", "l1")])
    assert isinstance(reply, Recorded) and reply.route_to == (H49,)
    # Redelivered: recognised, same position, routed to the same member again.
    (again,) = ledger.record([answer("a1", "l1")])
    assert isinstance(again, Recorded) and again.duplicate and again.route_to == (H49,)
    assert again.position == reply.position
    view = ledger.lookup("l1").view()
    assert (view["matched"], view["disclosed"], view["legal_basis"]) == (True, ["sex"], LAW)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"legal_basis": " "}, "missing_field"),
        ({"purpose": ""}, "missing_field"),
        ({"subject_digest": "087084000999"}, "invalid_subject_digest"),
        ({"subject_digest": "A" * 64}, "invalid_subject_digest"),
    ],
)
def test_a_request_without_purpose_law_or_pseudonym_is_refused(
    ledger: Ledger, changes: dict[str, object], code: str
) -> None:
    rest = dict(changes)  # the parameters are shared by both backends' runs: never mutate
    fields = {"subject": rest.pop("subject_digest")} if "subject_digest" in rest else {}
    _refused(ledger.record([ask("l1", **fields, **rest)])[0], code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"answered_by": G22}, "not_the_responder"),
        ({"subject_digest": BOB}, "subject_mismatch"),
        ({"matched": False}, "disclosed_without_match"),
        ({"disclosed": ("place_of_birth",)}, "attribute_not_requested"),
    ],
)
def test_an_answer_must_come_from_the_register_asked_about_the_same_citizen(
    ledger: Ledger, changes: dict[str, object], code: str
) -> None:
    ledger.record([ask("l1")])
    _refused(ledger.record([answer("a1", "l1", **changes)])[0], code)
    _refused(ledger.record([answer("a2", "nobody")])[0], "unknown_lookup")
    assert ledger.lookup("l1").view()["answered_by"] == ""


def test_access_report_lists_one_citizens_lookups_in_order(ledger: Ledger) -> None:
    ledger.record([ask("l1"), ask("l2", requester=G15, subject=BOB), ask("l3", requester=G22)])
    ledger.record(
        [answer("a1", "l1"), answer("a3", "l3", matched=False, disclosed=(), sealed_attributes="")]
    )
    ledger.record([ask("l4", attributes=())])
    report = access_report(ledger, ALICE)
    assert [(e.lookup_id, e.requester, e.outcome) for e in report] == [
        ("l1", H49, "matched"),
        ("l3", G22, "not matched"),
        ("l4", H49, "no answer"),
    ]
    assert report[0].disclosed == ("sex",) and report[0].sealed_attributes == "v1.AAAA"
    assert report[0].legal_basis == LAW and report[0].answer_position > report[0].position
    assert [e.lookup_id for e in access_report(ledger, BOB)] == ["l2"]
    assert access_report(ledger, "c" * 64) == []


def test_a_refused_lookup_stays_on_the_citizens_record_and_is_never_routed(
    ledger: Ledger,
) -> None:
    refused = ask("l1", requester=G15, refused_code="route_not_allowed", refused_reason="no")
    (outcome,) = ledger.record([refused])
    assert isinstance(outcome, Recorded) and outcome.route_to == ()
    assert len(outcome.entries) == 2  # Requested, Refused
    (again,) = ledger.record([refused])
    assert isinstance(again, Recorded) and again.duplicate and again.route_to == ()
    # Redelivered after the policy changed: still never routed.
    (changed,) = ledger.record([ask("l1", requester=G15)])
    assert isinstance(changed, Recorded) and changed.route_to == ()
    _refused(ledger.record([answer("a1", "l1")])[0], "lookup_refused")
    (entry,) = access_report(ledger, ALICE)
    assert (entry.requester, entry.outcome, entry.refused_reason) == (
        G15,
        "refused",
        "route_not_allowed: no",
    )
