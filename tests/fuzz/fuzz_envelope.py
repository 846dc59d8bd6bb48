"""Fuzz the hub's envelope intake: parsing, the sender's signature, the payload rules, and
the recipient-side checks of routed envelopes and receipts.

    python -m tests.fuzz.fuzz_envelope -runs=100000
"""

from __future__ import annotations

import contextlib
import uuid

import atheris

with atheris.instrument_imports(include=["adapters", "hub"]):
    from adapters.crypto import Signer
    from adapters.envelope import (
        ProtobufCodec,
        open_envelope,
        open_receipt,
        open_routed,
        seal,
    )
    from adapters.pb.truc.v1 import document_pb2
    from hub.errors import MalformedMessage
    from hub.model import Kind

from tests.fuzz.harness import run, splice

SENDER = Signer.generate("000.00.00.G22")
HUB = Signer.generate("truc-hub")
CODEC = ProtobufCodec(HUB)
_, SAMPLE = seal(
    SENDER,
    kind=Kind.DOCUMENT,
    recipients=["000.00.00.H49"],
    document_id=str(uuid.uuid4()),
    payload=document_pb2.Document(subject="Công văn thử").SerializeToString(),
    signed_at_ms=1_790_000_000_000,
)


def test_one_input(data: bytes) -> None:
    raw = splice(SAMPLE, data)
    try:
        opened = open_envelope(raw)
        if CODEC.sender_signature_valid(opened, SENDER.public_key):
            CODEC.inspect(opened)
    except MalformedMessage:
        pass
    with contextlib.suppress(MalformedMessage):
        open_routed(raw, hub_public_key=HUB.public_key, recipient="000.00.00.H49")
    with contextlib.suppress(MalformedMessage):
        open_receipt(raw, hub_public_key=HUB.public_key)


if __name__ == "__main__":
    run(test_one_input)
