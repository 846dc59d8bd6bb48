"""How the CLI shows a document's place in the ledger: its revoke/update/replace chain.

Kept apart from the commands so that `truc trace` and `truc edxml` read documents one way.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.application import Ledger
from ledger.document import Document
from ledger.errors import UnknownDocument

_VERBS = {"updated": "updates", "replaced": "replaces", "revoked": "revokes"}


def loader(ledger: Ledger) -> Callable[[str], Document | None]:
    """Load a document from the ledger, None when it was never recorded."""

    def load(document_id: str) -> Document | None:
        try:
            return ledger.document(document_id)
        except UnknownDocument:
            return None

    return load


def format_chain(chain: list[dict[str, str]], current: str) -> str:
    """One line: `A → B (updates A) → C (replaces A)`, the current document starred."""
    parts = []
    for link in chain:
        name = link["document_id"] + (" *" if link["document_id"] == current else "")
        if link["relation"]:
            name += f" ({_VERBS.get(link['relation'], link['relation'])} {link['of']})"
        parts.append(name)
    return " → ".join(parts)
