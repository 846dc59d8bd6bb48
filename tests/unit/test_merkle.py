"""Tests for ledger.merkle: RFC 6962 vectors, deliberately broken proofs, properties.

Generated proofs are compared with a naive recursive transcription of RFC 9162's MTH, PATH
and PROOF definitions, so the iterative O(log n) code is checked against an independent
reading of the RFC rather than against itself.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.merkle import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Frontier,
    FrontierStateError,
    HashSizeError,
    IndexOutOfRangeError,
    MemoryTree,
    MerkleError,
    MissingNodeError,
    ProofLengthError,
    RootMismatchError,
    all_inclusion_proofs,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    new_nodes_for_append,
    node_coordinates_for_append,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_from_reader,
    verify_consistency,
    verify_inclusion,
)
from tests.support import rfc6962_vectors

# --- vectors -------------------------------------------------------------------------------

VECTORS = rfc6962_vectors()
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves_hex"]]
LEAF_HASHES = [bytes.fromhex(x) for x in VECTORS["leaf_hashes"]]
ROOTS = {int(size): bytes.fromhex(root) for size, root in VECTORS["roots_by_size"].items()}
INCLUSION = [
    (v["index"], v["size"], [bytes.fromhex(h) for h in v["proof"]]) for v in VECTORS["inclusion"]
]
CONSISTENCY = [
    (v["old"], v["new"], [bytes.fromhex(h) for h in v["proof"]]) for v in VECTORS["consistency"]
]
VECTOR_TREE = MemoryTree.from_data(LEAVES)


# --- an independent reading of RFC 9162 section 2.1 ------------------------------------------


def _k(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, straight from the RFC's recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def make_leaf_hashes(count: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(count)]


class CountingReader:
    """Wraps a reader and counts get_node calls, to pin proof cost to O(log n)."""

    def __init__(self, inner: MemoryTree) -> None:
        self.inner = inner
        self.calls = 0

    def get_node(self, level: int, index: int) -> bytes:
        self.calls += 1
        return self.inner.get_node(level, index)


def read_budget(size: int) -> int:
    return 2 * math.ceil(math.log2(size)) + 2 if size > 1 else 2


# --- vectors: generation and verification -----------------------------------------------------


def test_empty_root_is_sha256_of_nothing() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT


@pytest.mark.parametrize("position", range(len(LEAVES)))
def test_leaf_hash_vectors(position: int) -> None:
    assert leaf_hash(LEAVES[position]) == LEAF_HASHES[position]
    assert VECTOR_TREE.get_node(0, position) == LEAF_HASHES[position]


def test_node_hash_domain_separation() -> None:
    left, right = LEAF_HASHES[0], LEAF_HASHES[1]
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) == ROOTS[2]
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_root_vectors(size: int) -> None:
    expected = ROOTS[size]
    assert root_from_leaf_hashes(LEAF_HASHES[:size]) == expected
    assert root_from_reader(size, VECTOR_TREE) == expected
    assert VECTOR_TREE.root(size) == expected
    assert Frontier.from_reader(size, VECTOR_TREE).root() == expected
    assert ref_mth(LEAF_HASHES[:size]) == expected


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, size, VECTOR_TREE) == proof
    assert inclusion_proof_length(index, size) == len(proof)
    assert root_from_inclusion_proof(LEAF_HASHES[index], index, size, proof) == ROOTS[size]
    verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, VECTOR_TREE) == proof
    assert consistency_proof_length(old, new) == len(proof)
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_every_proof_of_the_vector_tree_matches_the_rfc_definitions() -> None:
    for size in range(1, len(LEAF_HASHES) + 1):
        for index in range(size):
            proof = inclusion_proof(index, size, VECTOR_TREE)
            assert proof == ref_path(index, LEAF_HASHES[:size])
            verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])
        for old in range(1, size + 1):
            proof = consistency_proof(old, size, VECTOR_TREE)
            assert proof == ref_subproof(old, LEAF_HASHES[:size], True)
            verify_consistency(old, size, ROOTS[old], ROOTS[size], proof)


# --- deliberately broken inclusion proofs ------------------------------------------------------


Formula = Any  # a symbolic hash: a leaf name or a (left, right) pair


def _symbolic_inclusion(index: int, size: int, length: int) -> Formula | None:
    """The root formula RFC 9162 2.1.3.2 builds from proof slots p0..pn, None if invalid.

    Two (index, size) claims with equal formulas accept exactly the same proofs.
    """
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    result: Formula = "leaf"
    for position in range(length):
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            result = (f"p{position}", result)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            result = (result, f"p{position}")
        fn, sn = fn // 2, sn // 2
    return result if sn == 0 else None


def _symbolic_consistency(old: int, new: int, length: int) -> Formula | None:
    """The (old root, new root) formulas of RFC 9162 2.1.4.2, None if the proof is invalid."""
    if not 0 < old < new or length == 0:
        return None
    path: list[Formula] = [f"p{position}" for position in range(length)]
    if old & (old - 1) == 0:
        path.insert(0, "old_root")
    fn, sn = old - 1, new - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    first: Formula = path[0]
    second: Formula = path[0]
    for item in path[1:]:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            first, second = (item, first), (item, second)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            second = (second, item)
        fn, sn = fn // 2, sn // 2
    return (first, second) if sn == 0 else None


def _flip(data: bytes, bit: int) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << (bit % 8))]) + data[bit // 8 + 1 :]


def _inclusion_case_ids() -> list[str]:
    return [f"i{index}-n{size}" for index, size, _ in INCLUSION]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=_inclusion_case_ids())
def test_inclusion_flipped_bit_in_each_hash(index: int, size: int, proof: list[bytes]) -> None:
    for position in range(len(proof)):
        for bit in (0, 7, 128, 255):
            broken = list(proof)
            broken[position] = _flip(broken[position], bit)
            with pytest.raises(RootMismatchError):
                verify_inclusion(LEAF_HASHES[index], index, size, broken, ROOTS[size])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=_inclusion_case_ids())
def test_inclusion_wrong_length(index: int, size: int, proof: list[bytes]) -> None:
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    for broken in (proof[:-1], proof[1:], [*proof, proof[0]], [proof[0], *proof], []):
        with pytest.raises(ProofLengthError):
            verify_inclusion(leaf, index, size, broken, root)


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if len(v[2]) > 1])
def test_inclusion_swapped_order(index: int, size: int, proof: list[bytes]) -> None:
    for position in range(len(proof) - 1):
        broken = list(proof)
        broken[position], broken[position + 1] = broken[position + 1], broken[position]
        with pytest.raises(RootMismatchError):
            verify_inclusion(LEAF_HASHES[index], index, size, broken, ROOTS[size])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=_inclusion_case_ids())
def test_inclusion_wrong_index_or_size(index: int, size: int, proof: list[bytes]) -> None:
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    for other_index in range(size):
        if other_index == index:
            continue
        expected_error: type[MerkleError] = (
            RootMismatchError
            if inclusion_proof_length(other_index, size) == len(proof)
            else ProofLengthError
        )
        with pytest.raises(expected_error):
            verify_inclusion(leaf, other_index, size, proof, root)
    for other_size in range(index + 1, 2 * size + 2):
        if other_size == size:
            continue
        claimed = _symbolic_inclusion(index, other_size, len(proof))
        if claimed == _symbolic_inclusion(index, size, len(proof)):
            # Same hashing path: the proof cannot tell these sizes apart, which is why the
            # size must come from the signed checkpoint, never from the proof's sender.
            verify_inclusion(leaf, index, other_size, proof, root)
            continue
        with pytest.raises(RootMismatchError if claimed else ProofLengthError):
            verify_inclusion(leaf, index, other_size, proof, root)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=_inclusion_case_ids())
def test_inclusion_wrong_leaf_or_root(index: int, size: int, proof: list[bytes]) -> None:
    with pytest.raises(RootMismatchError):
        verify_inclusion(_flip(LEAF_HASHES[index], 3), index, size, proof, ROOTS[size])
    with pytest.raises(RootMismatchError):
        verify_inclusion(LEAF_HASHES[index], index, size, proof, _flip(ROOTS[size], 3))
    with pytest.raises(RootMismatchError):  # the data, not its leaf hash
        verify_inclusion(leaf_hash(leaf_hash(LEAVES[index])), index, size, proof, ROOTS[size])


@pytest.mark.parametrize(
    ("index", "size"),
    [(8, 8), (9, 8), (-1, 8), (0, 0), (0, -1), (MAX_TREE_SIZE, MAX_TREE_SIZE + 1), (True, 8)],
)
def test_inclusion_out_of_range_is_refused_before_arithmetic(index: int, size: int) -> None:
    with pytest.raises(IndexOutOfRangeError):
        verify_inclusion(LEAF_HASHES[0], index, size, INCLUSION[0][2], ROOTS[8])
    with pytest.raises(IndexOutOfRangeError):
        inclusion_proof(index, size, VECTOR_TREE)


def test_inclusion_wrong_hash_sizes() -> None:
    index, size, proof = INCLUSION[0]
    with pytest.raises(HashSizeError):
        verify_inclusion(LEAF_HASHES[index][:31], index, size, proof, ROOTS[size])
    with pytest.raises(HashSizeError):
        verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size] + b"\x00")
    with pytest.raises(HashSizeError):
        verify_inclusion(LEAF_HASHES[index], index, size, [*proof[:-1], b""], ROOTS[size])


def test_single_leaf_tree_needs_an_empty_inclusion_proof() -> None:
    verify_inclusion(LEAF_HASHES[0], 0, 1, [], ROOTS[1])
    with pytest.raises(ProofLengthError):
        verify_inclusion(LEAF_HASHES[0], 0, 1, [LEAF_HASHES[1]], ROOTS[1])


# --- deliberately broken consistency proofs ----------------------------------------------------


def _consistency_case_ids() -> list[str]:
    return [f"{old}-{new}" for old, new, _ in CONSISTENCY]


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY, ids=_consistency_case_ids())
def test_consistency_flipped_bit_in_each_hash(old: int, new: int, proof: list[bytes]) -> None:
    for position in range(len(proof)):
        for bit in (0, 100, 255):
            broken = list(proof)
            broken[position] = _flip(broken[position], bit)
            with pytest.raises(RootMismatchError):
                verify_consistency(old, new, ROOTS[old], ROOTS[new], broken)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY, ids=_consistency_case_ids())
def test_consistency_wrong_length(old: int, new: int, proof: list[bytes]) -> None:
    for broken in (proof[:-1], proof[1:], [*proof, proof[0]], [proof[-1], *proof], []):
        with pytest.raises(ProofLengthError):
            verify_consistency(old, new, ROOTS[old], ROOTS[new], broken)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY, ids=_consistency_case_ids())
def test_consistency_swapped_order(old: int, new: int, proof: list[bytes]) -> None:
    for position in range(len(proof) - 1):
        broken = list(proof)
        broken[position], broken[position + 1] = broken[position + 1], broken[position]
        with pytest.raises(RootMismatchError):
            verify_consistency(old, new, ROOTS[old], ROOTS[new], broken)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY, ids=_consistency_case_ids())
def test_consistency_wrong_roots(old: int, new: int, proof: list[bytes]) -> None:
    with pytest.raises(RootMismatchError):
        verify_consistency(old, new, _flip(ROOTS[old], 9), ROOTS[new], proof)
    with pytest.raises(RootMismatchError):
        verify_consistency(old, new, ROOTS[old], _flip(ROOTS[new], 9), proof)
    with pytest.raises(RootMismatchError):
        verify_consistency(old, new, ROOTS[new], ROOTS[old], proof)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY, ids=_consistency_case_ids())
def test_consistency_wrong_sizes(old: int, new: int, proof: list[bytes]) -> None:
    honest = _symbolic_consistency(old, new, len(proof))
    claims = [(o, new) for o in range(1, new) if o != old]
    claims += [(old, n) for n in range(old + 1, 2 * new + 2) if n != new]
    for other_old, other_new in claims:
        claimed = _symbolic_consistency(other_old, other_new, len(proof))
        if claimed == honest:  # indistinguishable: sizes come from signed checkpoints
            verify_consistency(other_old, other_new, ROOTS[old], ROOTS[new], proof)
            continue
        with pytest.raises(RootMismatchError if claimed else ProofLengthError):
            verify_consistency(other_old, other_new, ROOTS[old], ROOTS[new], proof)


def test_consistency_old_greater_than_new_is_refused() -> None:
    with pytest.raises(IndexOutOfRangeError):
        verify_consistency(8, 6, ROOTS[8], ROOTS[6], CONSISTENCY[1][2])
    with pytest.raises(IndexOutOfRangeError):
        consistency_proof(8, 6, VECTOR_TREE)
    with pytest.raises(IndexOutOfRangeError):
        verify_consistency(-1, 6, ROOTS[0], ROOTS[6], [])
    with pytest.raises(IndexOutOfRangeError):
        consistency_proof(0, MAX_TREE_SIZE + 1, VECTOR_TREE)


def test_consistency_from_the_empty_tree() -> None:
    assert consistency_proof(0, 8, VECTOR_TREE) == []
    verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofLengthError):
        verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [ROOTS[8]])
    with pytest.raises(RootMismatchError):  # a size-0 checkpoint with a made-up root
        verify_consistency(0, 8, ROOTS[8], ROOTS[8], [])


def test_consistency_between_equal_sizes() -> None:
    assert consistency_proof(5, 5, VECTOR_TREE) == []
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    with pytest.raises(ProofLengthError):
        verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])


def test_consistency_wrong_hash_sizes() -> None:
    old, new, proof = CONSISTENCY[0]
    with pytest.raises(HashSizeError):
        verify_consistency(old, new, ROOTS[old][:16], ROOTS[new], proof)
    with pytest.raises(HashSizeError):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], [*proof[:-1], proof[-1] * 2])


def test_errors_share_the_ledger_root() -> None:
    for error in (
        IndexOutOfRangeError,
        ProofLengthError,
        RootMismatchError,
        HashSizeError,
        MissingNodeError,
        FrontierStateError,
    ):
        assert issubclass(error, MerkleError)
        assert issubclass(error, LedgerError)


# --- append helpers, frontier, memory tree -----------------------------------------------------


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, [(0, 0)]),
        (1, [(0, 1), (1, 0)]),
        (2, [(0, 2)]),
        (3, [(0, 3), (1, 1), (2, 0)]),
        (6, [(0, 6)]),
        (7, [(0, 7), (1, 3), (2, 1), (3, 0)]),
        (11, [(0, 11), (1, 5), (2, 2)]),
    ],
)
def test_node_coordinates_for_append(index: int, expected: list[tuple[int, int]]) -> None:
    assert node_coordinates_for_append(index) == expected


def test_node_coordinates_bounds() -> None:
    for bad in (-1, MAX_TREE_SIZE):
        with pytest.raises(IndexOutOfRangeError):
            node_coordinates_for_append(bad)


def test_new_nodes_for_append_matches_frontier_and_reads_little() -> None:
    hashes = make_leaf_hashes(70)
    tree = MemoryTree()
    frontier = Frontier()
    for index, item in enumerate(hashes):
        reader = CountingReader(tree)
        computed = new_nodes_for_append(index, item, reader)
        assert reader.calls == len(computed) - 1 <= math.ceil(math.log2(index + 1))
        assert frontier.append(item) == computed
        assert tree.append(item) == computed
        assert [(level, i) for level, i, _ in computed] == node_coordinates_for_append(index)
        for level, i, value in computed:
            assert tree.get_node(level, i) == value
            assert value == ref_mth(hashes[i << level : (i + 1) << level])


def test_memory_tree_stores_only_perfect_nodes() -> None:
    tree = MemoryTree(LEAF_HASHES[:3])
    assert tree.get_node(1, 0) == ROOTS[2]
    with pytest.raises(MissingNodeError):
        tree.get_node(1, 1)  # ephemeral right edge of a size-3 tree
    with pytest.raises(MissingNodeError):
        tree.get_node(0, 3)
    with pytest.raises(IndexOutOfRangeError):
        tree.get_node(-1, 0)
    with pytest.raises(IndexOutOfRangeError):
        tree.root(4)
    with pytest.raises(MissingNodeError):  # proofs beyond what the reader holds
        inclusion_proof(0, 5, tree)


def test_frontier_state_round_trip_and_resume() -> None:
    hashes = make_leaf_hashes(45, seed=7)
    frontier = Frontier()
    for item in hashes[:30]:
        frontier.append(item)
    size, state = frontier.to_state()
    assert size == 30
    assert len(state) == bin(30).count("1")
    resumed = Frontier.from_state(size, state)
    assert resumed == frontier
    for item in hashes[30:]:
        resumed.append(item)
    assert resumed.root() == root_from_leaf_hashes(hashes)
    assert frontier.size == 30  # resuming did not share state with the original


def test_frontier_copy_is_independent() -> None:
    frontier = Frontier()
    frontier.append(LEAF_HASHES[0])
    copy = frontier.copy()
    copy.append(LEAF_HASHES[1])
    assert frontier.root() == ROOTS[1]
    assert copy.root() == ROOTS[2]
    assert frontier != copy
    assert "size=1" in repr(frontier)


@pytest.mark.parametrize(
    ("size", "hashes", "error"),
    [
        (3, [ROOTS[2]], FrontierStateError),
        (3, [ROOTS[2], ROOTS[1], ROOTS[1]], FrontierStateError),
        (3, [ROOTS[2], ROOTS[1][:31]], FrontierStateError),
        (0, [ROOTS[1]], FrontierStateError),
        (-1, [], IndexOutOfRangeError),
    ],
)
def test_frontier_refuses_impossible_state(
    size: int, hashes: list[bytes], error: type[MerkleError]
) -> None:
    with pytest.raises(error):
        Frontier.from_state(size, hashes)


def test_frontier_refuses_bad_leaf_hash() -> None:
    with pytest.raises(HashSizeError):
        Frontier().append(b"short")
    with pytest.raises(HashSizeError):
        root_from_leaf_hashes([LEAF_HASHES[0], b"short"])


def test_root_from_leaf_hashes_is_fast_on_a_large_log() -> None:
    hashes = make_leaf_hashes(20_000)
    frontier = Frontier()
    for item in hashes:
        frontier.append(item)
    assert root_from_leaf_hashes(iter(hashes)) == frontier.root()
    assert frontier.root() == root_from_reader(len(hashes), MemoryTree(hashes))


# --- properties --------------------------------------------------------------------------------

BIG = make_leaf_hashes(300, seed=42)
BIG_TREE = MemoryTree(BIG)
BIG_ROOTS = [ref_mth(BIG[:size]) for size in range(len(BIG) + 1)]


def test_every_root_of_the_big_tree() -> None:
    frontier = Frontier()
    for size in range(len(BIG) + 1):
        assert frontier.root() == BIG_ROOTS[size] == BIG_TREE.root(size)
        if size < len(BIG):
            frontier.append(BIG[size])


def test_exhaustive_small_trees() -> None:
    for size in range(1, 40):
        for index in range(size):
            proof = inclusion_proof(index, size, BIG_TREE)
            assert proof == ref_path(index, BIG[:size])
            verify_inclusion(BIG[index], index, size, proof, BIG_ROOTS[size])
        for old in range(size + 1):
            proof = consistency_proof(old, size, BIG_TREE)
            if old > 0:
                assert proof == ref_subproof(old, BIG[:size], True)
            verify_consistency(old, size, BIG_ROOTS[old], BIG_ROOTS[size], proof)


@st.composite
def index_and_size(draw: Callable[..., Any]) -> tuple[int, int]:
    size: int = draw(st.integers(min_value=1, max_value=len(BIG)))
    index: int = draw(st.integers(min_value=0, max_value=size - 1))
    return index, size


@st.composite
def two_sizes(draw: Callable[..., Any]) -> tuple[int, int]:
    new: int = draw(st.integers(min_value=0, max_value=len(BIG)))
    old: int = draw(st.integers(min_value=0, max_value=new))
    return old, new


@settings(max_examples=150, deadline=None)
@given(index_and_size())
def test_generated_inclusion_proofs_verify_in_log_reads(case: tuple[int, int]) -> None:
    index, size = case
    reader = CountingReader(BIG_TREE)
    proof = inclusion_proof(index, size, reader)
    assert reader.calls <= read_budget(size)
    assert len(proof) == inclusion_proof_length(index, size)
    assert proof == ref_path(index, BIG[:size])
    verify_inclusion(BIG[index], index, size, proof, BIG_ROOTS[size])


@settings(max_examples=150, deadline=None)
@given(two_sizes())
def test_generated_consistency_proofs_verify_in_log_reads(case: tuple[int, int]) -> None:
    old, new = case
    reader = CountingReader(BIG_TREE)
    proof = consistency_proof(old, new, reader)
    assert reader.calls <= read_budget(max(new, 1))
    assert len(proof) == consistency_proof_length(old, new)
    if 0 < old < new:
        assert proof == ref_subproof(old, BIG[:new], True)
    verify_consistency(old, new, BIG_ROOTS[old], BIG_ROOTS[new], proof)


@settings(max_examples=100, deadline=None)
@given(index_and_size(), st.data())
def test_any_single_corruption_of_an_inclusion_proof_is_caught(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    proof = inclusion_proof(index, size, BIG_TREE)
    if not proof:
        return
    position = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    proof[position] = _flip(proof[position], bit)
    with pytest.raises(RootMismatchError):
        verify_inclusion(BIG[index], index, size, proof, BIG_ROOTS[size])


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=2**16))
def test_frontier_matches_root_for_every_prefix_and_round_trips(count: int, seed: int) -> None:
    hashes = make_leaf_hashes(count, seed)
    frontier = Frontier()
    tree = MemoryTree()
    for size in range(count + 1):
        assert frontier.root() == root_from_leaf_hashes(hashes[:size])
        restored = Frontier.from_state(*frontier.to_state())
        assert restored == frontier
        assert restored.root() == frontier.root()
        if size < count:
            frontier.append(hashes[size])
            tree.append(hashes[size])
    assert Frontier.from_reader(count, tree) == frontier


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_all_inclusion_proofs_match_the_vectors_and_one_by_one(size: int) -> None:
    root, proofs = all_inclusion_proofs(LEAF_HASHES[:size])
    assert root == ROOTS[size]
    assert proofs == [inclusion_proof(i, size, VECTOR_TREE) for i in range(size)]
    for index, size_, proof in INCLUSION:
        if size_ == size:
            assert proofs[index] == proof


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=1, max_value=len(BIG)))
def test_all_inclusion_proofs_of_any_size_verify(size: int) -> None:
    root, proofs = all_inclusion_proofs(BIG[:size])
    assert root == BIG_ROOTS[size]
    assert len(proofs) == size
    for index in (0, size // 2, size - 1):
        assert proofs[index] == ref_path(index, BIG[:size])
        verify_inclusion(BIG[index], index, size, proofs[index], root)


def test_all_inclusion_proofs_of_nothing_and_of_bad_hashes() -> None:
    assert all_inclusion_proofs([]) == (EMPTY_ROOT, [])
    assert all_inclusion_proofs([LEAF_HASHES[0]]) == (LEAF_HASHES[0], [[]])
    with pytest.raises(HashSizeError, match=r"hashes\[1\] must be 32 bytes, got 31"):
        all_inclusion_proofs([LEAF_HASHES[0], b"x" * 31])
