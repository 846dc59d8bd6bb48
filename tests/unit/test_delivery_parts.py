"""How an acknowledgement's documents are split into signed delivery proofs."""

from __future__ import annotations

from adapters.document.gateway import delivery_parts
from adapters.document.mailbox import InboxRow
from adapters.envelope import MAX_DELIVERY_ITEMS
from tests.support import G22


def _row(i: int, document_id: str | None = None) -> InboxRow:
    return InboxRow(i, f"m{i}", "document", document_id or f"d{i}", G22, i, 0, b"", False)


def test_an_acknowledgement_within_the_limit_is_one_proof_in_order() -> None:
    rows = [_row(i) for i in range(5)]
    assert delivery_parts(rows) == [rows]


def test_more_documents_than_a_proof_may_list_take_several_proofs() -> None:
    rows = [_row(i) for i in range(2 * MAX_DELIVERY_ITEMS + 1)]
    parts = delivery_parts(rows)
    assert [len(p) for p in parts] == [MAX_DELIVERY_ITEMS, MAX_DELIVERY_ITEMS, 1]
    assert [r for p in parts for r in p] == rows


def test_a_document_listed_again_starts_the_next_proof() -> None:
    # Two messages about one document (the hub records a document once, so this is a
    # defence: a proof lists each document once, and the hub refuses one that does not).
    rows = [_row(1), _row(2, "same"), _row(3), _row(4, "same")]
    assert delivery_parts(rows) == [rows[:3], rows[3:]]


def test_nothing_to_prove_is_no_proof() -> None:
    assert delivery_parts([]) == []
