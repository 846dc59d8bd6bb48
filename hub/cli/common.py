"""What every `truc` command shares: the data-directory and config options, the consoles,
one-line failures with exit codes, opening the ledger, and progress bars on stderr.

Exit codes: 1 failure, 2 usage, 3 stack not running, 4 refused (bad input or the hub said
no), 5 not found.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import grpc
import typer
from rich.console import Console

from hub.errors import HubError, StackNotRunning
from ledger.base import NotRecorded
from ledger.errors import LedgerError, UnknownDocument

if TYPE_CHECKING:
    from ledger.application import Ledger

out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

EXIT_FAILURE, EXIT_NOT_RUNNING, EXIT_REFUSED, EXIT_NOT_FOUND = 1, 3, 4, 5

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="TRUC_DATA_DIR",
        help="Where the stack keeps its state (default: $TRUC_DATA_DIR, else ./var).",
        file_okay=False,
    ),
]
DEFAULT_DATA_DIR = Path("var")
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Hub configuration (TOML).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of tables.")]

_GRPC_EXIT = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_REFUSED,
    grpc.StatusCode.PERMISSION_DENIED: EXIT_REFUSED,
    grpc.StatusCode.UNAUTHENTICATED: EXIT_REFUSED,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_REFUSED,
    grpc.StatusCode.ALREADY_EXISTS: EXIT_REFUSED,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.UNAVAILABLE: EXIT_NOT_RUNNING,
}


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    err.print(f"truc: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn every expected failure into one line on stderr and an exit code."""
    try:
        yield
    except StackNotRunning as error:
        fail(str(error), EXIT_NOT_RUNNING)
    except (UnknownDocument, NotRecorded) as error:
        fail(str(error), EXIT_NOT_FOUND)
    except (HubError, LedgerError) as error:
        fail(str(error))
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        detail = error.details() if hasattr(error, "details") else str(error)
        name = code.name if code is not None else "ERROR"
        fail(f"{name}: {detail}", _GRPC_EXIT.get(code, EXIT_FAILURE) if code else EXIT_FAILURE)


def open_ledger(data_dir: Path, config: Path | None) -> Ledger:
    """The ledger of the stack in `data_dir` (from its stack file), else from `config`."""
    from hub.config import load_config
    from hub.stackfile import read_stack
    from ledger.application import Ledger
    from ledger.storage import SqliteStorage

    if config is None:
        try:
            info = read_stack(data_dir, require_running=False)
            if info.ledger_env.get("SQLITE_DBNAME"):
                return Ledger(SqliteStorage(Path(info.ledger_env["SQLITE_DBNAME"])))
        except StackNotRunning:
            pass
    storage = load_config(config).storage(data_dir)
    if isinstance(storage, SqliteStorage) and not storage.path.exists():
        raise StackNotRunning(
            f"no ledger at {storage.path} (has `truc up` run with this --data-dir?)"
        )
    return Ledger(storage)


@contextmanager
def progress(
    what: str, total: int | None = None, *, at_least: int = 0
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr (stdout stays clean for data), or None
    when stderr is not a terminal or `total` is below `at_least` (a bar would only flicker)."""
    if not err.is_terminal or (total is not None and total < at_least):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        f"[bold]{what}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=total)

        def advance(done: int, of: int) -> None:
            bar.update(task, completed=done, total=max(of, done))

        yield advance
