"""The ledger's followers (Merkle log, checkpoints, proofs, read models) in a group of their
own, beside a hub started without them: receipts still get verified inclusion proofs, the
read models catch up, and the hub itself neither signs checkpoints nor serves proofs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.document.gateway import check_receipt_proof
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack, start_ledger_followers, start_stack
from hub.errors import ConfigError
from hub.followers import FollowerGroup
from ledger.projections import Views
from tests.conftest import document_stub, make_config, proven_receipt
from tests.support import G22, H49, eventually


@pytest_asyncio.fixture
async def apart(
    nats_server: EmbeddedNats, tmp_path: Path
) -> AsyncIterator[tuple[Stack, FollowerGroup]]:
    config = make_config(nats_server.url)
    stack = await start_stack(config, tmp_path / "data", run_followers=False)
    try:
        followers = await start_ledger_followers(config, tmp_path / "data")
        try:
            yield stack, followers
        finally:
            await followers.stop()
    finally:
        await stack.stop()


async def test_followers_apart_sign_checkpoints_serve_proofs_and_keep_the_views(
    apart: tuple[Stack, FollowerGroup],
) -> None:
    stack, followers = apart
    assert stack.transparency is None and stack.projections_task is None
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49],
            document=document_pb2.Document(subject="Theo dõi sổ cái ở tiến trình riêng"),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    record = await eventually(lambda: proven_receipt(stack, G22, sent.message_id), what="a proof")
    check_receipt_proof(
        record.tlog_proof, sent.ledger_position, stack.hub_signer.name, stack.hub_signer.public_key
    )
    assert followers.transparency.latest_checkpoint() is not None

    def caught_up() -> bool:
        return Views(stack.ledger).position() >= sent.ledger_position

    await eventually(caught_up, what="the read models to reach the document")


async def test_followers_without_a_nats_or_a_hub_here_are_refused_by_name(
    tmp_path: Path,
) -> None:
    nowhere = tmp_path / "nothing-runs-here"
    with pytest.raises(ConfigError, match=r"--role followers needs --nats-url"):
        await start_ledger_followers(make_config(""), nowhere)
    assert not (nowhere / "secrets").exists()  # refused before any NATS password was made
