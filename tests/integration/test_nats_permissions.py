"""Least privilege on NATS: with the embedded server the hub provisions, adapter A cannot
publish as B, cannot read B's messages, and cannot touch streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS

from adapters.nats import auth
from hub import subjects
from hub.bootstrap import Stack, start_stack
from tests.support import G22, H49, eventually, make_config


@pytest_asyncio.fixture
async def embedded_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(make_config(""), tmp_path / "data")
    try:
        yield running
    finally:
        await running.stop()


class Violations:
    """Collects the server's asynchronous permission errors for one connection."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def record(self, error: Exception) -> None:
        self.errors.append(str(error))

    def saw(self, text: str) -> bool:
        """nats-py lower-cases the server's -ERR text, so compare without case."""
        return any(text.lower() in error.lower() for error in self.errors)


async def _connect_as(stack: Stack, member: str, violations: Violations) -> NATS:
    creds = auth.load_or_create(stack.data_dir / "secrets", auth.adapter_user(member))
    return await nats.connect(
        stack.nats_url,
        user=creds.user,
        password=creds.password,
        inbox_prefix=creds.inbox_prefix,
        error_cb=violations.record,
        allow_reconnect=False,
    )


async def test_anonymous_and_wrong_password_connections_are_refused(embedded_stack: Stack) -> None:
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(embedded_stack.nats_url, allow_reconnect=False, connect_timeout=2)
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(
            embedded_stack.nats_url,
            user=auth.adapter_user(G22),
            password="guess",
            allow_reconnect=False,
            connect_timeout=2,
        )


async def test_adapter_cannot_publish_as_another_member(embedded_stack: Stack) -> None:
    violations = Violations()
    nc = await _connect_as(embedded_stack, G22, violations)
    try:
        await nc.publish(subjects.inbound(H49), b"pretending to be H49")
        await nc.flush()
        await eventually(lambda: violations.saw("Permissions Violation for Publish"), what="denial")
        with pytest.raises(Exception):  # noqa: B017 - no responder: the stream never sees it
            await nc.jetstream().publish(subjects.inbound(H49), b"again", timeout=1)
    finally:
        await nc.close()
    info = await embedded_stack.hub_nc.jetstream().stream_info(
        subjects.IN_STREAM, subjects_filter=subjects.inbound(H49)
    )
    assert not (info.state.subjects or {})


async def test_adapter_cannot_read_another_members_messages(embedded_stack: Stack) -> None:
    violations = Violations()
    nc = await _connect_as(embedded_stack, G22, violations)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe_bind(
            durable=subjects.delivery_consumer(H49), stream=subjects.OUT_STREAM
        )
        with pytest.raises(Exception):  # noqa: B017 - the fetch request is denied
            await sub.fetch(1, timeout=1)
        await nc.subscribe(subjects.deliveries(H49))
        await nc.subscribe("_INBOX.>")
        await nc.flush()
        await eventually(
            lambda: (
                violations.saw('Permissions Violation for Subscription to "truc.out')
                and violations.saw('Permissions Violation for Subscription to "_INBOX.>')
            ),
            what="both subscriptions denied",
        )
    finally:
        await nc.close()


async def test_adapter_cannot_touch_streams(embedded_stack: Stack) -> None:
    violations = Violations()
    nc = await _connect_as(embedded_stack, G22, violations)
    try:
        js = nc.jetstream()
        with pytest.raises(Exception):  # noqa: B017
            await asyncio.wait_for(js.delete_stream(subjects.IN_STREAM), 2)
        await eventually(lambda: violations.saw("$JS.API.STREAM.DELETE"), what="denial")
    finally:
        await nc.close()
    info = await embedded_stack.hub_nc.jetstream().stream_info(subjects.IN_STREAM)
    assert info.config.name == subjects.IN_STREAM


async def test_own_subjects_still_work_end_to_end(embedded_stack: Stack) -> None:
    from adapters.pb.truc.v1 import document_pb2, exchange_pb2
    from tests.conftest import document_stub

    sent = await document_stub(embedded_stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49],
            document=document_pb2.Document(subject="Quyền tối thiểu"),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    assert sent.recorded
    await eventually(
        lambda: embedded_stack.adapters[H49].mailbox.inbox(), what="delivery over restricted users"
    )
