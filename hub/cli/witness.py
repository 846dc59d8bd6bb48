"""`truc witness`: run an independent cosigner for a hub's checkpoints (c2sp.org/tlog-witness).

The lead registers ``witness_command`` as the top-level `truc witness`. A witness is meant to
be run by someone other than the hub's operator: its own key file and state file, and only
the hub's public vkey (`truc audit vkey`) to trust.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

__all__ = ["witness_command"]


def _listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise typer.BadParameter(f"{value!r} is not HOST:PORT", param_hint="--listen")
    return host.strip("[]"), int(port)


def witness_command(
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            help="The witness's Ed25519 private key (PEM); created if missing.",
            dir_okay=False,
        ),
    ],
    state: Annotated[
        Path,
        typer.Option(
            "--state", help="Where the witness keeps what it cosigned (JSON).", dir_okay=False
        ),
    ],
    log_vkey: Annotated[
        list[str],
        typer.Option("--log-vkey", help="vkey of a log to witness, e.g. from `truc audit vkey`."),
    ],
    name: Annotated[
        str, typer.Option("--name", help="The witness's key name, e.g. witness.example.vn/w1.")
    ],
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to serve on (port 0: any free port).")
    ] = "127.0.0.1:7380",
) -> None:
    """Cosign checkpoints of the given logs when they extend what this witness saw before."""
    from adapters.crypto import CryptoError, load_or_create_key, verify_raw
    from hub.cli.main import clean_errors, fail
    from hub.witness import Witness, WitnessServer, WitnessState

    host, port = _listen_address(listen)
    with clean_errors():
        try:
            signer = load_or_create_key(key, name, demo=False)
        except CryptoError as error:
            fail(str(error))
        witness = Witness.from_vkeys(
            name,
            signer.public_key,
            signer.sign_raw,
            log_vkey,
            WitnessState(state),
            lambda public_key: lambda message, sig: verify_raw(public_key, message, sig),
        )
        try:
            server = WitnessServer(witness, host, port)
        except OSError as error:
            fail(f"cannot listen on {listen}: {error.strerror}")

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"witness {name} listening on {server.url}", flush=True)
    print(f"vkey {witness.vkey}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("witness: stopping", file=sys.stderr)
    finally:
        server.close()
