"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and verification over SHA-256.

Everything here is a small pure function over hashes, so the hub, the storage layer and the
offline auditor share one implementation and one set of test vectors.

Storage model. Only *perfect* subtrees are ever stored: node ``(level, index)`` covers leaves
``[index * 2**level, (index + 1) * 2**level)`` and is immutable once its last leaf exists.
The right edge of a tree whose size is not a power of two is made of *ephemeral* nodes that
change as the log grows; they are never stored but recomputed from at most ``log2(n)``
perfect nodes. Proof generation therefore costs O(log n) reads from a ``HashReader``.

Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step. Every argument is
bounds-checked before any arithmetic, the expected proof length is checked before hashing,
and failures raise a typed ``MerkleError``; verifiers return ``None`` on success and never
return a boolean, so a forgotten check cannot silently pass.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Protocol

from ledger.errors import LedgerError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "Frontier",
    "FrontierStateError",
    "HashReader",
    "HashSizeError",
    "IndexOutOfRangeError",
    "MemoryTree",
    "MerkleError",
    "MissingNodeError",
    "ProofLengthError",
    "RootMismatchError",
    "all_inclusion_proofs",
    "consistency_proof",
    "consistency_proof_length",
    "inclusion_proof",
    "inclusion_proof_length",
    "leaf_hash",
    "new_nodes_for_append",
    "node_coordinates_for_append",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_from_reader",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size accepted anywhere: fits a signed 64-bit integer (Go's tlog, PostgreSQL
bigint), so sizes that other implementations cannot represent are refused, not wrapped."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 9162 section 2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class MerkleError(LedgerError):
    """Root of every Merkle error, so a caller can refuse any bad proof with one except."""


class IndexOutOfRangeError(MerkleError, ValueError):
    """A leaf index, tree size or node coordinate is negative, too large or out of order."""


class ProofLengthError(MerkleError, ValueError):
    """A proof does not have the exact number of hashes its index and sizes imply."""


class HashSizeError(MerkleError, ValueError):
    """A hash (leaf, root or proof element) is not exactly ``HASH_SIZE`` bytes."""


class RootMismatchError(MerkleError):
    """The root recomputed from a proof differs from the root it was checked against."""


class MissingNodeError(MerkleError, LookupError):
    """A ``HashReader`` was asked for a perfect node it does not (yet) hold."""


class FrontierStateError(MerkleError, ValueError):
    """A persisted frontier is inconsistent with its size and cannot be resumed from."""


class HashReader(Protocol):
    """Read access to stored perfect subtree hashes.

    ``get_node(level, index)`` returns the hash of the perfect subtree covering leaves
    ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. It must
    raise (preferably ``MissingNodeError``) rather than return anything for a node it lacks.
    """

    def get_node(self, level: int, index: int) -> bytes:
        """Return the stored hash of perfect node ``(level, index)``."""
        ...


