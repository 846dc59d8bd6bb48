"""Command groups of the `truc` CLI, so each group's commands can live in their own module."""

from __future__ import annotations

import typer

audit_app = typer.Typer(
    help="Audit the ledger: checkpoints, proofs, replay, export and offline verification.",
    no_args_is_help=True,
)
ledger_app = typer.Typer(help="Inspect and maintain the ledger.", no_args_is_help=True)
