"""`truc audit ...`: checkpoints, proofs, export and offline verification."""

from __future__ import annotations

from hub.cli.apps import audit_app

__all__ = ["audit_app"]
