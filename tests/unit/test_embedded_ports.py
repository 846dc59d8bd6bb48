"""A port picked free can be taken before nats-server binds it: the start retries."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from adapters.nats import embedded
from adapters.nats.embedded import EmbeddedNats


def test_a_picked_port_taken_before_the_bind_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    picks = iter([taken])
    real = embedded.free_port
    monkeypatch.setattr(embedded, "free_port", lambda: next(picks, None) or real())
    server = EmbeddedNats(store_dir=tmp_path / "nats")
    try:
        server.start()
        assert server.port != taken and server.running()
    finally:
        server.stop()
        squatter.close()
