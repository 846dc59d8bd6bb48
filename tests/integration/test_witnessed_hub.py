"""A running hub configured with a witness and a quorum of one publishes only cosigned
checkpoints, and receipts' proofs carry that checkpoint."""

from __future__ import annotations

from pathlib import Path

from adapters.crypto import Signer, verify_raw
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import hub_signer, start_stack
from hub.config import parse_config
from hub.witness import Witness, WitnessServer, WitnessState
from ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, encode_vkey
from tests.conftest import document_stub, proven_receipt
from tests.support import G22, H49, eventually, make_config


async def test_checkpoints_wait_for_the_witness_quorum(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    base = make_config(nats_server.url)
    hub_key = hub_signer(base, data)  # made now so the witness can be told the log's key
    log_vkey = encode_vkey(hub_key.name, ALG_ED25519, hub_key.public_key)
    witness_key = Signer.generate("witness.test/w1")
    witness = WitnessServer(
        Witness.from_vkeys(
            witness_key.name,
            witness_key.public_key,
            witness_key.sign_raw,
            [log_vkey],
            WitnessState(tmp_path / "witness.json"),
            lambda public_key: lambda m, s: verify_raw(public_key, m, s),
        )
    ).start()
    try:
        witness_vkey = encode_vkey(witness_key.name, ALG_COSIGNATURE_V1, witness_key.public_key)
        config = parse_config(
            {
                "hub": {"name": base.name, "nats_url": nats_server.url},
                "members": [{"code": G22}, {"code": H49}],
                "routes": [{"senders": "*", "recipients": "*"}],
                "transparency": {
                    "every_leaves": 1,
                    "every_seconds": 0.5,
                    "witnesses": [{"url": witness.url, "vkey": witness_vkey}],
                    "quorum": 1,
                },
            }
        )
        stack = await start_stack(config, data)
        try:
            sent = await document_stub(stack, G22).SendDocument(
                exchange_pb2.SendDocumentRequest(
                    recipients=[H49],
                    document=document_pb2.Document(subject="Có nhân chứng"),
                    wait_for_receipt=True,
                ),
                timeout=20,
            )
            assert stack.transparency is not None
            transparency = stack.transparency
            note = await eventually(
                lambda: (n := transparency.latest_checkpoint()) and witness_key.name in n and n,
                what="a checkpoint cosigned by the witness",
            )
            assert f"— {hub_key.name} " in note and f"— {witness_key.name} " in note
            receipt = await eventually(
                lambda: proven_receipt(stack, G22, sent.message_id), what="a receipt with a proof"
            )
            assert witness_key.name in receipt.tlog_proof
        finally:
            await stack.stop()
    finally:
        witness.stop()
