"""`truc streams tail`: decoding every kind of Truc message, and following a real stream as a
process, both from the start and for new messages."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from datetime import UTC, datetime

import pytest
import typer

from adapters.crypto import Signer
from adapters.envelope import ProtobufCodec, open_envelope, seal
from adapters.pb.truc.v1 import document_pb2
from hub import subjects
from hub.bootstrap import Stack
from hub.cli.ops import describe_message, describe_messages, parse_span, render_line, stream_for
from hub.model import Kind, ReceiptFacts
from tests.ops.conftest import cli, report_status, send_document
from tests.support import G15, G22, H49

WHEN = datetime(2026, 3, 2, 9, 15, 30, 250_000, tzinfo=UTC)
META = {"seq": 7, "time": WHEN}


def _sealed(subject: str = "Về việc triển khai trục") -> tuple[Signer, bytes]:
    sender = Signer.generate(G22)
    doc = document_pb2.Document(
        subject=subject,
        due_date="2026/03/10",
        code=document_pb2.DocumentCode(code_number="7816", code_notation="VPCP-TTĐT"),
    )
    _, raw = seal(
        sender,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id="6f1c5f9e-3b2a-4c41-9d7e-0a8b3c2d1e0f",
        payload=doc.SerializeToString(),
        signed_at_ms=int(WHEN.timestamp() * 1000),
        message_id="0d9c1f4e-8f0b-4a7e-b3f2-5e6d7c8b9a01",
    )
    return sender, raw


def test_an_inbound_envelope_is_decoded_with_its_document() -> None:
    _, raw = _sealed()
    record = describe_message("truc.in.000_00_00_G22", raw, META)
    assert record["type"] == "envelope"
    assert (record["seq"], record["time"]) == (7, "2026-03-02T09:15:30.250+00:00")
    header = record["header"]
    assert (header["sender"], header["recipients"], header["kind"]) == (G22, [H49], "document")
    assert record["payload"] == {
        "subject": "Về việc triển khai trục",
        "code": "7816/VPCP-TTĐT",
        "due_date": "2026/03/10",
        "priority": 0,
    }
    assert record["signature"] == "not checked"
    line = render_line(record)
    assert line.startswith("09:15:30.250 #7 truc.in.000_00_00_G22 document 000.00.00.G22 -> ")
    assert 'subject="Về việc triển khai trục"' in line


def test_a_bundle_of_envelopes_shows_each_envelope() -> None:
    _, raw = _sealed()
    alone = describe_message("truc.in.000_00_00_G22", raw, META)
    records = describe_messages(
        "truc.in.000_00_00_G22",
        ProtobufCodec(Signer.generate("hub")).bundle([raw, raw]),
        META,
        headers={subjects.BUNDLE_HEADER: subjects.ENVELOPE_BUNDLE},
    )
    assert records == [alone, alone]


def test_routed_copies_and_receipts_show_whether_the_hub_signature_verifies() -> None:
    hub = Signer.generate("truc.test")
    codec = ProtobufCodec(hub)
    sender, raw = _sealed()
    routed = codec.routed(
        open_envelope(raw),
        recipient=H49,
        ledger_position=12,
        received_at_ms=int(WHEN.timestamp() * 1000),
        sender_public_key=sender.public_key,
    )
    receipt = codec.receipts(
        [
            ReceiptFacts(
                message_id="m-1",
                document_id="d-1",
                accepted=False,
                reject_code="route_not_allowed",
                reject_reason="header.recipients: no route",
            )
        ]
    )
    other = Signer.generate("impostor").public_key
    subject = "truc.out.000_00_00_H49.msg"
    assert describe_message(subject, routed, META)["hub_signature"] == "not checked"
    assert describe_message(subject, routed, META, hub_public_key=other)["hub_signature"] == (
        "INVALID"
    )
    good = describe_message(subject, routed, META, hub_public_key=hub.public_key)
    assert (good["type"], good["hub_signature"], good["ledger_position"]) == ("routed", "valid", 12)
    assert good["recipient"] == H49 and good["payload"]["code"] == "7816/VPCP-TTĐT"
    assert "for 000.00.00.H49 @12 hub signature valid" in render_line(good)
    bundled = describe_messages(
        subject,
        codec.bundle([routed, routed]),
        META,
        hub_public_key=hub.public_key,
        headers={subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE},
    )
    assert bundled == [good, good] and bundled[0] is not bundled[1]
    stamp = codec.stamp(
        open_envelope(raw),
        recipient=H49,
        ledger_position=12,
        received_at_ms=int(WHEN.timestamp() * 1000),
        sender_public_key=sender.public_key,
    )
    tree = describe_messages(  # a bundle's copies countersigned once, as a tree
        subject,
        codec.bundle(codec.countersign(H49, [(raw, stamp), (raw, stamp)])),
        META,
        hub_public_key=hub.public_key,
        headers={subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE},
    )
    assert tree == [good, good]
    moved = codec.countersign(G15, [(raw, stamp), (raw, stamp)])[0]  # a head for another
    assert describe_message(subject, moved, META, hub_public_key=hub.public_key)[
        "hub_signature"
    ] == ("INVALID")

    rcpt = describe_message(
        "truc.out.000_00_00_G22.rcpt", receipt, META, hub_public_key=hub.public_key
    )
    assert (rcpt["type"], rcpt["accepted"], rcpt["hub_signature"]) == ("receipt", False, "valid")
    assert "REFUSED route_not_allowed: header.recipients: no route" in render_line(rcpt)


def test_ledger_events_and_dead_letters_are_json_made_readable() -> None:
    event = {
        "position": 3,
        "originator_id": "f9af72bb-c6d7-5260-be82-76dafda69c5e",
        "originator_version": 2,
        "topic": "ledger.document:Document.StatusReported",
        "state": {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:15:30+00:00"},
            "reporter": H49,
            "status_code": "03",
            "description": "",
            "header_b64": "QUJD" * 40,
        },
    }
    record = describe_message(
        "truc.ledger.document.statusreported", json.dumps(event).encode(), META
    )
    assert (record["event"], record["position"]) == ("Document.StatusReported", 3)
    assert record["state"]["timestamp"] == "2026-03-02T09:15:30+00:00"
    line = render_line(record)
    assert "@3 Document.StatusReported reporter=000.00.00.H49 status_code=03" in line
    assert "header_b64" not in line and "description" not in line
    event["state"] = {"sender": G22, "recipients": [H49, "000.00.00.G15"], "subject": "Về a"}
    sent = describe_message("truc.ledger.document.sent", json.dumps(event).encode(), META)
    assert render_line(sent).endswith(
        'sender=000.00.00.G22 recipients=000.00.00.H49,000.00.00.G15 subject="Về a"'
    )

    _, raw = _sealed()
    letter = {
        "message_id": "0d9c1f4e-8f0b-4a7e-b3f2-5e6d7c8b9a01",
        "subject_member": G22,
        "code": "route_not_allowed",
        "reason": "header.recipients: no route",
        "envelope_b64": base64.b64encode(raw).decode(),
    }
    dead = describe_message("truc.dead.000_00_00_G22", json.dumps(letter).encode(), META)
    assert dead["type"] == "dead_letter" and "envelope_b64" not in dead
    assert dead["envelope"]["sender"] == G22 and dead["envelope_size"] == len(raw)
    assert "REFUSED route_not_allowed from 000.00.00.G22" in render_line(dead)


def test_a_batched_message_is_shown_one_line_per_item() -> None:
    hub = Signer.generate("truc.test")
    receipts = ProtobufCodec(hub).receipts(
        [
            ReceiptFacts(message_id="m-1", document_id="d-1", accepted=True, ledger_position=4),
            ReceiptFacts(message_id="m-2", document_id="d-2", accepted=False, reject_code="replay"),
        ]
    )
    records = describe_messages(
        "truc.out.000_00_00_G22.rcpt", receipts, META, hub_public_key=hub.public_key
    )
    assert [(r["message_id"], r["accepted"], r["hub_signature"]) for r in records] == [
        ("m-1", True, "valid"),
        ("m-2", False, "valid"),
    ]
    assert all(r["seq"] == 7 and r["type"] == "receipt" for r in records)
    lines = b"\n".join(
        json.dumps(
            {"position": p, "originator_id": "x", "originator_version": p, "topic": t, "state": {}}
        ).encode()
        for p, t in ((8, "ledger.document:Document.Routed"), (9, "ledger.document:Document.Routed"))
    )
    events = describe_messages("truc.ledger.document.routed", lines, META)
    assert [(e["position"], e["event"]) for e in events] == [
        (8, "Document.Routed"),
        (9, "Document.Routed"),
    ]


def test_garbage_is_reported_not_raised() -> None:
    record = describe_message("truc.in.000_00_00_G22", b"\x00not protobuf\xff", META)
    assert record["type"] == "undecodable" and record["size"] == 14
    assert "cannot decode (14 bytes)" in render_line(record)
    assert describe_message("truc.ledger.document.sent", b"{", META)["type"] == "undecodable"


@pytest.mark.parametrize(
    ("subject", "stream"),
    [
        ("truc.ledger.>", "TRUC_LEDGER"),
        ("truc.ledger.document.sent", "TRUC_LEDGER"),
        ("truc.in.*", "TRUC_IN"),
        ("truc.out.000_00_00_H49.msg", "TRUC_OUT"),
        ("truc.dead.>", "TRUC_DEAD"),
    ],
)
def test_each_truc_subject_belongs_to_one_stream(subject: str, stream: str) -> None:
    assert stream_for(subject) == stream


@pytest.mark.parametrize(
    ("subject", "complaint"),
    [
        ("truc.>", "not in a Truc stream"),
        ("orders.created", "not in a Truc stream"),
        ("truc.in..x", "not a NATS subject"),
        ("truc.>.in", "not a NATS subject"),
        ("truc.in.a b", "not a NATS subject"),
    ],
)
def test_other_subjects_are_usage_errors(subject: str, complaint: str) -> None:
    with pytest.raises(typer.BadParameter, match=complaint):
        stream_for(subject)


def test_since_takes_a_number_and_a_unit() -> None:
    assert parse_span("90s").total_seconds() == 90
    assert parse_span("2h").total_seconds() == 7200
    with pytest.raises(typer.BadParameter):
        parse_span("soon")


# -- as a process, on a real stream ------------------------------------------------------------


async def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, cli(*args), capture_output=True, text=True, timeout=60
    )


async def test_tail_all_replays_the_ledger_feed_in_order(stack: Stack) -> None:
    registry_events = stack.ledger.size()  # recorded at start, first on the feed
    sent = await send_document(stack, G22, [H49, G15], subject="Tail me")
    await report_status(stack, H49, sent.document_id, "01")
    count = registry_events + 4
    done = await _run(
        "streams",
        "tail",
        "--all",
        "--count",
        str(count),
        "--json",
        "--data-dir",
        str(stack.data_dir),
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()][registry_events:]
    assert all(
        r["event"].startswith("Member.")
        for r in [json.loads(line) for line in done.stdout.splitlines()][:registry_events]
    )
    first = sent.ledger_position
    assert [(r["position"], r["event"]) for r in records] == [
        (first, "Document.Sent"),
        (first + 1, "Document.Routed"),
        (first + 2, "Document.Routed"),
        (first + 3, "Document.StatusReported"),
    ]
    # The hub publishes a batch's events of one kind as one message: both routings share
    # a stream sequence, one line each.
    seqs = [r["seq"] for r in records]
    assert seqs[1] == seqs[2] and seqs[0] < seqs[1] < seqs[3]
    assert records[0]["state"]["subject"] == "Tail me"
    assert records[3]["state"]["status_code"] == "01"
    assert "following truc.ledger.> in TRUC_LEDGER (from the start)" in done.stderr


async def test_tail_follows_new_messages_on_a_member_subject(stack: Stack) -> None:
    await send_document(stack, G22, [H49], subject="Before the tail")
    process = await asyncio.create_subprocess_exec(
        *cli(
            "streams",
            "tail",
            "truc.out.000_00_00_H49.msg",
            "--count",
            "1",
            "--data-dir",
            str(stack.data_dir),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        ready = await asyncio.wait_for(process.stderr.readline(), 30)
        assert b"following truc.out.000_00_00_H49.msg in TRUC_OUT (new messages)" in ready
        sent = await send_document(stack, G22, [H49], subject="After the tail")
        out = await asyncio.wait_for(process.stdout.read(), 30)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    [line] = out.decode().splitlines()
    assert f"document 000.00.00.G22 -> 000.00.00.H49 doc {sent.document_id}" in line
    assert 'subject="After the tail"' in line and "Before" not in line
    assert f"@{sent.ledger_position}" in line


async def test_tail_refuses_a_subject_outside_truc(stack: Stack) -> None:
    done = await _run("streams", "tail", "truc.>", "--data-dir", str(stack.data_dir))
    assert done.returncode == 2
    assert "not in a Truc stream" in done.stderr
