"""`truc doctor [--config FILE] [--nats-url URL] [--json]`: diagnose a deployment.

Exit 0 when every check is ok (or skipped, with the reason), 1 with a table naming what is
wrong otherwise. Reads the configuration and, when a stack runs on the data directory, its
address book (for the embedded NATS URL, its monitor and the hub's NATS user).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import (
    DEFAULT_DATA_DIR,
    EXIT_FAILURE,
    ConfigOption,
    DataDir,
    JsonOption,
    clean_errors,
    out,
)
from hub.doctor import Target

__all__ = ["doctor_command"]


def doctor_command(
    config: ConfigOption = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    nats_url: Annotated[
        str | None, typer.Option("--nats-url", help="NATS to check (default: config, stack).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check NATS, streams and consumers, the ledger, the latest checkpoint and the clocks."""
    from hub.config import load_config
    from hub.doctor import FAIL, OK, diagnose, healthy, to_json

    with clean_errors():
        hub_config = load_config(config)
    target = _target(hub_config.nats_url if nats_url is None else nats_url, data_dir)
    checks = asyncio.run(diagnose(hub_config, data_dir, target))
    if as_json:
        out.print_json(to_json(checks))
    else:
        table = Table(title="truc doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        colour = {OK: "green", FAIL: "bold red"}
        for check in checks:
            style = colour.get(check.status, "yellow")
            table.add_row(check.name, f"[{style}]{check.status}[/]", check.detail)
        out.print(table)
    if not healthy(checks):
        bad = ", ".join(c.name for c in checks if c.status == FAIL)
        if not as_json:
            out.print(f"unhealthy: {bad}", markup=False)
        raise typer.Exit(EXIT_FAILURE)


def _target(nats_url: str, data_dir: Path) -> Target:
    """The configured NATS, else the running stack's (with the hub's own NATS user)."""
    from adapters.nats import auth
    from hub.errors import StackNotRunning
    from hub.stackfile import read_stack

    try:
        stack = read_stack(data_dir)
    except StackNotRunning:
        return Target(nats_url)
    if nats_url:
        return Target(nats_url, stack.nats_monitor_url if stack.nats_url == nats_url else "")
    credentials = None
    hub_secret = data_dir / "secrets" / f"nats-{auth.HUB_USER}.json"
    if hub_secret.exists():  # read only: never create a user here
        credentials = auth.load_or_create(hub_secret.parent, auth.HUB_USER)
    return Target(stack.nats_url, stack.nats_monitor_url, credentials)
