"""The bench's stage trace: which stored message names which documents, and the time each
document spent between two stamps."""

from __future__ import annotations

import uuid

from adapters.crypto import Signer
from adapters.envelope import bundle, seal
from adapters.pb.truc.v1 import envelope_pb2
from hub.bench_stages import _message_ids, by_message, percentiles, stage_samples
from hub.model import Kind
from tests.support import G22, H49

KEY = Signer.generate(G22)


def _envelope() -> tuple[str, bytes]:
    return seal(
        KEY,
        kind=Kind.DOCUMENT,
        recipients=[H49],
        document_id=str(uuid.uuid4()),
        payload=b"x",
        signed_at_ms=1,
    )


def test_a_lone_envelope_and_a_bundles_envelopes_are_named() -> None:
    (one, raw), (two, other) = _envelope(), _envelope()
    assert _message_ids(raw, bundled=False, routed=False) == [one]
    assert _message_ids(bundle([raw, other]), bundled=True, routed=False) == [one, two]
    # A lone envelope also parses as a Bundle (same field number): only the header says.
    assert _message_ids(raw, bundled=True, routed=False) != [one]


def test_a_routed_copy_is_named_by_the_envelope_inside() -> None:
    message_id, raw = _envelope()
    routed = envelope_pb2.RoutedEnvelope(envelope=raw, stamp=b"s", hub_signature=b"h")
    assert _message_ids(routed.SerializeToString(), bundled=False, routed=True) == [message_id]


def test_what_reads_as_no_envelope_names_nothing() -> None:
    assert _message_ids(b"\xff\x00junk", bundled=False, routed=False) == []
    assert _message_ids(b"\xff\x00junk", bundled=True, routed=False) == []


def test_each_stage_counts_the_documents_seen_at_both_its_ends() -> None:
    signed = {"a": 0.0, "b": 10.0}
    judged = {"a": 5.0, "b": 30.0}
    in_stream = {"a": 1.0, "b": 12.0}
    out_stream = {"a": 9.0}  # b's routed copy not seen
    kept = {"a": 15.0}
    acknowledged: dict[str, float] = {}
    samples = stage_samples(signed, judged, in_stream, out_stream, kept, acknowledged)
    assert samples == {
        "handed_to_signed": [],
        "signed_to_in_stream": [1.0, 2.0],
        "in_stream_to_hub": [4.0, 18.0],
        "hub_to_out_stream": [4.0],
        "out_stream_to_mailbox": [6.0],
        "mailbox_to_received": [],
        "mailbox_to_acknowledged": [],
    }


def test_the_agency_systems_ends_are_stages_of_their_own() -> None:
    """The load generator's two ends (by document id) are set beside the stack's own times
    (by message id): how long a document waited before its adapter signed it, and how long
    the recipient's system took to receive it once kept."""
    message_ids = {"doc-a": "a", "doc-b": "b"}
    handed = by_message({"doc-a": -3.0, "doc-b": 6.0, "doc-unknown": 0.0}, message_ids)
    received = by_message({"doc-a": 20.0}, message_ids)
    assert handed == {"a": -3.0, "b": 6.0}
    samples = stage_samples(
        {"a": 0.0, "b": 10.0}, {}, {}, {}, {"a": 15.0}, {}, handed, received
    )
    assert samples["handed_to_signed"] == [3.0, 4.0]
    assert samples["mailbox_to_received"] == [5.0]


def test_percentiles_of_a_stage() -> None:
    figures = percentiles(float(i) for i in range(1, 101))
    assert figures == {"p50": 51.0, "p90": 91.0, "p99": 100.0, "count": 100.0}
    assert percentiles([]) == {}