# --- hashing -------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Hash leaf data with the 0x00 prefix so a leaf can never be mistaken for a node."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children with the 0x01 prefix (RFC 9162 second-preimage protection)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --- argument checks (run before any arithmetic) -----------------------------------------


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndexOutOfRangeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0 or value > MAX_TREE_SIZE:
        raise IndexOutOfRangeError(f"{name} {value} outside [0, {MAX_TREE_SIZE}]")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes) else type(value).__name__
        raise HashSizeError(f"{name} must be {HASH_SIZE} bytes, got {size}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for position, item in enumerate(proof):
        _check_hash(f"proof[{position}]", item)


def _check_index(index: int, size: int) -> None:
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise IndexOutOfRangeError(f"index {index} out of range for tree size {size}")


def _check_sizes(old_size: int, new_size: int) -> None:
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise IndexOutOfRangeError(f"old_size {old_size} > new_size {new_size}")


def _check_node(level: int, index: int) -> None:
    _check_size("level", level)
    _check_size("node index", index)
    if level > 63:
        raise IndexOutOfRangeError(f"level {level} exceeds 63")


# --- tree shape ----------------------------------------------------------------------------


def _split_point(width: int) -> int:
    """Largest power of two strictly below ``width`` (``width >= 2``): RFC 9162's ``k``."""
    return 1 << ((width - 1).bit_length() - 1)


def _trailing_zeros(value: int) -> int:
    """Number of trailing zero bits of a positive int."""
    return (value & -value).bit_length() - 1


def inclusion_proof_length(index: int, size: int) -> int:
    """Exact number of hashes in the inclusion proof for ``index`` in a tree of ``size``.

    Knowing it up front lets verifiers reject a proof of the wrong shape before hashing,
    with a precise error, instead of discovering it midway through RFC 9162's loop.
    """
    _check_index(index, size)
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Exact number of hashes in the consistency proof from ``old_size`` to ``new_size``."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return 0
    shift = _trailing_zeros(old_size)
    first = (old_size - 1) >> shift
    last = (new_size - 1) >> shift
    inner = (first ^ last).bit_length()
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner + (first >> inner).bit_count()


# --- whole-tree roots ----------------------------------------------------------------------


def _fold_right(parts: Sequence[bytes]) -> bytes:
    """Hash perfect subtree roots, listed left to right, into the root of their union.

    RFC 9162 splits at the largest power of two, so the union of decreasing perfect
    subtrees is ``node(p1, node(p2, ... node(pk-1, pk)))``.
    """
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """MTH over leaf hashes in one pass with O(log n) memory (a frontier, not a tree).

    Suitable for millions of leaves: n - 1 node hashes, no recursion, no copies of the list.
    """
    frontier = Frontier()
    for position, item in enumerate(hashes):
        _check_hash(f"hashes[{position}]", item)
        frontier.append(item)
    return frontier.root()


def _range_hash(begin: int, end: int, reader: HashReader) -> bytes:
    """MTH of leaves ``[begin, end)`` read as at most log2(n) perfect nodes.

    Only called on ranges of the RFC 9162 recursion, where ``begin`` is a multiple of a
    power of two at least ``end - begin``; that alignment is what makes every part perfect.
    """
    width = end - begin
    parts: list[bytes] = []
    position = begin
    for level in range(width.bit_length() - 1, -1, -1):
        if (width >> level) & 1:
            if position & ((1 << level) - 1):
                raise IndexOutOfRangeError(f"range [{begin}, {end}) is not RFC 9162 aligned")
            parts.append(reader.get_node(level, position >> level))
            position += 1 << level
    return _fold_right(parts)


def root_from_reader(size: int, reader: HashReader) -> bytes:
    """Root of the tree of ``size`` leaves (any historical size), in O(log n) reads."""
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, reader)


