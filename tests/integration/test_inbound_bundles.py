"""Members' envelopes in bundles (`Truc-Bundle: envelopes` on truc.in.<member>): the hub
judges each envelope as if it came alone, so one bad envelope is refused on its own and a
poison one is set aside without taking the rest of its bundle with it."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from pathlib import Path

import nats
import pytest

import hub.bootstrap
from adapters.crypto import Signer
from adapters.envelope import bundle, seal
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2
from hub import subjects
from hub.batching import batch_id, bundles
from hub.bootstrap import Stack, start_stack
from hub.model import Kind
from tests.support import G22, H49, BuggyService, eventually, make_config, stream_data

POISON = "ĐỘC trong gói".encode()


def _signed_now(stack: Stack, signer: Signer, subject: str) -> tuple[str, str, bytes]:
    document_id = str(uuid.uuid4())
    message_id, raw = seal(
        signer,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=document_id,
        payload=document_pb2.Document(subject=subject).SerializeToString(),
        signed_at_ms=stack.adapters[G22].gateway._clock.now_ms(),
    )
    return message_id, document_id, raw


async def _publish_bundle(url: str, envelopes: Sequence[bytes], msg_id: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(
            subjects.inbound(G22),
            bundle(envelopes),
            headers={"Nats-Msg-Id": msg_id, subjects.BUNDLE_HEADER: subjects.ENVELOPE_BUNDLE},
        )
    finally:
        await nc.close()


def _events(stack: Stack, document_id: str) -> list[str]:
    try:
        return [e.event.split(".")[-1] for e in stack.ledger.trace(document_id)]
    except Exception:
        return []


async def _dead_letters(url: str) -> list[dict[str, object]]:
    return [json.loads(data) for data in await stream_data(url, subjects.DEAD_STREAM)]


async def _hub_settled(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(subjects.IN_STREAM, subjects.HUB_CONSUMER)
        return info.num_ack_pending == 0 and info.num_pending == 0
    finally:
        await nc.close()


def test_bundles_keep_order_and_stay_within_their_bounds() -> None:
    messages = [(f"m{i}", b"x" * 100_000) for i in range(5)]
    assert [len(g) for g in bundles(messages, lambda m: len(m[1]))] == [2, 2, 1]  # 256 KiB a bundle
    small = [(f"m{i}", b"x") for i in range(subjects.BUNDLE_MAX_ITEMS + 1)]
    groups = bundles(small, lambda m: len(m[1]))
    assert [len(g) for g in groups] == [subjects.BUNDLE_MAX_ITEMS, 1]
    assert [m for g in groups for m in g] == small
    assert batch_id("envelopes", ["a", "b"]) == batch_id("envelopes", ["a", "b"])
    assert batch_id("envelopes", ["a", "b"]) != batch_id("envelopes", ["b", "a"])


async def test_a_forged_envelope_in_a_bundle_is_refused_alone(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    sender = stack.adapters[G22].gateway._signer
    first = _signed_now(stack, sender, "Gói 1")
    forged = _signed_now(stack, Signer.generate(G22), "Giả mạo trong gói")
    second = _signed_now(stack, sender, "Gói 2")
    await _publish_bundle(nats_server.url, [first[2], forged[2], second[2]], "bundle-forged")
    for _, document_id, _ in (first, second):
        await eventually(
            lambda d=document_id: "Sent" in _events(stack, d), within=20, what="recorded"
        )
    letters = await eventually(lambda: _dead_letters(nats_server.url), what="the dead letter")
    assert [(x["message_id"], x["code"]) for x in letters] == [(forged[0], "unknown_key")]
    assert _events(stack, forged[1]) == []
    await eventually(lambda: _hub_settled(nats_server.url), what="the bundle acknowledged")


@pytest.mark.timeout(120)
async def test_a_poison_envelope_is_set_aside_and_the_rest_of_its_bundle_recorded(
    nats_server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.bootstrap, "HubService", functools.partial(BuggyService, poison=POISON))
    stack = await start_stack(make_config(nats_server.url), tmp_path / "data")
    try:
        sender = stack.adapters[G22].gateway._signer
        good = [_signed_now(stack, sender, f"Lành {i}") for i in range(2)]
        poison = _signed_now(stack, sender, POISON.decode())
        await _publish_bundle(nats_server.url, [good[0][2], poison[2], good[1][2]], "bundle-poison")
        for _, document_id, _ in good:
            await eventually(
                lambda d=document_id: "Sent" in _events(stack, d), within=30, what="recorded"
            )
        letters = await eventually(
            lambda: _dead_letters(nats_server.url), within=60, what="the poison set aside"
        )
        assert [(x["message_id"], x["code"]) for x in letters] == [(poison[0], "poison")]
        await eventually(
            lambda: _hub_settled(nats_server.url), within=30, what="the bundle terminated"
        )
        for _, document_id, _ in good:
            assert _events(stack, document_id).count("Sent") == 1
    finally:
        await stack.stop()
