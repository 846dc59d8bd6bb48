"""A NATS server restart under load, and a poison message in the inbound stream."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import grpc
import nats
import pytest

import hub.bootstrap
from adapters.nats.embedded import EmbeddedNats, free_port
from adapters.pb.truc.v1 import document_pb2, exchange_pb2, exchange_pb2_grpc
from hub import subjects
from hub.bootstrap import start_stack
from tests.faults.harness import (
    Exercise,
    TrucProcess,
    assert_exactly_once,
    write_config,
)
from tests.support import G15, G22, H49, POST, BuggyService, eventually, make_config, stream_data


@pytest.mark.timeout(150)
async def test_nats_server_restart_under_load(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports)
    data = tmp_path / "data"
    hub_ = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("nats_restart", ports).start()
    try:
        await exercise.wait_delivered(30)
        nats_server.stop()  # SIGTERM: the server goes away with JetStream state on disk
        failed = sum(exercise.load.failures.values())
        await eventually(
            lambda: sum(exercise.load.failures.values()) > failed, what="a send refused"
        )
        nats_server.start(keep_ports=True)  # same port, same store: clients reconnect on their own
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 10, within=60)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub_.terminate()
    assert_exactly_once(exercise.judge(config, data))


POISON = "ĐỘC: làm hỏng bộ xử lý".encode()


@pytest.mark.timeout(120)
async def test_a_poison_message_is_dead_lettered_without_blocking_the_queue(
    nats_server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.bootstrap, "HubService", functools.partial(BuggyService, poison=POISON))
    stack = await start_stack(make_config(nats_server.url), tmp_path / "data")
    ports = {code: a.port for code, a in stack.adapters.items()}
    exercise = Exercise("poison_message", ports).start()
    try:
        await exercise.wait_delivered(10)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports[G22]}") as ch:
            poison = await exchange_pb2_grpc.DocumentExchangeStub(ch).SendDocument(
                exchange_pb2.SendDocumentRequest(
                    recipients=[H49],
                    document=document_pb2.Document(
                        subject=POISON.decode(),
                        from_organ=document_pb2.Organization(organ_id=G22),
                        to_organs=[document_pb2.Organization(organ_id=H49)],
                    ),
                    wait_for_receipt=False,
                ),
                timeout=5,
            )
        # The stream behind it keeps flowing while it is retried, then it is set aside.
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 20, within=30)
        letter = await eventually(
            lambda: _dead_letter(nats_server.url, poison.document_id),
            within=30,
            what="the poison message in the dead letters",
        )
        assert letter["code"] == "poison" and "processing failed 5 times" in letter["reason"]
        notifications = stack.ledger.recorder.select_notifications(start=1, limit=10_000)
        assert [
            n
            for n in notifications
            if "Refused" in n.topic and poison.document_id.encode() in n.state
        ], "the poison message is recorded as refused"
        await eventually(lambda: _hub_idle(nats_server.url), what="nothing left pending")
        await exercise.settle()
        result = exercise.judge(make_config_path(tmp_path), tmp_path / "data", "1 poison message")
    finally:
        await exercise.finish_load()
        await stack.stop()
    assert poison.document_id not in exercise.agencies[0].delivered
    assert_exactly_once(result)


def make_config_path(tmp_path: Path) -> Path:
    """The same ledger as make_config, as a file for the reconciliation to open."""
    path = tmp_path / "truc-ledger.toml"
    path.write_text('[ledger]\nbackend = "sqlite"\n', encoding="utf-8")
    return path


async def _dead_letter(url: str, document_id: str) -> dict[str, object] | None:
    for data in await stream_data(url, subjects.DEAD_STREAM):
        letter: dict[str, object] = json.loads(data or b"{}")
        if letter.get("code") == "poison":
            return letter
    return None


async def _hub_idle(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(subjects.IN_STREAM, subjects.HUB_CONSUMER)
        return bool(info.num_ack_pending == 0 and info.num_pending == 0)
    finally:
        await nc.close()
