"""The adapter's durable mailbox: idempotent on message ids, ordered, and kept across restarts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.document.mailbox import Mailbox, Outbound
from tests.support import G15, G22, H49

DOC = "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "adapter" / "mailbox.sqlite3"


@pytest.fixture
def mailbox(path: Path) -> Iterator[Mailbox]:
    box = Mailbox(path)
    try:
        yield box
    finally:
        box.close()


def _receive(box: Mailbox, message_id: str, **overrides: Any) -> bool:
    fields: dict[str, Any] = {
        "message_id": message_id,
        "kind": "document",
        "document_id": DOC,
        "sender": G22,
        "ledger_position": 1,
        "received_at_ms": 1000,
        "routed": b"routed:" + message_id.encode(),
    }
    fields.update(overrides)
    return box.store_received(**fields)


def _send(box: Mailbox, message_id: str, created_at_ms: int = 1000, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "message_id": message_id,
        "document_id": DOC,
        "kind": "document",
        "recipients": (H49, G15),
        "envelope": b"envelope:" + message_id.encode(),
        "payload": b"payload",
        "created_at_ms": created_at_ms,
    }
    fields.update(overrides)
    box.store_sent(**fields)


def _inbox_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM inbox").fetchone()[0])


# -- inbox --------------------------------------------------------------------------------


def test_the_parent_directory_is_created(path: Path, mailbox: Mailbox) -> None:
    assert path.is_file()


def test_store_received_keeps_every_field(mailbox: Mailbox) -> None:
    assert _receive(mailbox, "m1", kind="status", sender=H49, ledger_position=7, received_at_ms=9)
    (row,) = mailbox.inbox()
    assert row.delivery_id == 1
    assert (row.message_id, row.kind, row.document_id, row.sender) == ("m1", "status", DOC, H49)
    assert (row.ledger_position, row.received_at_ms, row.routed) == (7, 9, b"routed:m1")
    assert not row.acknowledged


def test_store_received_is_idempotent_on_the_message_id(path: Path, mailbox: Mailbox) -> None:
    assert _receive(mailbox, "m1")
    assert not _receive(mailbox, "m1", ledger_position=99, routed=b"other")
    assert _inbox_count(path) == 1
    (row,) = mailbox.inbox()
    assert (row.ledger_position, row.routed) == (1, b"routed:m1")


def test_inbox_is_in_arrival_order(mailbox: Mailbox) -> None:
    for message_id in ("c", "a", "b"):
        _receive(mailbox, message_id)
    rows = mailbox.inbox()
    assert [r.message_id for r in rows] == ["c", "a", "b"]
    assert [r.delivery_id for r in rows] == [1, 2, 3]


def test_inbox_after_skips_up_to_and_including_the_given_delivery_id(mailbox: Mailbox) -> None:
    for message_id in ("a", "b", "c"):
        _receive(mailbox, message_id)
    assert [r.message_id for r in mailbox.inbox(after=1)] == ["b", "c"]
    assert [r.message_id for r in mailbox.inbox(after=3)] == []
    assert [r.message_id for r in mailbox.inbox(after=0)] == ["a", "b", "c"]


def test_listing_what_is_pending_walks_only_the_pending_rows(path: Path, mailbox: Mailbox) -> None:
    """An agency system that polls from the start must not cost a walk over every item it
    ever acknowledged: the pending items have an index of their own, which the statements
    listing them use."""
    for message_id in ("a", "b", "c"):
        _receive(mailbox, message_id)
    mailbox.acknowledge_many([1, 2], now_ms=5000)
    plans = _plans(
        path,
        mailbox,
        lambda: (mailbox.inbox(), mailbox.has_inbox_after(0), mailbox.has_inbox_after(3)),
    )
    assert [r.message_id for r in mailbox.inbox()] == ["c"]
    assert mailbox.has_inbox_after(0) and not mailbox.has_inbox_after(3)
    assert len(plans) == 3
    assert all("USING INDEX inbox_pending" in plan for plan in plans), plans


def test_finding_what_to_publish_again_walks_only_the_unanswered(
    path: Path, mailbox: Mailbox
) -> None:
    """Each republishing round looks for the messages the hub has not answered: it must not
    walk every message this member ever sent."""
    for message_id, created in (("a", 1000), ("b", 2000), ("c", 3000)):
        _send(mailbox, message_id, created_at_ms=created)
    mailbox.record_receipt("a", accepted=True, position=1, code="", reason="")
    plans = _plans(
        path,
        mailbox,
        lambda: (mailbox.unconfirmed(), mailbox.unconfirmed(created_by_ms=2500, limit=10)),
    )
    assert [r.message_id for r in mailbox.unconfirmed()] == ["b", "c"]
    assert [r.message_id for r in mailbox.unconfirmed(created_by_ms=2500)] == ["b"]
    assert len(plans) == 2
    assert all("USING INDEX sent_unconfirmed" in plan for plan in plans), plans


def _plans(path: Path, mailbox: Mailbox, work: Callable[[], object]) -> list[str]:
    """The query plan of each statement `work` makes the mailbox execute."""
    statements: list[str] = []
    mailbox._db.set_trace_callback(statements.append)
    try:
        work()
    finally:
        mailbox._db.set_trace_callback(None)
    with sqlite3.connect(path) as db:
        return [
            " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}"))
            for statement in statements
        ]


def test_acknowledge_marks_an_item_once(mailbox: Mailbox) -> None:
    _receive(mailbox, "a")
    _receive(mailbox, "b")
    assert mailbox.acknowledge(1, now_ms=5000)
    assert not mailbox.acknowledge(1, now_ms=6000)
    assert [r.message_id for r in mailbox.inbox()] == ["b"]
    rows = mailbox.inbox(include_acknowledged=True)
    assert [(r.message_id, r.acknowledged) for r in rows] == [("a", True), ("b", False)]


def test_acknowledging_an_unknown_delivery_id_returns_false(mailbox: Mailbox) -> None:
    assert not mailbox.acknowledge(42, now_ms=1)


def _proof(message_id: str) -> Outbound:
    return Outbound(message_id, DOC, "delivery", (G22,), b"proof:" + message_id.encode(), b"", 1)


def test_acknowledge_many_proves_exactly_the_items_it_marked(mailbox: Mailbox) -> None:
    for message_id in ("a", "b", "c"):
        _receive(mailbox, message_id)
    assert mailbox.acknowledge(2, now_ms=1)
    asked: list[list[int]] = []

    def prove(marked: list[int]) -> list[Outbound]:
        asked.append(marked)
        return [_proof("p-" + "-".join(map(str, marked)))]

    marked, kept = mailbox.acknowledge_many([1, 2, 3, 42], now_ms=5, prove=prove)
    assert marked == [1, 3]
    # Item 2 was marked before (by a racing call, say): the proof does not cover it again.
    assert asked == [[1, 3]]
    assert [p.message_id for p in kept] == ["p-1-3"]
    assert mailbox.inbox() == []
    assert [r.message_id for r in mailbox.unconfirmed()] == ["p-1-3"]
    assert mailbox.acknowledge_many([1, 3], now_ms=6, prove=prove) == ([], [])
    assert asked == [[1, 3]]  # nothing marked: nothing to prove


def test_acknowledge_many_marks_nothing_when_keeping_a_proof_fails(
    path: Path, mailbox: Mailbox
) -> None:
    _receive(mailbox, "a")
    _receive(mailbox, "b")
    broken = Outbound("p2", DOC, "delivery", (object(),), b"", b"", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mailbox.acknowledge_many([1, 2], now_ms=5, prove=lambda _: [_proof("p1"), broken])
    assert [r.message_id for r in mailbox.inbox()] == ["a", "b"]
    assert mailbox.unconfirmed() == []


def test_inbox_items_leaves_unknown_ids_out(mailbox: Mailbox) -> None:
    for message_id in ("a", "b"):
        _receive(mailbox, message_id)
    assert {i: r.message_id for i, r in mailbox.inbox_items([2, 9, 1]).items()} == {
        1: "a",
        2: "b",
    }
    assert mailbox.inbox_items(list(range(1, 1200))).keys() == {1, 2}


def test_inbox_after_with_acknowledged_items(mailbox: Mailbox) -> None:
    for message_id in ("a", "b", "c"):
        _receive(mailbox, message_id)
    mailbox.acknowledge(2, now_ms=1)
    assert [r.message_id for r in mailbox.inbox(after=1)] == ["c"]
    assert [r.message_id for r in mailbox.inbox(after=1, include_acknowledged=True)] == ["b", "c"]


def test_a_redelivery_after_acknowledgement_is_still_dropped(mailbox: Mailbox) -> None:
    _receive(mailbox, "a")
    mailbox.acknowledge(1, now_ms=1)
    assert not _receive(mailbox, "a")
    assert mailbox.inbox() == []


def test_delivery_ids_keep_increasing_after_a_dropped_redelivery(mailbox: Mailbox) -> None:
    _receive(mailbox, "a")
    _receive(mailbox, "a")
    _receive(mailbox, "b")
    ids = [r.delivery_id for r in mailbox.inbox()]
    assert ids == sorted(set(ids)) and len(ids) == 2
    assert [r.message_id for r in mailbox.inbox(after=ids[0])] == ["b"]


def test_inbox_item_and_received_for(mailbox: Mailbox) -> None:
    _receive(mailbox, "a")
    _receive(mailbox, "b", document_id="other")
    _receive(mailbox, "c")
    item = mailbox.inbox_item(2)
    assert item is not None and item.message_id == "b"
    assert mailbox.inbox_item(99) is None
    assert [r.message_id for r in mailbox.received_for(DOC)] == ["a", "c"]
    assert mailbox.received_for("nothing") == []


# -- sent ---------------------------------------------------------------------------------


def test_a_sent_message_is_unconfirmed_until_its_receipt(mailbox: Mailbox) -> None:
    _send(mailbox, "s1")
    row = mailbox.sent("s1")
    assert row is not None
    assert row.recipients == (H49, G15)
    assert (row.envelope, row.payload, row.kind, row.document_id) == (
        b"envelope:s1",
        b"payload",
        "document",
        DOC,
    )
    assert (row.accepted, row.ledger_position, row.reject_code, row.reject_reason) == (
        None,
        None,
        None,
        None,
    )
    assert [r.message_id for r in mailbox.unconfirmed()] == ["s1"]


def test_an_unknown_sent_message_is_none(mailbox: Mailbox) -> None:
    assert mailbox.sent("nope") is None


def test_store_sent_twice_keeps_the_first_bytes(mailbox: Mailbox) -> None:
    _send(mailbox, "s1")
    _send(mailbox, "s1", envelope=b"re-signed")
    row = mailbox.sent("s1")
    assert row is not None and row.envelope == b"envelope:s1"
    assert len(mailbox.sent_for(DOC)) == 1


def test_store_sent_many_keeps_all_in_order_and_the_first_bytes_of_a_known_id(
    mailbox: Mailbox,
) -> None:
    _send(mailbox, "s1")
    batch = [
        Outbound("s2", DOC, "document", (H49,), b"e2", b"p2", 2000),
        Outbound("s1", DOC, "document", (H49,), b"re-signed", b"p1", 2000),
        Outbound("s3", DOC, "document", (G15, H49), b"e3", b"p3", 3000),
    ]
    assert mailbox.store_sent_many(batch) == [True, False, True]
    assert [(r.message_id, r.envelope) for r in mailbox.unconfirmed()] == [
        ("s1", b"envelope:s1"),
        ("s2", b"e2"),
        ("s3", b"e3"),
    ]
    row = mailbox.sent("s3")
    assert row is not None and row.recipients == (G15, H49)


def test_accepting_receipt_confirms_the_message(mailbox: Mailbox) -> None:
    _send(mailbox, "s1")
    _send(mailbox, "s2", created_at_ms=2000)
    mailbox.record_receipt("s1", accepted=True, position=12, code="", reason="")
    row = mailbox.sent("s1")
    assert row is not None
    assert (row.accepted, row.ledger_position, row.reject_code) == (True, 12, "")
    assert [r.message_id for r in mailbox.unconfirmed()] == ["s2"]


def test_refusing_receipt_records_the_code_and_reason(mailbox: Mailbox) -> None:
    _send(mailbox, "s1")
    mailbox.record_receipt(
        "s1", accepted=False, position=0, code="route_not_allowed", reason="header.recipients: no"
    )
    row = mailbox.sent("s1")
    assert row is not None
    assert row.accepted is False
    assert (row.reject_code, row.reject_reason) == ("route_not_allowed", "header.recipients: no")
    assert mailbox.unconfirmed() == []


def test_unconfirmed_and_sent_for_are_in_creation_order(mailbox: Mailbox) -> None:
    _send(mailbox, "late", created_at_ms=3000)
    _send(mailbox, "early", created_at_ms=1000)
    _send(mailbox, "other-doc", created_at_ms=2000, document_id="other")
    assert [r.message_id for r in mailbox.unconfirmed()] == ["early", "other-doc", "late"]
    assert [r.message_id for r in mailbox.sent_for(DOC)] == ["early", "late"]


def test_record_delivery_is_idempotent_per_recipient(mailbox: Mailbox) -> None:
    _send(mailbox, "s1")
    mailbox.record_delivery("s1", H49, 5)
    mailbox.record_delivery("s1", H49, 9)
    mailbox.record_delivery("s1", G15, 6)
    assert sorted(mailbox.deliveries("s1")) == [(G15, 6), (H49, 5)]
    assert mailbox.deliveries("other") == []


# -- durability ---------------------------------------------------------------------------


def test_reopening_the_same_file_keeps_everything(path: Path) -> None:
    first = Mailbox(path)
    _receive(first, "a")
    _receive(first, "b")
    first.acknowledge(1, now_ms=1)
    _send(first, "s1")
    _send(first, "s2", created_at_ms=2000)
    first.record_receipt("s1", accepted=True, position=3, code="", reason="")
    first.record_delivery("s1", H49, 4)
    first.close()

    second = Mailbox(path)
    try:
        rows = second.inbox(include_acknowledged=True)
        assert [(r.message_id, r.acknowledged) for r in rows] == [("a", True), ("b", False)]
        assert not _receive(second, "a")
        assert not second.acknowledge(1, now_ms=2)
        sent = second.sent("s1")
        assert sent is not None and sent.accepted is True and sent.ledger_position == 3
        assert [r.message_id for r in second.unconfirmed()] == ["s2"]
        assert second.deliveries("s1") == [(H49, 4)]
        # Delivery ids keep increasing from where they were (gaps are allowed).
        assert _receive(second, "c")
        assert second.inbox()[-1].delivery_id > 2
    finally:
        second.close()


def test_the_mailbox_commits_quietly_and_stops_its_checkpointer_on_close(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path / "mailbox.sqlite3")
    assert tuple(mailbox._db.execute("PRAGMA wal_autocheckpoint").fetchone()) == (0,)
    mailbox.close()
    assert not any(t.name == "wal-checkpoint mailbox.sqlite3" for t in threading.enumerate())
