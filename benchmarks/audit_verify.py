"""Benchmark: offline verification of an audit bundle (`truc audit verify`), in events/s.

    python benchmarks/audit_verify.py --events 1000000 [--workers 2] [--dir DIR] [--keep]

Builds a synthetic bundle shaped like real traffic: per document, Sent (signed by the
sender), Routed x2, Delivered x2, statuses 01 and 06 from both recipients (signed): 9 events,
7 with a member signature to verify (78%), a checkpoint every 1,000 events signed by a hub
key. Member messages are signed for real, but from a pool of signed headers reused across
documents (signing a million headers would take longer than verifying them); the verifier
does not know that and checks every signature. Generating takes a while; `--dir` with
`--keep` reuses a bundle between runs.

This is a benchmark, not a test: it prints numbers and exits 0 unless verification fails.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from adapters.audit_signatures import build_checker, build_openssl_checker
from adapters.crypto import Signer, verify_raw
from adapters.envelope import open_envelope, seal
from hub.model import Kind
from ledger.audit import (
    LEAF_HASHES,
    POSITIONS,
    BundleCheckpoint,
    Manifest,
    MemberKeyRecord,
    MemberRecord,
    verify_bundle,
)
from ledger.leaf import encode_leaf
from ledger.merkle import MemoryTree, leaf_hash
from ledger.note import ALG_ED25519, Checkpoint, VerifyFunc, encode_vkey, sign_note

G22, G15, H49 = "000.00.00.G22", "000.00.00.G15", "000.00.00.H49"
POOL = 500  # signed headers per (sender, kind)
CHECKPOINT_EVERY = 1000


def _make_verify(public_key: bytes) -> VerifyFunc:
    return lambda message, signature: verify_raw(public_key, message, signature)


def _pool(signer: Signer, kind: Kind, recipients: tuple[str, ...]) -> list[tuple[str, str, str]]:
    headers = []
    for i in range(POOL):
        _id, raw = seal(
            signer,
            kind=kind,
            recipients=recipients,
            document_id=str(uuid.uuid4()),
            payload=b"x",
            signed_at_ms=1_750_000_000_000 + i,
        )
        opened = open_envelope(raw)
        headers.append(
            (
                opened.header.message_id,
                base64.b64encode(opened.header_bytes).decode(),
                base64.b64encode(opened.signature).decode(),
            )
        )
    return headers


def _state(fields: dict[str, object]) -> bytes:
    body = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-01T00:00:00.000000+00:00"},
        **fields,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def generate(out: Path, events: int) -> None:
    """Write a synthetic bundle of about ``events`` events to ``out``."""
    started = time.perf_counter()
    signers = {code: Signer.generate(code) for code in (G22, G15, H49)}
    hub = Signer.generate("truc.bench")
    sent = _pool(signers[G22], Kind.DOCUMENT, (H49, G15))
    statuses = {code: _pool(signers[code], Kind.STATUS, (G22,)) for code in (H49, G15)}
    deliveries = {code: _pool(signers[code], Kind.DELIVERY, (G22,)) for code in (H49, G15)}
    (out / "tree").mkdir(parents=True)
    tree = MemoryTree()
    position = 0
    document = 0
    with (
        (out / "events.jsonl").open("wb") as lines,
        (out / POSITIONS).open("wb") as positions,
        (out / LEAF_HASHES).open("wb") as hashes,
    ):

        def emit(originator: str, version: int, topic: str, state: bytes) -> None:
            nonlocal position
            position += 1
            record = {
                "position": position,
                "originator_id": originator,
                "originator_version": version,
                "topic": topic,
                "state": base64.b64encode(state).decode(),
            }
            lines.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            hashed = leaf_hash(encode_leaf(position, originator, version, topic, state))
            positions.write(position.to_bytes(8, "big"))
            hashes.write(hashed)
            tree.append(hashed)

        while position < events:
            k = document % POOL
            document += 1
            originator = str(uuid.uuid4())
            message_id, header, signature = sent[k]
            emit(
                originator,
                1,
                "ledger.document:Document.Sent",
                _state(
                    {
                        "originator_topic": "ledger.document:Document",
                        "document_id": str(uuid.uuid4()),
                        "message_id": message_id,
                        "sender": G22,
                        "recipients": [H49, G15],
                        "key_id": signers[G22].key_id,
                        "signed_at": "2026-01-01T00:00:00.000+00:00",
                        "received_at": "2026-01-01T00:00:00.000+00:00",
                        "header_b64": header,
                        "signature_b64": signature,
                        "payload_sha256": hashlib.sha256(b"x").hexdigest(),
                        "subject": "Về việc triển khai trục liên thông văn bản quốc gia",
                        "business_type": 0,
                        "refers_to": "",
                        "due_date": "",
                    }
                ),
            )
            version = 1
            for recipient in (H49, G15):
                version += 1
                emit(
                    originator,
                    version,
                    "ledger.document:Document.Routed",
                    _state(
                        {
                            "recipient": recipient,
                            "message_id": message_id,
                            "received_at": "2026-01-01T00:00:00.000+00:00",
                        }
                    ),
                )
            for recipient in (H49, G15):
                version += 1
                mid, hdr, sig = deliveries[recipient][k]
                emit(
                    originator,
                    version,
                    "ledger.document:Document.Delivered",
                    _state(
                        {
                            "recipient": recipient,
                            "message_id": mid,
                            "delivered_message_id": message_id,
                            "received_at": "2026-01-01T00:00:00.000+00:00",
                            "header_b64": hdr,
                            "signature_b64": sig,
                        }
                    ),
                )
            for code in ("01", "06"):
                for recipient in (H49, G15):
                    version += 1
                    mid, hdr, sig = statuses[recipient][k]
                    emit(
                        originator,
                        version,
                        "ledger.document:Document.StatusReported",
                        _state(
                            {
                                "reporter": recipient,
                                "status_code": code,
                                "description": "",
                                "message_id": mid,
                                "received_at": "2026-01-01T00:00:00.000+00:00",
                                "header_b64": hdr,
                                "signature_b64": sig,
                            }
                        ),
                    )
    size = tree.size
    sizes = [*range(CHECKPOINT_EVERY, size, CHECKPOINT_EVERY), size]
    with (out / "checkpoints.jsonl").open("w") as file:
        previous = 0
        for checkpoint_size in sizes:
            text = Checkpoint(hub.name, checkpoint_size, tree.root(checkpoint_size)).to_text()
            note = sign_note(text, hub.name, hub.public_key, hub.sign_raw)
            proof = tree.consistency_proof(previous, checkpoint_size) if previous else []
            item = BundleCheckpoint(checkpoint_size, note, True, 0)
            file.write(
                json.dumps(
                    {
                        "size": item.size,
                        "note": item.note,
                        "published": True,
                        "signed_at_ms": 0,
                        "source": "database",
                        "consistency": [base64.b64encode(h).decode() for h in proof],
                    }
                )
                + "\n"
            )
            previous = checkpoint_size
    members = [
        MemberRecord(code, code, "document", (MemberKeyRecord(s.key_id, s.public_key),))
        for code, s in signers.items()
    ]
    keys = {
        "members": [
            {
                "code": m.code,
                "name": m.name,
                "kind": m.kind,
                "keys": [
                    {
                        "key_id": k.key_id,
                        "public_key": base64.b64encode(k.public_key).decode(),
                        "valid_from_ms": 0,
                        "valid_until_ms": None,
                        "revoked_from_ms": None,
                    }
                    for k in m.keys
                ],
            }
            for m in members
        ]
    }
    (out / "keys.json").write_text(json.dumps(keys, indent=2))
    manifest = Manifest(
        origin=hub.name,
        log_vkey=encode_vkey(hub.name, ALG_ED25519, hub.public_key),
        events=size,
        tree_size=size,
    )
    (out / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2))
    print(
        f"generated {size} events, {len(sizes)} checkpoints in "
        f"{time.perf_counter() - started:.1f} s ({out})",
        file=sys.stderr,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None, help="default: CPU count")
    parser.add_argument("--dir", type=Path, default=None, help="bundle directory to (re)use")
    parser.add_argument("--keep", action="store_true", help="keep the generated bundle")
    parser.add_argument(
        "--openssl", action="store_true", help="verify with cryptography even if PyNaCl is here"
    )
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="truc-bench-")) / "bundle"
    if not (directory / "manifest.json").exists():
        generate(directory, args.events)
    manifest = json.loads((directory / "manifest.json").read_text())
    try:
        started = time.perf_counter()
        cpu_before = os.times()
        report = verify_bundle(
            directory,
            make_verify=_make_verify,
            checker_factory=build_openssl_checker if args.openssl else build_checker,
            log_vkey=manifest["log_vkey"],
            workers=args.workers,
        )
        seconds = time.perf_counter() - started
        cpu_after = os.times()
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(directory.parent, ignore_errors=True)
    cpu = sum(cpu_after[:4]) - sum(cpu_before[:4])  # this process and its workers
    print(
        f"verified {report.events} events ({report.signatures_checked} member signatures, "
        f"{report.checkpoints} checkpoints) in {seconds:.1f} s: "
        f"{report.events / seconds:,.0f} events/s; ok={report.ok}"
    )
    print(
        f"CPU {cpu:.1f} s ({cpu / max(report.events, 1) * 1e6:.0f} us/event; "
        f"{cpu / 2:.1f} s of wall time on 2 otherwise idle cores)"
    )
    if not report.ok:
        print(f"first failure: {report.first_failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
