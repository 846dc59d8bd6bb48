"""`truc up --role adapters --member CODE`: one agency's adapter in a process of its own
(as in production, where each agency runs its gateway), beside a hub on the same data
directory; the hub's `run/stack.json` stays the hub's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack, start_adapters, start_stack
from hub.errors import ConfigError
from hub.stackfile import read_stack
from tests.conftest import document_stub
from tests.support import G15, G22, H49, eventually, make_config


@pytest_asyncio.fixture
async def hub_alone(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Stack]:
    """A hub with no adapters of its own, on `tmp_path / "data"`."""
    stack = await start_stack(make_config(nats_server.url), tmp_path / "data", run_adapters=False)
    try:
        yield stack
    finally:
        await stack.stop()


async def test_an_adapter_for_one_member_runs_beside_the_hub(hub_alone: Stack) -> None:
    config, data = hub_alone.config, hub_alone.data_dir
    hub_file = read_stack(data)
    alone = await start_adapters(config, data, members=(G22,))
    others = await start_adapters(config, data, members=(H49, G15))
    try:
        assert list(alone.adapters) == [G22]
        assert sorted(others.adapters) == sorted([H49, G15])
        assert read_stack(data) == hub_file  # neither took the hub's stack file
        sent = await document_stub(alone, G22).SendDocument(  # type: ignore[arg-type]
            exchange_pb2.SendDocumentRequest(
                recipients=[H49], document=document_pb2.Document(subject="Mỗi cơ quan một")
            ),
            timeout=20,
        )
        await eventually(
            lambda: others.adapters[H49].mailbox.received(sent.message_id),
            what="the document at H49's adapter, in the other group",
        )
    finally:
        await others.stop()
        await alone.stop()


async def test_a_member_without_a_key_here_is_refused_by_name(hub_alone: Stack) -> None:
    with pytest.raises(ConfigError, match=r"--member: 000\.99\.99\.X99 is not a member"):
        await start_adapters(hub_alone.config, hub_alone.data_dir, members=("000.99.99.X99",))
