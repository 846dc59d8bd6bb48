"""The ledger feed cut into messages: deterministic ids, ledger order, a size JetStream
takes."""

from __future__ import annotations

import json

import pytest

from hub import service
from hub.batching import chunks
from hub.service import feed_publications
from ledger.commands import LedgerEntry

TOPIC = "ledger.document:Document.Sent"


def _entry(position: int, state: bytes = b"{}", topic: str = TOPIC) -> LedgerEntry:
    return LedgerEntry(position, f"doc-{position}", 1, topic, state)


def _positions(data: bytes) -> list[int]:
    return [json.loads(line)["position"] for line in data.split(b"\n")]


def test_chunks_keeps_order_and_cuts_at_the_budget() -> None:
    assert chunks([3, 3, 3, 1, 5], lambda n: n, 6) == [[3, 3], [3, 1], [5]]


def test_chunks_gives_an_item_bigger_than_the_budget_a_run_of_its_own() -> None:
    assert chunks([1, 9, 1], lambda n: n, 4) == [[1], [9], [1]]
    assert chunks([], lambda n: n, 4) == []


def test_new_events_of_one_kind_share_a_message_with_an_id_derived_from_their_positions() -> None:
    entries = [_entry(p) for p in (4, 5, 6)]
    (publication,) = feed_publications(entries)
    assert _positions(publication.data) == [4, 5, 6]
    assert publication.items == 3
    assert publication.msg_id.startswith("ledger:4+3:")
    assert feed_publications(entries)[0].msg_id == publication.msg_id
    assert feed_publications(entries[:2])[0].msg_id != publication.msg_id


def test_a_big_batch_is_cut_into_messages_under_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "FEED_MESSAGE_BYTES", 1000)
    state = json.dumps({"header_b64": "x" * 300}).encode()
    entries = [_entry(p, state) for p in range(1, 11)]
    publications = feed_publications(entries)
    assert len(publications) > 1
    assert all(len(p.data) <= 1000 for p in publications)
    assert [n for p in publications for n in _positions(p.data)] == list(range(1, 11))
    assert len({p.msg_id for p in publications}) == len(publications)
    assert sum(p.items for p in publications) == 10


def test_chunks_caps_the_items_of_a_run_when_asked() -> None:
    assert chunks([1, 1, 1, 1, 1], lambda n: n, 100, 2) == [[1, 1], [1, 1], [1]]
