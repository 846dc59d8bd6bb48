"""The edXML status life cycle, enforced per recipient by the Document aggregate.

The legal moves are spelled out here as a table of their own (not imported from the code),
and every move outside it is tried and must be refused with nothing recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.commands import Recorded, Refused
from ledger.projections import Views
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.support import G15, G22, H49

LADDER_CODES = ("01", "02", "03", "04", "05", "06")
# Per recipient: what may follow what (None: nothing reported yet).
LEGAL: dict[str | None, set[str]] = {
    None: {"01", "02", "03"},
    "01": {"02", "03"},
    "03": {"02", "04", "05", "06"},
    "04": {"02", "05", "06"},
    "05": {"02", "06"},
    "02": set(),
    "06": set(),
}
# A legal way to reach each state.
PATH: dict[str | None, tuple[str, ...]] = {
    None: (),
    "01": ("01",),
    "03": ("01", "03"),
    "04": ("03", "04"),
    "05": ("03", "05"),
    "02": ("02",),
    "06": ("03", "06"),
}
ILLEGAL = [(state, code) for state in LEGAL for code in LADDER_CODES if code not in LEGAL[state]]
ALLOWED = [(state, code) for state in LEGAL for code in sorted(LEGAL[state])]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


class Steps:
    """Numbered messages about one document, so every test reads as a story."""

    def __init__(self, ledger: Ledger, document_id: str = "d1") -> None:
        self.ledger = ledger
        self.document_id = document_id
        self.n = itertools.count(1)
        outcome = ledger.record([b.document("m-send", document_id, recipients=(H49, G15))])[0]
        assert isinstance(outcome, Recorded)

    def status(self, code: str, reporter: str = H49) -> Recorded | Refused:
        n = next(self.n)
        description = "sai thẩm quyền" if code == "02" else ""
        outcome = self.ledger.record(
            [
                b.status(
                    f"s{n}",
                    self.document_id,
                    code,
                    n,
                    reporter=reporter,
                    description=description,
                )
            ]
        )[0]
        assert isinstance(outcome, Recorded | Refused)
        return outcome

    def ok(self, code: str, reporter: str = H49) -> Recorded:
        outcome = self.status(code, reporter)
        assert isinstance(outcome, Recorded), outcome
        return outcome

    def refused(self, code: str, reporter: str = H49, why: str = "illegal_transition") -> Refused:
        before = len(self.ledger.trace(self.document_id))
        outcome = self.status(code, reporter)
        assert isinstance(outcome, Refused), f"{code} from {reporter} was recorded"
        assert outcome.code == why, outcome
        assert len(self.ledger.trace(self.document_id)) == before, "a refusal recorded events"
        return outcome


def test_the_table_covers_every_state_and_code() -> None:
    assert len(ILLEGAL) + len(ALLOWED) == len(LEGAL) * len(LADDER_CODES) == 42
    assert ("03", "05") in ALLOWED and (None, "05") in ILLEGAL and ("01", "05") in ILLEGAL


@pytest.mark.parametrize(("state", "code"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_records_nothing(
    ledger: Ledger, state: str | None, code: str
) -> None:
    steps = Steps(ledger)
    for earlier in PATH[state]:
        steps.ok(earlier)
    refused = steps.refused(code)
    after = "nothing yet" if state is None else state
    assert refused.reason == f"status {code} cannot follow {after} for {H49}"
    # The other recipient's copy moves on its own: the same code may be legal there.
    if code in LEGAL[None]:
        steps.ok(code, reporter=G15)


@pytest.mark.parametrize(("state", "code"), ALLOWED)
def test_every_legal_transition_is_recorded_and_routed_to_the_sender(
    ledger: Ledger, state: str | None, code: str
) -> None:
    steps = Steps(ledger)
    for earlier in PATH[state]:
        steps.ok(earlier)
    recorded = steps.ok(code)
    assert recorded.route_to == (G22,)
    assert ledger.document("d1").statuses[H49] == code


@pytest.mark.parametrize("state", list(PATH))
@pytest.mark.parametrize("answer", ["15", "16"])
def test_answers_without_a_recall_revocation_or_update_are_refused(
    ledger: Ledger, state: str | None, answer: str
) -> None:
    steps = Steps(ledger)
    for earlier in PATH[state]:
        steps.ok(earlier)
    assert "none is open" in steps.refused(answer).reason


def test_a_recall_only_comes_from_the_sender(ledger: Ledger) -> None:
    steps = Steps(ledger)
    assert "only come from the sender" in steps.refused("13", H49, "status_not_allowed").reason


@pytest.mark.parametrize("code", [*LADDER_CODES, "15", "16"])
def test_the_sender_reports_nothing_but_a_recall(ledger: Ledger, code: str) -> None:
    Steps(ledger).refused(code, G22, "not_a_recipient")


def test_an_unknown_code_and_a_stranger_are_refused(ledger: Ledger) -> None:
    steps = Steps(ledger)
    steps.refused("07", H49, "unknown_status")
    steps.refused("01", "000.00.00.G01", "not_a_recipient")


def test_a_return_must_say_why(ledger: Ledger) -> None:
    Steps(ledger)
    outcome = ledger.record([b.status("s1", "d1", "02", 1, description="  ")])[0]
    assert isinstance(outcome, Refused) and outcome.code == "missing_field"
    assert outcome.reason.startswith("description: ")


@pytest.mark.parametrize("final", ["02", "06"])
def test_nothing_follows_a_final_status_but_a_recall(ledger: Ledger, final: str) -> None:
    steps = Steps(ledger)
    for earlier in PATH[final]:
        steps.ok(earlier)
    for code in LADDER_CODES:
        steps.refused(code)
    recall = steps.ok("13", G22)
    assert set(recall.route_to) == {H49, G15}
    steps.ok("15")


def test_a_recall_accepted_by_one_recipient_and_refused_by_another_is_recorded(
    ledger: Ledger,
) -> None:
    steps = Steps(ledger)
    steps.ok("01")
    steps.ok("03", G15)
    steps.ok("13", G22)
    steps.refused("13", G22)  # one recall at a time
    accepted = steps.ok("15", H49)
    refused = steps.ok("16", G15)
    assert accepted.route_to == refused.route_to == (G22,)
    trace = ledger.trace("d1")
    answers = [
        (e.fields["reporter"], e.fields["status_code"])
        for e in trace
        if e.event.endswith("StatusReported") and e.fields["status_code"] in {"15", "16"}
    ]
    assert answers == [(H49, "15"), (G15, "16")]
    document = ledger.document("d1")
    assert document.withdrawn == {H49} and not document.recalled
    assert document.view()["awaiting_answer"] == {}
    # H49's copy is withdrawn: nothing more from it, not even a second answer.
    for code in [*LADDER_CODES, "15", "16"]:
        steps.refused(code, H49)
    # G15 refused the recall: its copy goes on where it was.
    steps.refused("01", G15)
    steps.ok("05", G15)
    # A second recall asks only G15, whose copy is still live.
    assert steps.ok("13", G22).route_to == (H49, G15)
    steps.ok("15", G15)
    assert ledger.document("d1").recalled
    steps.refused("13", G22)


def test_answers_to_an_update_and_a_revocation(ledger: Ledger) -> None:
    steps = Steps(ledger)
    steps.ok("03")
    steps.refused("15")
    ledger.record([b.document("m-upd", "d2", 50, business_type=2, refers_to="d1")])
    assert ledger.document("d1").view()["awaiting_answer"] == {G15: "update", H49: "update"}
    steps.ok("15")  # agrees to the update: its copy carries on
    steps.ok("05")
    steps.ok("16", G15)
    steps.refused("16", G15)
    ledger.record([b.document("m-rev", "d3", 60, business_type=1, refers_to="d1")])
    steps.ok("15")  # agrees to the revocation: its copy is withdrawn
    steps.refused("06")
    steps.ok("16", G15)
    steps.refused("13", G22)  # revoked: nothing to recall


def test_the_inbox_view_calls_recalled_only_what_a_recall_took_back(ledger: Ledger) -> None:
    steps = Steps(ledger)
    ledger.record([b.document("m-upd", "d2", 50, business_type=2, refers_to="d1")])
    steps.ok("15")  # agrees to the update: not a recall
    views = Views(ledger)
    views.catch_up()
    assert {r.document_id: r.state for r in views.inbox(H49)} == {"d1": "sent", "d2": "sent"}
    steps.ok("13", G22)
    steps.ok("15")
    views.catch_up()
    assert {r.document_id: r.state for r in views.inbox(H49)}["d1"] == "recalled"


# -- any sequence at all ------------------------------------------------------------------------

MOVES = st.lists(
    st.tuples(st.sampled_from([H49, G15, G22]), st.sampled_from([*LADDER_CODES, "13", "15", "16"])),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(moves=MOVES)
def test_whatever_is_tried_only_legal_moves_are_recorded(
    tmp_path_factory: pytest.TempPathFactory, moves: list[tuple[str, str]]
) -> None:
    """A model of the rules, kept apart from the aggregate: every move the ledger records is
    legal by the model, every move it refuses is not, and nothing refused leaves a trace."""
    ledger = Ledger(SqliteStorage(tmp_path_factory.mktemp("l") / "ledger.sqlite3"))
    try:
        steps = Steps(ledger)
        state: dict[str, str | None] = {H49: None, G15: None}
        awaiting: set[str] = set()
        withdrawn: set[str] = set()
        for reporter, code in moves:
            if code == "13":
                live = [r for r in state if r not in withdrawn]
                legal = reporter == G22 and bool(live) and not awaiting & set(live)
            elif reporter == G22 or reporter in withdrawn:
                legal = False
            elif code in {"15", "16"}:
                legal = reporter in awaiting
            else:
                legal = code in LEGAL[state[reporter]]
            before = len(ledger.trace("d1"))
            outcome = steps.status(code, reporter)
            assert isinstance(outcome, Recorded) == legal, (reporter, code, outcome)
            assert len(ledger.trace("d1")) == before + (1 if legal else 0)
            if not legal:
                continue
            if code == "13":
                awaiting = {r for r in state if r not in withdrawn}
            elif code in {"15", "16"}:
                awaiting.discard(reporter)
                if code == "15":
                    withdrawn.add(reporter)
            else:
                state[reporter] = code
        document = ledger.document("d1")
        assert document.statuses == state and document.withdrawn == withdrawn
    finally:
        ledger.close()
