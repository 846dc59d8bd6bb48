"""Exactly-once effect on real parts: a real nats-server, the hub, the SQLite ledger and the
adapters. Each test forces one way a message reaches the hub twice and checks that the ledger
holds one set of events, each recipient got the document once, and the ledger feed carries
every recorded event once.

The crash is simulated with HubService's fault hook (raising at a named point between the
ledger write and the acknowledgement); the "restart" is a new stack on the same data
directory and nats-server, as after a real crash.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from pathlib import Path

import nats
import pytest

import hub.bootstrap
from adapters.envelope import seal
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub import subjects
from hub.bootstrap import Stack, start_stack
from hub.model import Kind
from hub.service import AFTER_PUBLISH, AFTER_RECORD, HubService
from tests.conftest import document_stub
from tests.support import G15, G22, H49, eventually, make_config, stream_data

ACK_WAIT = 30.0  # the hub consumer's ack wait (adapters.nats.jetstream.ensure_hub_consumer)


class SimulatedCrash(Exception):
    """Raised by the fault hook where the process would have died."""


class Fault:
    """Raises at `point`; once (`then_recover`) or for ever after, like a dead process that
    keeps being handed messages until it is stopped."""

    def __init__(self, point: str, *, then_recover: bool = False) -> None:
        self.point = point
        self.then_recover = then_recover
        self.calls: list[str] = []
        self.crashes = 0

    def __call__(self, point: str) -> None:
        self.calls.append(point)
        if point == self.point and (self.crashes == 0 or not self.then_recover):
            self.crashes += 1
            raise SimulatedCrash(point)


def _install(monkeypatch: pytest.MonkeyPatch, fault: Fault) -> None:
    """The next `start_stack` builds its HubService with `fault`."""
    monkeypatch.setattr(hub.bootstrap, "HubService", functools.partial(HubService, fault=fault))


async def _inbox(stack: Stack, member: str) -> list[exchange_pb2.InboxItem]:
    stub = document_stub(stack, member)
    request = exchange_pb2.InboxRequest(include_acknowledged=True)
    return [item async for item in stub.Inbox(request)]


async def _send(stack: Stack) -> str:
    document = document_pb2.Document(
        subject="Về việc gửi một lần",
        from_organ=document_pb2.Organization(organ_id=G22),
        to_organs=[
            document_pb2.Organization(organ_id=H49),
            document_pb2.Organization(organ_id=G15),
        ],
    )
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49, G15], document=document, wait_for_receipt=False
        ),
        timeout=20,
    )
    return str(sent.document_id)


async def _feed_positions(url: str) -> list[int]:
    """Every document event's position on the ledger feed, in stream order (duplicates kept;
    the registry's own events, recorded at start, are left out)."""
    positions = []
    for data in await stream_data(url, subjects.LEDGER_STREAM):
        for line in (data or b"{}").split(b"\n"):  # one event a line
            body = json.loads(line)
            if str(body.get("topic", "")).startswith("ledger.document:"):
                positions.append(int(body["position"]))
    return positions


async def _hub_acked(url: str, count: int) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(subjects.IN_STREAM, subjects.HUB_CONSUMER)
        return bool(info.num_ack_pending == 0 and info.ack_floor.stream_seq >= count)
    finally:
        await nc.close()


async def _exactly_once(stack: Stack, url: str, document_id: str) -> None:
    for member in (H49, G15):
        items = await eventually(lambda m=member: _inbox(stack, m), what=f"{member} inbox")
        assert [i.document_id for i in items] == [document_id]
    trace = stack.ledger.trace(document_id)
    assert [e.event for e in trace] == ["Document.Sent", "Document.Routed", "Document.Routed"]
    # Nothing else about documents was recorded (the registry's own events come first).
    topics = [n.topic for n in stack.ledger.recorder.select_notifications(start=1, limit=1000)]
    assert sum(t.startswith("ledger.document:") for t in topics) == 3
    await eventually(lambda: _feed_complete(url), what="the ledger feed")
    assert sorted(await _feed_positions(url)) == [e.position for e in trace]


async def _feed_complete(url: str) -> bool:
    return len(await _feed_positions(url)) >= 3


async def test_a_message_nats_redelivers_is_recorded_once(
    nats_server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded and published, then the ack never happens: NATS delivers the message again.
    fault = Fault(AFTER_PUBLISH, then_recover=True)
    _install(monkeypatch, fault)
    stack = await start_stack(make_config(nats_server.url), tmp_path / "data")
    try:
        document_id = await _send(stack)
        await eventually(lambda: _hub_acked(nats_server.url, 1), what="the redelivery acked")
        assert fault.crashes == 1 and fault.calls.count(AFTER_PUBLISH) == 2
        await _exactly_once(stack, nats_server.url, document_id)
    finally:
        await stack.stop()


async def test_a_send_retried_after_the_dedupe_window_is_recorded_once(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    # The same signed bytes under two Nats-Msg-Ids: JetStream cannot tell, the ledger must.
    document = document_pb2.Document(
        subject="Gửi lại",
        from_organ=document_pb2.Organization(organ_id=G22),
        to_organs=[
            document_pb2.Organization(organ_id=H49),
            document_pb2.Organization(organ_id=G15),
        ],
    )
    document_id = str(uuid.uuid4())
    _, raw = seal(
        stack.adapters[G22].gateway._signer,
        kind=Kind.DOCUMENT,
        recipients=[H49, G15],
        document_id=document_id,
        payload=document.SerializeToString(),
        signed_at_ms=time.time_ns() // 1_000_000,
    )
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        for attempt in ("first", "retry"):
            ack = await js.publish(
                subjects.inbound(G22), raw, headers={"Nats-Msg-Id": f"{attempt}-{document_id}"}
            )
            assert not ack.duplicate
    finally:
        await nc.close()
    await eventually(lambda: _hub_acked(nats_server.url, 2), what="both copies acked")
    await _exactly_once(stack, nats_server.url, document_id)


@pytest.mark.parametrize("point", [AFTER_RECORD, AFTER_PUBLISH])
async def test_a_crash_between_the_ledger_write_and_the_ack_leaves_one_record_after_restart(
    point: str, nats_server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    fault = Fault(point)
    _install(monkeypatch, fault)
    first = await start_stack(make_config(nats_server.url), data)
    try:
        document_id = await _send(first)
        await eventually(lambda: fault.crashes > 0, what=f"the crash {point}")
        # The write is durable although nothing was acknowledged.
        assert first.ledger.trace(document_id)[0].event == "Document.Sent"
    finally:
        await first.stop()
    assert not await _hub_acked(nats_server.url, 1)
    monkeypatch.setattr(hub.bootstrap, "HubService", HubService)
    second = await start_stack(make_config(nats_server.url), data)
    try:
        # Usually redelivered at once; but a redelivery the dying hub's last pull request
        # was handed is, as after a real crash, only redelivered after the ack wait (30 s).
        await eventually(
            lambda: _hub_acked(nats_server.url, 1), within=ACK_WAIT + 15, what="acked after restart"
        )
        await _exactly_once(second, nats_server.url, document_id)
    finally:
        await second.stop()