# --- proof generation ----------------------------------------------------------------------


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), ordered from the leaf's sibling up to the root.

    Walks the RFC recursion top-down without recursing. At most one emitted node is
    ephemeral (the first right-hand sibling), so the cost is O(log n) reads.
    """
    _check_index(index, size)
    proof: list[bytes] = []
    begin, end = 0, size
    while end - begin > 1:
        split = begin + _split_point(end - begin)
        if index < split:
            proof.append(_range_hash(split, end, reader))
            end = split
        else:
            proof.append(_range_hash(begin, split, reader))
            begin = split
    proof.reverse()
    return proof


def all_inclusion_proofs(hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of the tree of leaf ``hashes`` and every leaf's inclusion proof, the same as
    ``inclusion_proof`` gives, with each node hashed once: n - 1 hashes for them all.

    For a batch sealed together (a call's envelopes, a bundle's stamps), where proofs one
    by one through a ``MemoryTree`` hashed each sibling subtree again for every leaf (about
    four times the work at 28 leaves). The recursion follows RFC 9162's split, so it is
    at most 64 deep.
    """
    for position, item in enumerate(hashes):
        _check_hash(f"hashes[{position}]", item)
    if not hashes:
        return EMPTY_ROOT, []
    _check_size("size", len(hashes))
    proofs: list[list[bytes]] = [[] for _ in hashes]

    def subtree(begin: int, end: int) -> bytes:
        if end - begin == 1:
            return hashes[begin]
        split = begin + _split_point(end - begin)
        left, right = subtree(begin, split), subtree(split, end)
        for index in range(begin, split):  # below this node, lower siblings came first
            proofs[index].append(right)
        for index in range(split, end):
            proofs[index].append(left)
        return node_hash(left, right)

    return subtree(0, len(hashes)), proofs


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 PROOF(old_size, D[0:new_size]), in the order verifiers consume it.

    An empty tree or an unchanged size needs no proof, so both yield ``[]`` (and the
    verifier accepts only ``[]`` for them).
    """
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    begin, end = 0, new_size
    whole_old_tree = True  # RFC 9162's flag b: the old tree is a left subtree of this one
    while old_size != end:
        split = begin + _split_point(end - begin)
        if old_size <= split:
            proof.append(_range_hash(split, end, reader))
            end = split
        else:
            proof.append(_range_hash(begin, split, reader))
            begin = split
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(_range_hash(begin, end, reader))
    proof.reverse()
    return proof


def node_coordinates_for_append(index: int) -> list[tuple[int, int]]:
    """Perfect nodes ``(level, index)`` that become complete when leaf ``index`` is appended.

    They are the leaf itself plus one parent per trailing one bit of ``index``, lowest
    first, so the storage layer knows exactly which immutable rows to write.
    """
    _check_size("index", index)
    if index >= MAX_TREE_SIZE:
        raise IndexOutOfRangeError(f"appending leaf {index} would exceed {MAX_TREE_SIZE}")
    height = _trailing_zeros(index + 1)
    return [(level, index >> level) for level in range(height + 1)]


def new_nodes_for_append(
    index: int, new_leaf_hash: bytes, reader: HashReader
) -> list[tuple[int, int, bytes]]:
    """``(level, index, hash)`` of every perfect node completed by appending leaf ``index``.

    Reads only the left siblings on the way up (O(log n)); the caller stores the result
    in the same transaction as the leaf so that readers never see a half-built tree.
    """
    _check_hash("new_leaf_hash", new_leaf_hash)
    coordinates = node_coordinates_for_append(index)
    nodes = [(0, index, new_leaf_hash)]
    current = new_leaf_hash
    for level, node_index in coordinates[1:]:
        left = reader.get_node(level - 1, 2 * node_index)
        current = node_hash(left, current)
        nodes.append((level, node_index, current))
    return nodes


# --- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ---------------------------------


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-4).

    Useful when the root is not known yet (e.g. to look up a checkpoint); callers who do
    know it should use ``verify_inclusion``.
    """
    _check_hash("leaf_hash", leaf)
    _check_proof(proof)
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofLengthError(
            f"inclusion proof for index {index} in size {size} needs {expected} hashes, "
            f"got {len(proof)}"
        )
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofLengthError("inclusion proof longer than the path to the root")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:  # only runs when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofLengthError("inclusion proof shorter than the path to the root")
    return result


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` with ``root``; else raise."""
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise RootMismatchError(
            f"inclusion proof for index {index} in size {size} does not lead to the root"
        )


def _require_equal(name: str, computed: bytes, expected: bytes) -> None:
    if not hmac.compare_digest(computed, expected):
        raise RootMismatchError(f"consistency proof does not reproduce the {name}")


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree (new_size, new_root) extends (old_size, old_root); else raise.

    RFC 9162 2.1.4.2 covers 0 < old_size < new_size. The edge cases fail closed: equal
    sizes need an empty proof and equal roots; an old size of 0 needs an empty proof and
    the empty-tree root, since any other "empty" root is a bogus checkpoint.
    """
    _check_sizes(old_size, new_size)
    _check_hash("old_root", old_root)
    _check_hash("new_root", new_root)
    _check_proof(proof)
    expected = consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofLengthError(
            f"consistency proof from {old_size} to {new_size} needs {expected} hashes, "
            f"got {len(proof)}"
        )
    if old_size == 0:
        _require_equal("empty-tree root", EMPTY_ROOT, old_root)
        return
    if old_size == new_size:
        _require_equal("unchanged root", old_root, new_root)
        return

    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: old tree is a perfect left subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    first_root = second_root = path[0]  # step 5
    for node in path[1:]:  # step 6
        if sn == 0:
            raise ProofLengthError("consistency proof longer than the path to the root")
        if fn & 1 or fn == sn:
            first_root = node_hash(node, first_root)
            second_root = node_hash(node, second_root)
            while fn and not fn & 1:  # only runs when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            second_root = node_hash(second_root, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofLengthError("consistency proof shorter than the path to the root")
    _require_equal("old root", first_root, old_root)
    _require_equal("new root", second_root, new_root)


# --- incremental state ---------------------------------------------------------------------


class Frontier:
    """The right edge of a growing tree: one perfect subtree root per set bit of ``size``.

    This is the whole state an appender needs (a "compact range" over ``[0, size)``):
    appending is O(1) amortised node hashes, ``root()`` is O(log n), and the state is
    ``size`` plus at most 63 hashes, so the hub can persist it with each checkpoint and
    resume after a restart without rereading the log.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []  # highest level (leftmost) first

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Perfect subtree roots, leftmost (highest level) first: the persisted form."""
        return tuple(self._hashes)

    def to_state(self) -> tuple[int, list[bytes]]:
        """``(size, hashes)`` to persist; ``Frontier.from_state`` restores it exactly."""
        return self._size, list(self._hashes)

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """Rebuild a frontier from persisted state, refusing state that cannot be right."""
        _check_size("size", size)
        if len(hashes) != size.bit_count():
            raise FrontierStateError(
                f"a frontier of size {size} has {size.bit_count()} hashes, got {len(hashes)}"
            )
        for position, item in enumerate(hashes):
            if not isinstance(item, bytes) or len(item) != HASH_SIZE:
                raise FrontierStateError(f"frontier hash {position} is not {HASH_SIZE} bytes")
        frontier = cls()
        frontier._size = size
        frontier._hashes = list(hashes)
        return frontier

    @classmethod
    def from_reader(cls, size: int, reader: HashReader) -> Frontier:
        """Rebuild the frontier of a stored tree of ``size`` leaves in O(log n) reads."""
        _check_size("size", size)
        hashes: list[bytes] = []
        position = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if (size >> level) & 1:
                hashes.append(reader.get_node(level, position >> level))
                position += 1 << level
        return cls.from_state(size, hashes)

    def copy(self) -> Frontier:
        """Independent copy, e.g. to compute a tentative root without committing to it."""
        return Frontier.from_state(self._size, self._hashes)

    def append(self, new_leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash; return ``(level, index, hash)`` of the nodes it completed.

        The returned nodes are exactly those ``new_nodes_for_append`` would compute, so a
        writer holding a frontier can store them without reading anything back.
        """
        _check_hash("new_leaf_hash", new_leaf_hash)
        index = self._size
        completed = [(0, index, new_leaf_hash)]
        for level, node_index in node_coordinates_for_append(index)[1:]:
            completed.append((level, node_index, node_hash(self._hashes.pop(), completed[-1][2])))
        self._hashes.append(completed[-1][2])
        self._size = index + 1
        return completed

    def root(self) -> bytes:
        """Root of the tree of ``size`` leaves."""
        if not self._hashes:
            return EMPTY_ROOT
        return _fold_right(self._hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"


class MemoryTree:
    """An in-memory ``HashReader`` holding every leaf and perfect node of a tree.

    For tests and the offline auditor, which rebuild a whole log from an export bundle;
    it grows with ``new_nodes_for_append`` so it exercises the same code as real storage.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for item in leaf_hashes:
            self.append(item)

    @classmethod
    def from_data(cls, leaves: Iterable[bytes]) -> MemoryTree:
        """Tree over raw leaf data (hashed with ``leaf_hash``)."""
        return cls(leaf_hash(data) for data in leaves)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, new_leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash and store the perfect nodes it completes."""
        nodes = new_nodes_for_append(self.size, new_leaf_hash, self)
        for level, _index, value in nodes:
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(value)
        return nodes

    def get_node(self, level: int, index: int) -> bytes:
        """Stored hash of perfect node ``(level, index)``; ``MissingNodeError`` if absent."""
        _check_node(level, index)
        if level >= len(self._levels) or index >= len(self._levels[level]):
            raise MissingNodeError(f"no perfect node at level {level} index {index}")
        return self._levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """Root at ``size`` (default: the current size)."""
        size = self.size if size is None else size
        if size > self.size:
            raise IndexOutOfRangeError(f"size {size} exceeds tree size {self.size}")
        return root_from_reader(size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of leaf ``index`` in the tree at ``size`` (default: current)."""
        return inclusion_proof(index, self.size if size is None else size, self)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof from ``old_size`` to ``new_size`` (default: current)."""
        return consistency_proof(old_size, self.size if new_size is None else new_size, self)
