"""The Prometheus metrics: what one batch adds, what a status snapshot sets, and the exporter
serving them on a real port."""

from __future__ import annotations

import asyncio
import math
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from hub.metrics import (
    HubMetrics,
    classify_subject,
    observe_batch,
    observe_status,
    refresh_status,
    start_exporter,
)
from hub.ops import (
    CheckpointInfo,
    ConsumerStatus,
    Cosignature,
    DeadLetters,
    LedgerStatus,
    StatusSnapshot,
    StreamStatus,
)
from tests.support import G15, G22, H49, eventually

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    member: str
    kind: str
    outcome: str
    reason: str = ""
    signed_at_ms: int = 0
    received_at_ms: int = 0


@dataclass
class Report:
    """Shaped like the BatchReport fields the wiring notes propose."""

    messages: list[Message] = field(default_factory=list)
    published_subjects: list[str] = field(default_factory=list)
    recorded: int = 0
    commit_seconds: float = 0.0
    published_at_ms: int = 0


def value(metrics: HubMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_a_batch_counts_messages_in_out_and_rejected_by_member_and_reason() -> None:
    metrics = HubMetrics()
    observe_batch(
        metrics,
        Report(
            messages=[
                Message(G22, "document", "accepted", signed_at_ms=1_000, received_at_ms=1_900),
                Message(G22, "document", "duplicate"),
                Message(H49, "status", "rejected", "illegal_transition"),
                Message("", "", "rejected", "malformed"),
            ],
            published_subjects=[
                "truc.out.000_00_00_H49.msg",
                "truc.out.000_00_00_G15.msg",
                "truc.out.000_00_00_G22.rcpt",
                "truc.dead.000_00_00_H49",
                "truc.dead.unknown",
                "truc.ledger.document.sent",
                "truc.ledger.document.routed",
                "truc.ledger.document.routed",
            ],
            recorded=3,
            commit_seconds=0.004,
            published_at_ms=2_000,
        ),
    )
    assert value(metrics, "truc_messages_in_total", member=G22, kind="document") == 2
    assert value(metrics, "truc_messages_in_total", member=H49, kind="status") == 1
    assert value(metrics, "truc_messages_in_total", member="unknown", kind="unknown") == 1
    assert (
        value(metrics, "truc_messages_rejected_total", member=H49, reason="illegal_transition") == 1
    )
    assert value(metrics, "truc_messages_rejected_total", member="unknown", reason="malformed") == 1
    assert value(metrics, "truc_messages_duplicate_total", member=G22) == 1
    assert value(metrics, "truc_messages_out_total", member=H49, kind="routed") == 1
    assert value(metrics, "truc_messages_out_total", member=G15, kind="routed") == 1
    assert value(metrics, "truc_messages_out_total", member=G22, kind="receipt") == 1
    assert value(metrics, "truc_messages_out_total", member=H49, kind="dead_letter") == 1
    assert value(metrics, "truc_messages_out_total", member="unknown", kind="dead_letter") == 1
    assert value(metrics, "truc_ledger_feed_published_total", event="document.routed") == 2
    # Signed at 1.000 s, stored at 2.000 s: one second end to end, 0.1 s inside the hub.
    assert value(metrics, "truc_end_to_end_latency_seconds_count", kind="document") == 1
    assert value(metrics, "truc_end_to_end_latency_seconds_sum", kind="document") == 1.0
    assert value(metrics, "truc_end_to_end_latency_seconds_bucket", kind="document", le="0.5") == 0
    assert value(metrics, "truc_end_to_end_latency_seconds_bucket", kind="document", le="1.0") == 1
    assert value(metrics, "truc_hub_latency_seconds_sum", kind="document") == pytest.approx(0.1)
    assert value(metrics, "truc_ledger_batch_size_sum") == 3
    assert value(metrics, "truc_ledger_commit_seconds_sum") == pytest.approx(0.004)
    assert value(metrics, "truc_batches_total") == 1


def test_a_sender_clock_ahead_of_the_hub_counts_as_zero_latency_not_negative() -> None:
    metrics = HubMetrics()
    observe_batch(
        metrics,
        Report(
            messages=[Message(G22, "status", "accepted", signed_at_ms=5_000, received_at_ms=900)],
            published_at_ms=1_000,
        ),
    )
    assert value(metrics, "truc_end_to_end_latency_seconds_sum", kind="status") == 0.0
    assert value(metrics, "truc_end_to_end_latency_seconds_bucket", kind="status", le="0.005") == 1
    # Nothing was recorded: no ledger transaction to measure.
    assert value(metrics, "truc_ledger_batch_size_count") == 0


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("truc.out.000_00_00_H49.msg", ("routed", H49)),
        ("truc.out.BCCI_VNPOST.rcpt", ("receipt", "BCCI.VNPOST")),
        ("truc.dead.unknown", ("dead_letter", "unknown")),
        ("truc.ledger.refusedmessage.refused", ("ledger_feed", "refusedmessage.refused")),
        ("truc.out.not a code.msg", ("routed", "unknown")),
        ("truc.in.000_00_00_G22", None),
        ("truc.out.000_00_00_H49.other", None),
        ("elsewhere", None),
    ],
)
def test_publications_are_classified_by_subject(
    subject: str, expected: tuple[str, str] | None
) -> None:
    assert classify_subject(subject) == expected


