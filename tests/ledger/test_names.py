"""Aggregate ids are exactly `uuid.uuid5`'s: every id ever derived must stay the same."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from ledger.document import DOCUMENT_NAMESPACE, document_aggregate_id
from ledger.names import name_based_id
from ledger.refusal import REFUSAL_NAMESPACE, refusal_aggregate_id


@given(st.uuids(), st.text())
def test_the_same_ids_as_uuid5(namespace: uuid.UUID, name: str) -> None:
    made = name_based_id(namespace, name)
    assert made == uuid.uuid5(namespace, name)
    assert made.version == 5


def test_the_ledgers_ids_did_not_move() -> None:
    # Written down once: a change here would orphan every aggregate already recorded.
    assert uuid.UUID("9e4e5a4e-13c0-54b9-ab64-8b064dfb7f07") == DOCUMENT_NAMESPACE
    document_id = "6f2b3c1e-9d7a-4e5b-8c2d-1a3b5c7d9e0f"
    assert document_aggregate_id(document_id) == uuid.UUID("23d9101f-8a30-5d95-a13e-d45cd5145251")
    assert refusal_aggregate_id("m-1") == uuid.UUID("3be16d64-e3d2-560f-966c-374f939e0e92")
    assert refusal_aggregate_id("m-1") == uuid.uuid5(REFUSAL_NAMESPACE, "m-1")
