"""`truc up --role adapters --member CODE`: one agency's adapter in a process of its own
(as in production, where each agency runs its gateway), beside a hub on the same data
directory; the hub's `run/stack.json` stays the hub's."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import start_adapters, start_stack
from hub.errors import ConfigError
from hub.stackfile import read_stack
from tests.conftest import document_stub
from tests.support import G15, G22, H49, eventually, make_config


async def test_an_adapter_for_one_member_runs_beside_the_hub(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    config = make_config(nats_server.url)
    data = tmp_path / "data"
    stack = await start_stack(config, data, run_adapters=False)
    try:
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
    finally:
        await stack.stop()


async def test_a_member_without_a_key_here_is_refused_by_name(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    config = make_config(nats_server.url)
    data = tmp_path / "data"
    stack = await start_stack(config, data, run_adapters=False)
    try:
        with pytest.raises(ConfigError, match=r"--member: 000\.99\.99\.X99 is not a member"):
            await start_adapters(config, data, members=("000.99.99.X99",))
    finally:
        await stack.stop()
