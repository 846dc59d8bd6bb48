"""The Merkle log stored beside the events, on SQLite and PostgreSQL alike.

Every test runs on both backends (the ``open_ledger`` fixture); the stored tree is held to
the RFC 6962 vectors and to an in-memory tree over the same notifications.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.leaf import leaf_from_notification
from ledger.merkle import (
    IndexOutOfRangeError,
    MemoryTree,
    MerkleError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.merkle_log import (
    LeafMismatchError,
    LeafMissingError,
    LogDivergedError,
    MerkleLog,
    MerkleLogError,
    MerkleTreeStore,
)
from tests.ledger.conftest import EventsTable, Traffic
from tests.support import rfc6962_vectors

VECTORS: dict[str, Any] = rfc6962_vectors()
LEAF_HASHES = [bytes.fromhex(h) for h in VECTORS["leaf_hashes"]]
ROOTS = {int(k): bytes.fromhex(v) for k, v in VECTORS["roots_by_size"].items()}

OpenLedger = Callable[[], Ledger]


def _memory_tree(ledger: Ledger) -> MemoryTree:
    notifications = ledger.recorder.select_notifications(1, 100_000)
    return MemoryTree.from_data(leaf_from_notification(n) for n in notifications)


# --- the stored tree against the RFC 6962 vectors --------------------------------------------


def _vector_store(open_ledger: OpenLedger) -> MerkleTreeStore:
    store = MerkleLog(open_ledger().recorder).tree
    # Positions 10, 20, ...: the tree does not care about gaps.
    store.append_entries([(10 * (i + 1), h) for i, h in enumerate(LEAF_HASHES[:3])])
    store.append_entries([(10 * (i + 4), h) for i, h in enumerate(LEAF_HASHES[3:])])
    return store


def test_stored_tree_reproduces_the_vector_roots(open_ledger: OpenLedger) -> None:
    store = _vector_store(open_ledger)
    for size, root in ROOTS.items():
        assert store.root(size) == root, f"root at size {size}"


def test_stored_tree_reproduces_the_vector_proofs(open_ledger: OpenLedger) -> None:
    store = _vector_store(open_ledger)
    for vector in VECTORS["inclusion"]:
        proof = store.inclusion_proof(vector["index"], vector["size"])
        assert [h.hex() for h in proof] == vector["proof"], vector
    for vector in VECTORS["consistency"]:
        proof = store.consistency_proof(vector["old"], vector["new"])
        assert [h.hex() for h in proof] == vector["proof"], vector


def test_broken_proofs_derived_from_the_vectors_fail(open_ledger: OpenLedger) -> None:
    store = _vector_store(open_ledger)
    checked = 0
    for vector in VECTORS["inclusion"]:
        index, size = vector["index"], vector["size"]
        proof = store.inclusion_proof(index, size)
        verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])
        for k in range(len(proof)):
            broken = list(proof)
            broken[k] = bytes([broken[k][0] ^ 1]) + broken[k][1:]
            with pytest.raises(MerkleError):
                verify_inclusion(LEAF_HASHES[index], index, size, broken, ROOTS[size])
            checked += 1
        if proof:
            with pytest.raises(MerkleError):
                verify_inclusion(LEAF_HASHES[index], index, size, proof[:-1], ROOTS[size])
    for vector in VECTORS["consistency"]:
        old, new = vector["old"], vector["new"]
        proof = store.consistency_proof(old, new)
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
        for k in range(len(proof)):
            broken = list(proof)
            broken[k] = bytes(32)
            with pytest.raises(MerkleError):
                verify_consistency(old, new, ROOTS[old], ROOTS[new], broken)
            checked += 1
    assert checked > 10


def test_store_refuses_positions_that_do_not_grow(open_ledger: OpenLedger) -> None:
    store = _vector_store(open_ledger)
    with pytest.raises(MerkleLogError, match="does not follow position 80"):
        store.append_entries([(80, LEAF_HASHES[0])])
    assert store.state().size == 8


def test_sizes_beyond_the_log_are_refused(open_ledger: OpenLedger) -> None:
    store = _vector_store(open_ledger)
    with pytest.raises(IndexOutOfRangeError, match="exceeds the log's size 8"):
        store.root(9)
    with pytest.raises(IndexOutOfRangeError):
        store.inclusion_proof(8, 8)
    with pytest.raises(IndexOutOfRangeError):
        store.consistency_proof(3, 9)


# --- following the ledger ------------------------------------------------------------------


def test_catch_up_logs_every_event_in_ledger_order(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 5)  # 15 events
    merkle = MerkleLog(ledger.recorder)
    assert merkle.catch_up(4) == 4
    assert merkle.catch_up(4) == 8
    assert merkle.catch_up_all(batch=3) == 15
    expected = _memory_tree(ledger)
    for size in range(16):
        assert merkle.root(size) == expected.root(size), f"size {size}"
    for index in range(15):
        assert merkle.inclusion_proof(index, 15) == expected.inclusion_proof(index, 15)
        assert merkle.leaf_bytes(index) == leaf_from_notification(
            ledger.recorder.select_notifications(index + 1, 1)[0]
        )
    for old in range(16):
        assert merkle.consistency_proof(old, 15) == expected.consistency_proof(old, 15)


def test_catch_up_is_idempotent(open_ledger: OpenLedger, traffic: Traffic) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 2)
    merkle = MerkleLog(ledger.recorder)
    assert merkle.catch_up_all() == 6
    root = merkle.root()
    assert merkle.catch_up() == 6
    assert MerkleLog(ledger.recorder).catch_up() == 6
    assert merkle.root() == root


def test_a_restart_resumes_exactly(open_ledger: OpenLedger, traffic: Traffic) -> None:
    first = open_ledger()
    traffic.fill(first, 3)
    MerkleLog(first.recorder).catch_up_all()
    first.close()
    second = open_ledger()
    traffic.fill(second, 2)
    merkle = MerkleLog(second.recorder)
    assert merkle.size == 9
    assert merkle.catch_up_all() == 15
    assert merkle.root() == _memory_tree(second).root()


def test_a_crash_inside_catch_up_leaves_the_old_tree(
    open_ledger: OpenLedger, traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 4)
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up(5)
    original = MerkleTreeStore.append

    def crash_after_writing(self: MerkleTreeStore, *args: Any) -> Any:
        original(self, *args)  # nodes, leaf map and size are written...
        raise RuntimeError("power cut")  # ...but the transaction never commits

    monkeypatch.setattr(MerkleTreeStore, "append", crash_after_writing)
    with pytest.raises(RuntimeError, match="power cut"):
        merkle.catch_up()
    monkeypatch.undo()
    assert MerkleLog(ledger.recorder).size == 5
    assert merkle.catch_up_all() == 12
    assert merkle.root() == _memory_tree(ledger).root()


def test_proofs_cost_one_query_of_logarithmically_many_nodes(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    merkle = MerkleLog(ledger.recorder)
    merkle.tree.append_entries([(p, leaf_hash(p.to_bytes(4, "big"))) for p in range(1, 1001)])
    bound = 2 * math.ceil(math.log2(1000)) + 1
    for index, size in ((0, 1000), (517, 1000), (999, 1000), (300, 777)):
        merkle.stats.queries = merkle.stats.nodes = 0
        merkle.inclusion_proof(index, size)
        assert merkle.stats.queries == 1
        assert merkle.stats.nodes <= bound
    merkle.stats.queries = merkle.stats.nodes = 0
    merkle.consistency_proof(333, 1000)
    assert (merkle.stats.queries, merkle.stats.nodes <= bound) == (1, True)


def test_positions_and_leaf_indices_map_both_ways(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 2)
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up_all()
    for index in range(6):
        position = merkle.position_of(index)
        assert merkle.leaf_index_of(position) == index
    assert merkle.leaf_index_of(10_000) is None


# --- the log notices tampering ---------------------------------------------------------------


def test_leaf_bytes_refuses_an_altered_or_deleted_event(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 2)
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up_all()
    events = EventsTable(ledger)
    events.flip_byte(2)
    with pytest.raises(LeafMismatchError, match=r"position 2 \(leaf 1\).*altered"):
        merkle.leaf_bytes(1)
    events.delete(3)
    with pytest.raises(LeafMissingError, match=r"position 3 \(leaf 2\) is missing"):
        merkle.leaf_bytes(2)
    assert merkle.leaf_bytes(0)  # the others are untouched


def test_catch_up_stops_when_the_logged_tail_was_deleted(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 2)
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up_all()
    EventsTable(ledger).delete(6)
    with pytest.raises(LogDivergedError, match=r"position 6 \(leaf 5\) is missing"):
        merkle.catch_up()
    traffic.fill(ledger, 1)  # SQLite reuses the freed position 6 for another event
    with pytest.raises(LogDivergedError, match=r"position 6 \(leaf 5\)"):
        merkle.catch_up()
    assert merkle.size == 6


def test_catch_up_stops_when_the_logged_tail_was_altered(
    open_ledger: OpenLedger, traffic: Traffic
) -> None:
    ledger = open_ledger()
    traffic.fill(ledger, 2)
    merkle = MerkleLog(ledger.recorder)
    merkle.catch_up_all()
    EventsTable(ledger).flip_byte(6)
    with pytest.raises(LogDivergedError, match=r"position 6 \(leaf 5\) changed"):
        merkle.catch_up()


@pytest.mark.parametrize("open_ledger", ["postgres"], indirect=True)  # only its ids have gaps
def test_postgres_position_gaps_are_followed(open_ledger: OpenLedger, traffic: Traffic) -> None:
    ledger = open_ledger()
    merkle = MerkleLog(ledger.recorder)
    traffic.fill(ledger, 1)
    with merkle.db.transaction(commit=True) as cursor:  # burn ids, as rolled-back writes do
        table = f"{merkle.db.schema}.{ledger.recorder.events_table_name}"  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), 100)", (table,)
        )
    traffic.fill(ledger, 1)
    assert merkle.catch_up_all() == 6
    assert [merkle.position_of(i) for i in range(6)] == [1, 2, 3, 101, 102, 103]
    assert merkle.leaf_index_of(101) == 3
    assert merkle.root() == _memory_tree(ledger).root()
