"""Key rotation with an overlap, revocation from an instant: a signature is judged with the
key valid at the message's signing time, and the running stack takes changes without a restart."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from adapters.crypto import Signer
from adapters.envelope import seal
from adapters.keystore import KeyStore
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub import subjects
from hub.bootstrap import Stack
from hub.model import Kind
from tests.conftest import document_stub
from tests.integration.test_cli import Up, truc
from tests.integration.test_walking_skeleton import _dead_letters, _publish_raw
from tests.support import G22, H49, eventually, write_config


def _now() -> int:
    return time.time_ns() // 1_000_000


async def _send_signed(url: str, signer: Signer, signed_at_ms: int) -> str:
    message_id, raw = seal(
        signer,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=document_pb2.Document(subject="Ký bằng khóa cũ").SerializeToString(),
        signed_at_ms=signed_at_ms,
    )
    await _publish_raw(url, subjects.inbound(G22), raw, message_id)
    return message_id


def _recorded(stack: Stack, message_id: str) -> bool:
    return any(
        json.loads(n.state).get("message_id") == message_id and n.topic.endswith("Document.Sent")
        for n in stack.ledger.recorder.select_notifications(start=1, limit=1000)
    )


async def test_rotation_overlap_then_revocation(stack: Stack, nats_server: EmbeddedNats) -> None:
    store = KeyStore(stack.data_dir / "keys")
    old = stack.adapters[G22].gateway._signer
    new = store.rotate(G22, _now(), overlap_ms=60_000)
    await stack.reload_keys()
    assert stack.adapters[G22].gateway.key_id == new.key_id != old.key_id
    # The adapter now signs with the new key, and the hub accepts it.
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49],
            document=document_pb2.Document(subject="Khóa mới"),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    assert sent.recorded
    # Within the overlap, the old key still speaks for G22 (messages in flight).
    in_flight = await _send_signed(nats_server.url, old, _now())
    await eventually(lambda: _recorded(stack, in_flight), what="old-key message accepted")
    # Compromised: revoked from one second ago. Before that instant its signatures stand...
    revoked_at = _now() - 1000
    store.revoke(G22, old.key_id, revoked_at)
    await stack.reload_keys()
    before = await _send_signed(nats_server.url, old, revoked_at - 5000)
    await eventually(lambda: _recorded(stack, before), what="signed before revocation")
    # ...and anything it signed from then on is refused, recorded and dead-lettered.
    after = await _send_signed(nats_server.url, old, _now())
    (letter,) = await _dead_letters(nats_server.url, 1)
    assert letter["message_id"] == after and letter["code"] == "key_revoked"
    assert not _recorded(stack, after)
    topics = [n.topic for n in stack.ledger.recorder.select_notifications(start=1, limit=1000)]
    assert "ledger.member:Member.KeyAdded" in topics
    assert "ledger.member:Member.KeyRevoked" in topics
    # The rotation's end of overlap is in the ledger too, as its own event.
    assert "ledger.member:Member.KeyRetired" in topics
    retired = stack.ledger.member(G22).keys[old.key_id]
    assert retired["valid_until"] and retired["revoked_from"]


async def test_a_retired_key_is_refused_after_the_overlap(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    old = stack.adapters[G22].gateway._signer
    KeyStore(stack.data_dir / "keys").rotate(G22, _now(), overlap_ms=0)
    await stack.reload_keys()
    late = await _send_signed(nats_server.url, old, _now() + 10)
    (letter,) = await _dead_letters(nats_server.url, 1)
    assert letter["message_id"] == late and letter["code"] == "key_not_valid"


def test_truc_keys_rotate_reaches_the_running_stack(
    tmp_path: Path, nats_server: EmbeddedNats
) -> None:
    data = tmp_path / "data"
    up = Up(data, write_config(tmp_path / "truc.toml", nats_server.url))
    try:
        up.wait_for("ready")
        before = truc("keys", "list", G22, "--json", data_dir=data)
        (first,) = json.loads(before.stdout)
        rotated = truc("keys", "rotate", G22, "--overlap", "60", data_dir=data)
        assert rotated.returncode == 0, rotated.stderr
        new_key = rotated.stdout.strip()
        assert len(new_key) == 8 and new_key != first["key_id"]
        assert "reloaded its keys" in rotated.stderr
        keys = json.loads(truc("keys", "list", G22, "--json", data_dir=data).stdout)
        assert [k["key_id"] for k in keys] == [first["key_id"], new_key]
        assert keys[0]["valid_until"] and not keys[1]["valid_until"]
        sent = truc(
            "send", "--from", G22, "--to", H49, "--subject", "Sau khi đổi khóa", data_dir=data
        )
        assert sent.returncode == 0, sent.stderr
        unknown = truc("keys", "revoke", G22, "deadbeef", data_dir=data)
        assert unknown.returncode == 4 and "has no key deadbeef" in unknown.stderr
    finally:
        up.stop()
