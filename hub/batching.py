"""Cutting what travels together into messages JetStream takes, and naming them.

Pure functions, shared by the hub (receipts, the ledger feed, routed bundles) and the adapters
(envelope bundles), so both sides cut and name batches the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from hub import subjects

T = TypeVar("T")


def chunks(
    items: Sequence[T],
    size_of: Callable[[T], int],
    budget: int,
    max_items: int | None = None,
) -> list[list[T]]:
    """`items` in order, cut into runs whose sizes add up to at most `budget` and, when
    given, of at most `max_items` (an item bigger than the budget is a run of its own)."""
    runs: list[list[T]] = []
    used = 0
    for item in items:
        size = size_of(item)
        full = max_items is not None and runs and len(runs[-1]) >= max_items
        if not runs or full or used + size > budget:
            runs.append([])
            used = 0
        runs[-1].append(item)
        used += size
    return runs


def batch_id(prefix: str, ids: Sequence[str]) -> str:
    """A Nats-Msg-Id for a batch, derived from its items' ids: the same batch sent again
    gets the same id, so JetStream drops the copy."""
    digest = hashlib.blake2b("\n".join(ids).encode(), digest_size=12).hexdigest()
    return f"{prefix}+{len(ids)}:{digest}"


def bundles(items: Sequence[T], size_of: Callable[[T], int]) -> list[list[T]]:
    """`items` in order, cut into Bundles within the bounds every bundle keeps
    (hub.subjects), each item counted at `size_of` bytes with its length prefix."""
    return chunks(
        items,
        lambda item: size_of(item) + 8,
        subjects.BUNDLE_MAX_BYTES,
        subjects.BUNDLE_MAX_ITEMS,
    )