def _consumer(name: str, role: str, member: str | None, pending: int) -> ConsumerStatus:
    return ConsumerStatus("TRUC_OUT", name, role, member, pending, 2, 1, 1, None, None)


def _snapshot(
    consumers: tuple[ConsumerStatus, ...], checkpoint: CheckpointInfo | None = None
) -> StatusSnapshot:
    return StatusSnapshot(
        taken_at=NOW,
        streams=(StreamStatus("TRUC_OUT", ("truc.out.>",), True, 12, 3400, 1, 12, 9),),
        consumers=consumers,
        dead_letters=DeadLetters(3),
        ledger=LedgerStatus(42),
        checkpoint=checkpoint,
    )


def test_status_sets_lag_gauges_and_drops_consumers_that_are_gone() -> None:
    metrics = HubMetrics()
    observe_status(
        metrics,
        _snapshot(
            (
                _consumer("deliver-000_00_00_H49", "delivery", H49, 5),
                _consumer("deliver-000_00_00_G15", "delivery", G15, 0),
            )
        ),
    )
    lag = "truc_consumer_lag_messages"
    assert value(metrics, lag, consumer="deliver-000_00_00_H49", role="delivery", member=H49) == 7
    assert value(metrics, lag, consumer="deliver-000_00_00_G15", role="delivery", member=G15) == 2
    assert value(metrics, "truc_stream_messages", stream="TRUC_OUT") == 12
    assert value(metrics, "truc_dead_letters") == 3
    assert value(metrics, "truc_ledger_size") == 42
    assert value(metrics, "truc_status_up") == 1

    observe_status(metrics, _snapshot((_consumer("deliver-000_00_00_H49", "delivery", H49, 0),)))
    labels = {"consumer": "deliver-000_00_00_G15", "role": "delivery", "member": G15}
    assert metrics.registry.get_sample_value(lag, labels) is None


def test_checkpoint_age_is_computed_when_scraped_and_nan_before_any_checkpoint() -> None:
    clock = [NOW.timestamp()]
    metrics = HubMetrics(clock=lambda: clock[0])
    assert math.isnan(value(metrics, "truc_checkpoint_age_seconds"))
    checkpoint = CheckpointInfo(
        "truc.test/log",
        17,
        "AAAA",
        NOW - timedelta(seconds=90),
        (Cosignature("witness.a", "0a0b0c0d"), Cosignature("witness.b", "01020304")),
    )
    observe_status(metrics, _snapshot((), checkpoint))
    assert value(metrics, "truc_checkpoint_age_seconds") == 90
    assert value(metrics, "truc_checkpoint_tree_size") == 17
    assert value(metrics, "truc_checkpoint_cosignatures") == 2
    clock[0] += 30  # no new snapshot: the age still grows, because it is computed at scrape
    assert value(metrics, "truc_checkpoint_age_seconds") == 120


def test_each_hub_has_its_own_registry() -> None:
    first, second = HubMetrics(), HubMetrics()
    first.batches.inc()
    assert value(first, "truc_batches_total") == 1
    assert value(second, "truc_batches_total") == 0
    shared = CollectorRegistry()
    HubMetrics(shared)
    with pytest.raises(ValueError, match="Duplicated"):
        HubMetrics(shared)


def test_exporter_serves_the_metrics_on_a_free_port_until_stopped() -> None:
    metrics = HubMetrics()
    metrics.messages_in.labels(G22, "document").inc(3)
    exporter = start_exporter(metrics, "127.0.0.1", 0)
    try:
        assert exporter.port > 0
        with urllib.request.urlopen(exporter.url, timeout=5) as response:
            text = response.read().decode()
        assert 'truc_messages_in_total{kind="document",member="000.00.00.G22"} 3.0' in text
        assert "truc_checkpoint_age_seconds NaN" in text
    finally:
        exporter.stop()
    with pytest.raises(OSError), urllib.request.urlopen(exporter.url, timeout=2):
        pass


def test_exporter_refuses_a_host_that_is_not_an_address() -> None:
    with pytest.raises(ValueError, match="IP address"):
        start_exporter(HubMetrics(), "", 0)


async def test_the_refresher_keeps_going_when_a_collection_fails() -> None:
    metrics = HubMetrics()
    stop = asyncio.Event()
    calls: list[int] = []

    async def collect() -> StatusSnapshot:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("NATS is away")
        return _snapshot((_consumer("deliver-000_00_00_H49", "delivery", H49, 4),))

    task = asyncio.create_task(refresh_status(metrics, collect, stop, interval=0.01))
    try:
        labels = {"consumer": "deliver-000_00_00_H49", "role": "delivery", "member": H49}
        await eventually(
            lambda: metrics.registry.get_sample_value("truc_consumer_lag_messages", labels) == 6,
            what="the lag gauge after a failed first collection",
        )
        assert value(metrics, "truc_status_up") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert len(calls) >= 2
