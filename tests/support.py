"""Helpers shared by the tests: waiting on conditions with deadlines, test configurations."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import nats
import pytest

from adapters.crypto import Signer
from adapters.envelope import ProtobufCodec, open_envelope, seal
from adapters.pb.truc.v1 import document_pb2
from hub.config import HubConfig, parse_config
from hub.model import Kind
from hub.service import HubService, Inbound, Prepared

if TYPE_CHECKING:
    from hub.bootstrap import Stack

T = TypeVar("T")

G22, G15, H49, G01, POST = (
    "000.00.00.G22",
    "000.00.00.G15",
    "000.00.00.H49",
    "000.00.00.G01",
    "BCCI.VNPOST",
)


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    within: float = 15.0,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        last = result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")


def wait_until(probe: Callable[[], T], *, timeout: float = 15.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        last = result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The context of every signature `adapters.envelope` checks from now on, in order
    (the checks still happen)."""
    from adapters import envelope
    from adapters.crypto import verify

    contexts: list[bytes] = []

    def counting(key: bytes, context: bytes, data: bytes, signature: bytes) -> bool:
        contexts.append(context)
        return verify(key, context, data, signature)

    monkeypatch.setattr(envelope, "verify", counting)
    return contexts


def rfc6962_vectors() -> dict[str, Any]:
    """The Merkle-tree and signed-note test vectors (a copy of shared/vectors/rfc6962.json)."""
    import json

    path = Path(__file__).resolve().parent / "vectors" / "rfc6962.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def make_config(
    nats_url: str = "", *, tls: dict[str, Any] | None = None, **ledger: Any
) -> HubConfig:
    """Four members on free gRPC ports; documents allowed between state bodies only."""
    members = [
        {"code": G22, "name": "Văn phòng Chính phủ"},
        {"code": G15, "name": "Bộ Tư pháp"},
        {"code": H49, "name": "UBND tỉnh Quảng Ninh"},
        {"code": POST, "name": "Bưu điện Việt Nam", "kind": "postal"},
    ]
    return parse_config(
        {
            "hub": {
                "name": "truc.test",
                "nats_url": nats_url,
                "nats_port": 0,
                "nats_monitor_port": 0,
            },
            "ledger": {"backend": "sqlite", **ledger},
            "members": members,
            "routes": [{"senders": "000.*", "recipients": "000.*"}],
            "tls": tls or {},
            # Sign a checkpoint after every new leaf, so receipts get proofs quickly.
            "transparency": {"every_leaves": 1, "every_seconds": 0.5},
        },
        "<test>",
    )


def write_config(path: Path, nats_url: str) -> Path:
    path.write_text(
        f"""
[hub]
name = "truc.test"
nats_url = "{nats_url}"

[ledger]
backend = "sqlite"

[[members]]
code = "{G22}"
name = "Văn phòng Chính phủ"

[[members]]
code = "{G15}"
name = "Bộ Tư pháp"

[[members]]
code = "{H49}"
name = "UBND tỉnh Quảng Ninh"

[[members]]
code = "{POST}"
name = "Bưu điện Việt Nam"
kind = "postal"

[[routes]]
senders = "000.*"
recipients = "000.*"
""",
        encoding="utf-8",
    )
    return path


async def stream_data(url: str, stream: str) -> list[bytes]:
    """The data of every message a JetStream stream holds, in stream order (for tests that
    read a whole stream: dead letters, the ledger feed)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        if not state.messages:
            return []
        return [
            (await js.get_msg(stream, seq)).data or b""
            for seq in range(state.first_seq, state.last_seq + 1)
        ]
    finally:
        await nc.close()


class BuggyService(HubService):
    """A hub with a bug that any batch holding `poison` triggers, every time (for the
    poison-message tests: `functools.partial(BuggyService, poison=...)` as `HubService`)."""

    def __init__(self, *, poison: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._poison = poison

    async def prepare(self, batch: Sequence[Inbound]) -> Prepared:
        if any(self._poison in item.data for item in batch):
            raise RuntimeError("a bug this message triggers")
        return await super().prepare(batch)


def routed_copy(stack: Stack, hub: Signer, subject: str) -> tuple[str, bytes]:
    """A document from G22 to H49 as `hub` would route it (the stack's own hub key, or a
    forger's): its message id and routed bytes, to publish straight to H49's deliveries."""
    sender = stack.adapters[G22].gateway._signer
    message_id, raw = seal(
        sender,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=document_pb2.Document(subject=subject).SerializeToString(),
        signed_at_ms=1,
    )
    routed = ProtobufCodec(hub).routed(
        open_envelope(raw),
        recipient=H49,
        ledger_position=7,
        received_at_ms=1,
        sender_public_key=sender.public_key,
    )
    return message_id, routed
