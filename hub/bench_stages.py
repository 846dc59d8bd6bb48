"""Where a document's time goes, stage by stage, read after a bench run from what the stack
keeps anyway: the ledger (when the sender signed, when the hub judged), JetStream's stored
messages (when the sender's envelope reached `TRUC_IN`, when the hub's routed copy reached
`TRUC_OUT`) and the recipients' mailboxes (when the adapter kept it, when the agency system
acknowledged it). End-to-end latency says how long; this says which loop to work on.

Times are wall-clock milliseconds from different processes on one machine (one clock);
JetStream's are the server's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy

from adapters.document.mailbox import Mailbox
from adapters.envelope import EnvelopeError, unbundle
from adapters.pb.truc.v1 import envelope_pb2
from hub import subjects
from hub.errors import MalformedMessage
from ledger.application import Ledger
from ledger.replay import pages

STAGES = (
    "handed_to_signed",
    "signed_to_in_stream",
    "in_stream_to_hub",
    "hub_to_out_stream",
    "out_stream_to_mailbox",
    "mailbox_to_received",
    "mailbox_to_acknowledged",
)
Times = dict[str, float]  # message id: Unix ms


def percentiles(samples: Iterable[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "count": float(len(ordered))}


def stage_samples(
    signed: Times,
    judged: Times,
    in_stream: Times,
    out_stream: Times,
    kept: Times,
    acknowledged: Times,
    handed: Times | None = None,
    received: Times | None = None,
) -> dict[str, list[float]]:
    """Per stage, the time each document spent in it (documents seen at both ends only).
    `handed` and `received` are the agency systems' ends (the latency run's start and end
    point), by message id; without them their two stages are empty."""
    pairs = {
        "handed_to_signed": (handed or {}, signed),
        "signed_to_in_stream": (signed, in_stream),
        "in_stream_to_hub": (in_stream, judged),
        "hub_to_out_stream": (judged, out_stream),
        "out_stream_to_mailbox": (out_stream, kept),
        "mailbox_to_received": (kept, received or {}),
        "mailbox_to_acknowledged": (kept, acknowledged),
    }
    return {
        stage: [end[m] - start[m] for m in signed if m in start and m in end]
        for stage, (start, end) in pairs.items()
    }


def ledger_times(ledger: Ledger, since_ms: float) -> tuple[Times, Times, dict[str, str]]:
    """When each document the hub received from `since_ms` on was signed, and judged; and
    each one's message id by document id."""
    signed: Times = {}
    judged: Times = {}
    message_ids: dict[str, str] = {}
    for page in pages(ledger):
        for _position, event in page:
            if type(event).__qualname__ != "Document.Sent":
                continue
            received = _ms(event.received_at)
            if received >= since_ms:
                signed[event.message_id] = _ms(event.signed_at)
                judged[event.message_id] = received
                message_ids[event.document_id] = event.message_id
    return signed, judged, message_ids


def by_message(times: Times, message_ids: dict[str, str]) -> Times:
    """`times` by document id, re-keyed by message id (documents the ledger has)."""
    return {message_ids[d]: at for d, at in times.items() if d in message_ids}


def mailbox_times(mailboxes: Sequence[Path]) -> tuple[Times, Times]:
    """When each recipient's adapter kept a message, and when its system acknowledged it."""
    kept: Times = {}
    acknowledged: Times = {}
    for path in mailboxes:
        mailbox = Mailbox(path)
        try:
            for message_id, at, acked in mailbox.arrival_times():
                kept[message_id] = at
                if acked is not None:
                    acknowledged[message_id] = acked
        finally:
            mailbox.close()
    return kept, acknowledged


async def stored_times(nc: NATS, stream: str, subject: str, since: datetime) -> Times:
    """When JetStream stored each envelope (a bundle's each) on `subject` from `since` on."""
    js = nc.jetstream()
    info = await js.stream_info(stream)
    found: Times = {}
    if not info.state.messages:
        return found
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since)
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True, config=config)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=2.0)
            except TimeoutError:  # nothing stored on the subject since `since`
                break
            at = msg.metadata.timestamp.timestamp() * 1000
            bundled = bool(subjects.bundle_kind(msg.headers))
            routed = stream == subjects.OUT_STREAM
            for message_id in _message_ids(msg.data, bundled=bundled, routed=routed):
                found.setdefault(message_id, at)
            if not msg.metadata.num_pending:
                break
    finally:
        await sub.unsubscribe()
    return found


def _message_ids(data: bytes, *, bundled: bool, routed: bool) -> list[str]:
    """The message ids a stored message carries (a bundle's each; none if it reads as no
    envelope: the trace skips what it cannot read)."""
    items = [data]
    if bundled:
        try:
            items = unbundle(data)
        except (EnvelopeError, MalformedMessage):
            return []
    ids = []
    for raw in items:
        try:
            if routed:
                raw = envelope_pb2.RoutedEnvelope.FromString(raw).envelope
            header = envelope_pb2.Envelope.FromString(raw).header
            ids.append(envelope_pb2.EnvelopeHeader.FromString(header).message_id)
        except Exception:  # not an envelope (a lone message that is not a bundle): skip
            continue
    return ids


async def trace(
    nc: NATS,
    ledger: Ledger,
    mailboxes: Sequence[Path],
    since: datetime,
    handed: Times | None = None,
    received: Times | None = None,
) -> dict[str, dict[str, float]]:
    """Percentiles (ms) of each stage, for the documents the hub received from `since` on;
    `handed` and `received` (Unix ms by document id) are the agency systems' ends."""
    signed, judged, message_ids = ledger_times(ledger, since.timestamp() * 1000)
    in_stream = await stored_times(nc, subjects.IN_STREAM, subjects.IN_ALL, since)
    out_stream = await stored_times(nc, subjects.OUT_STREAM, "truc.out.*.msg", since)
    kept, acknowledged = mailbox_times(mailboxes)
    samples = stage_samples(
        signed,
        judged,
        in_stream,
        out_stream,
        kept,
        acknowledged,
        by_message(handed or {}, message_ids),
        by_message(received or {}, message_ids),
    )
    return {stage: percentiles(samples[stage]) for stage in STAGES}


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000
