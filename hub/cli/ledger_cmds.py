"""`truc ledger ...` and `truc audit replay`: statistics, projections and replay."""

from __future__ import annotations

from hub.cli.apps import audit_app, ledger_app

__all__ = ["audit_app", "ledger_app"]
