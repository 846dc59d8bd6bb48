"""Receipts with inclusion proofs: after recording, the sender and every recipient can get,
through their own adapter, the ledger position and a tlog-proof against a signed checkpoint."""

from __future__ import annotations

import json

import grpc
import nats
import pytest

from adapters.document.gateway import check_receipt_proof
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub import subjects
from hub.bootstrap import Stack
from ledger.leaf import decode_leaf
from ledger.note import TlogProof
from tests.conftest import document_stub, proven_receipt
from tests.support import G15, G22, H49, eventually


async def test_sender_and_recipients_get_verified_inclusion_proofs(stack: Stack) -> None:
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49, G15],
            document=document_pb2.Document(subject="Biên nhận có bằng chứng"),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    await eventually(lambda: stack.adapters[H49].mailbox.received(sent.message_id), what="arrival")
    for member in (G22, H49, G15):
        record = await eventually(
            lambda m=member: proven_receipt(stack, m, sent.message_id), what=f"{member}'s proof"
        )
        assert record.ledger_position == sent.ledger_position and record.accepted
        # Anyone holding the hub's key can check it offline, from the text alone.
        check_receipt_proof(
            record.tlog_proof,
            sent.ledger_position,
            stack.hub_signer.name,
            stack.hub_signer.public_key,
        )
        leaf = decode_leaf(TlogProof.parse(record.tlog_proof).extra)
        assert leaf.topic.endswith("Document.Sent")
        assert json.loads(leaf.state)["message_id"] == sent.message_id


async def test_unknown_message_and_foreign_positions_are_refused(
    stack: Stack, nats_server: EmbeddedNats
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await document_stub(stack, G22).GetReceipt(
            exchange_pb2.GetReceiptRequest(message_id="00000000-0000-4000-8000-000000000000")
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    sent = await document_stub(stack, G22).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49],
            document=document_pb2.Document(subject="Riêng tư"),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    await eventually(lambda: proven_receipt(stack, G22, sent.message_id), what="a checkpoint")
    # G15 takes no part in that document: the hub does not hand out its bytes.
    nc = await nats.connect(nats_server.url)
    try:
        reply = await nc.request(
            subjects.proof_requests(G15),
            json.dumps({"position": sent.ledger_position}).encode(),
            timeout=5,
        )
    finally:
        await nc.close()
    answer = json.loads(reply.data)
    assert answer["error"] == f"position: {G15} takes no part in that event"
    assert "proof" not in answer


def test_a_tampered_proof_is_refused() -> None:
    from adapters.document.gateway import ProofError

    with pytest.raises(ProofError):
        check_receipt_proof("c2sp.org/tlog-proof@v1\nindex 0\n\nbad\n", 1, "truc.test", b"\0" * 32)
