"""Prometheus metrics for the hub (prometheus-client), on their own registry.

Why a registry object and not the library's global one: tests and several hubs in one process
(the test suite starts many stacks) must not share counters, and nothing may be registered or
started at import time. The composition root makes one `HubMetrics`, the service reports each
batch through `observe_batch`, a small task keeps the gauges fresh with `observe_status`, and
`start_exporter` serves `/metrics` on its own port.

Label values are bounded on purpose: `member` is a registered member's code (or "unknown" for
a message nobody accountable sent), `reason` is one of the hub's fixed refusal codes, `kind`
one of a handful of words. Never put a message id or free text in a label.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from hub.ops import StatusSnapshot
from ledger.agency import from_token
from ledger.errors import InvalidAgencyCode

log = logging.getLogger("truc.metrics")

UNKNOWN = "unknown"
# Seconds, from a few milliseconds (the hub's own work) to minutes (a queue that built up).
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    float("inf"),
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, float("inf"))
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))


class MessageFacts(Protocol):
    """What the service knows about one inbound message once its batch is done."""

    @property
    def member(self) -> str:
        """The registered member accountable for it (sender, or subject owner), else ""."""
        ...

    @property
    def kind(self) -> str:
        """document, status, delivery; "" when it could not be parsed."""
        ...

    @property
    def outcome(self) -> str:
        """ "accepted", "duplicate" or "rejected"."""
        ...

    @property
    def reason(self) -> str:
        """The refusal code when rejected, else ""."""
        ...

    @property
    def signed_at_ms(self) -> int:
        """Sender's signing time (its clock), 0 when unknown."""
        ...

    @property
    def received_at_ms(self) -> int:
        """Hub's receive time, 0 when unknown."""
        ...


class BatchFacts(Protocol):
    """The part of `hub.service.BatchReport` the metrics read (see the wiring notes)."""

    @property
    def messages(self) -> Sequence[MessageFacts]: ...

    @property
    def published_subjects(self) -> Sequence[str]:
        """Subject of every publication the batch made (routed copies, receipts, ...)."""
        ...

    @property
    def recorded(self) -> int:
        """Commands sent to the ledger in the batch's transaction (its group-commit size)."""
        ...

    @property
    def commit_seconds(self) -> float:
        """Time the ledger transaction(s) took."""
        ...

    @property
    def published_at_ms(self) -> int:
        """When JetStream had stored every publication (0: nothing published)."""
        ...


class HubMetrics:
    """Every metric the hub exports, on one registry."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "truc_messages_in",
            "Inbound messages judged by the hub, by accountable member and message kind.",
            ["member", "kind"],
            registry=r,
        )
        self.messages_out = Counter(
            "truc_messages_out",
            "Messages the hub published to a member: routed copies, receipts, dead letters.",
            ["member", "kind"],
            registry=r,
        )
        self.messages_rejected = Counter(
            "truc_messages_rejected",
            "Inbound messages the hub refused, by accountable member and refusal code.",
            ["member", "reason"],
            registry=r,
        )
        self.messages_duplicate = Counter(
            "truc_messages_duplicate",
            "Redelivered messages recognised as already recorded (no second record).",
            ["member"],
            registry=r,
        )
        self.ledger_feed = Counter(
            "truc_ledger_feed_published",
            "Publications on the ledger feed, by event (a redelivered batch publishes its "
            "events again; JetStream deduplicates them, this counter does not).",
            ["event"],
            registry=r,
        )
        self.batches = Counter("truc_batches", "Batches the hub processed.", registry=r)
        self.latency = Histogram(
            "truc_end_to_end_latency_seconds",
            "From the sender's signature to the routed copies stored for the recipients "
            "(includes clock skew between sender and hub; negative values count as 0).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.hub_latency = Histogram(
            "truc_hub_latency_seconds",
            "From the hub receiving a message to its routed copies stored (hub clock only).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ledger_batch_size = Histogram(
            "truc_ledger_batch_size",
            "Commands recorded per ledger transaction (group commit).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.ledger_commit = Histogram(
            "truc_ledger_commit_seconds",
            "Time one batch's ledger transaction took.",
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "truc_consumer_lag_messages",
            "Messages a durable consumer has not finished (pending + unacknowledged).",
            ["consumer", "role", "member"],
            registry=r,
        )
        self.consumer_redelivered = Gauge(
            "truc_consumer_redelivered_messages",
            "Messages delivered more than once and not yet acknowledged.",
            ["consumer", "role", "member"],
            registry=r,
        )
        self.stream_messages = Gauge(
            "truc_stream_messages", "Messages stored in a stream.", ["stream"], registry=r
        )
        self.stream_bytes = Gauge(
            "truc_stream_bytes", "Bytes stored in a stream.", ["stream"], registry=r
        )
        self.dead_letters = Gauge(
            "truc_dead_letters", "Messages in the dead-letter stream.", registry=r
        )
        self.ledger_size = Gauge(
            "truc_ledger_size", "Highest ledger position recorded.", registry=r
        )
        self.checkpoint_size = Gauge(
            "truc_checkpoint_tree_size", "Tree size of the latest signed checkpoint.", registry=r
        )
        self.checkpoint_cosignatures = Gauge(
            "truc_checkpoint_cosignatures",
            "Witness cosignatures on the latest checkpoint.",
            registry=r,
        )
        self.checkpoint_timestamp = Gauge(
            "truc_checkpoint_timestamp_seconds",
            "Unix time the latest checkpoint was issued (0: none yet).",
            registry=r,
        )
        self.checkpoint_age = Gauge(
            "truc_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was issued, computed at scrape time "
            "(NaN while none was issued).",
            registry=r,
        )
        self.status_up = Gauge(
            "truc_status_up",
            "1 when the last status refresh could read NATS, else 0.",
            registry=r,
        )
        self._checkpoint_at: float | None = None
        self._clock = clock
        self.checkpoint_age.set_function(self._checkpoint_age)
        self._consumer_labels: set[tuple[str, str, str]] = set()

    def _checkpoint_age(self) -> float:
        if self._checkpoint_at is None:
            return math.nan
        return max(0.0, self._clock() - self._checkpoint_at)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type (for a `/metrics` served elsewhere)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def observe_batch(metrics: HubMetrics, report: BatchFacts) -> None:
    """Count one processed batch: each label set's counter once per batch (a `labels`
    lookup takes a lock; doing it per message and per published item cost the hub a
    twentieth of its time), each latency observed."""
    metrics.batches.inc()
    if report.recorded:
        metrics.ledger_batch_size.observe(report.recorded)
        metrics.ledger_commit.observe(max(0.0, report.commit_seconds))
    incoming: collections.Counter[tuple[str, str]] = collections.Counter()
    rejected: collections.Counter[tuple[str, str]] = collections.Counter()
    duplicates: collections.Counter[str] = collections.Counter()
    latencies: dict[str, list[float]] = {}
    hub_latencies: dict[str, list[float]] = {}
    for message in report.messages:
        member = message.member or UNKNOWN
        kind = message.kind or UNKNOWN
        incoming[member, kind] += 1
        if message.outcome == "rejected":
            rejected[member, message.reason or UNKNOWN] += 1
        elif message.outcome == "duplicate":
            duplicates[member] += 1
        elif message.outcome == "accepted" and report.published_at_ms:
            if message.signed_at_ms:
                seconds = (report.published_at_ms - message.signed_at_ms) / 1000
                latencies.setdefault(kind, []).append(max(0.0, seconds))
            if message.received_at_ms:
                seconds = (report.published_at_ms - message.received_at_ms) / 1000
                hub_latencies.setdefault(kind, []).append(max(0.0, seconds))
    for (member, kind), count in incoming.items():
        metrics.messages_in.labels(member, kind).inc(count)
    for (member, reason), count in rejected.items():
        metrics.messages_rejected.labels(member, reason).inc(count)
    for member, count in duplicates.items():
        metrics.messages_duplicate.labels(member).inc(count)
    for histogram, by_kind in ((metrics.latency, latencies), (metrics.hub_latency, hub_latencies)):
        for kind, values in by_kind.items():
            child = histogram.labels(kind)
            for value in values:
                child.observe(value)
    for subject, count in collections.Counter(report.published_subjects).items():
        target = classify_subject(subject)
        if target is None:
            continue
        what, who = target
        if what == "ledger_feed":
            metrics.ledger_feed.labels(who).inc(count)
        else:
            metrics.messages_out.labels(who, what).inc(count)


def classify_subject(subject: str) -> tuple[str, str] | None:
    """What a publication is and whom it concerns: `truc.out.<m>.msg` -> ("routed", member),
    `.rcpt` -> ("receipt", member), `truc.dead.<m>` -> ("dead_letter", member or unknown),
    `truc.ledger.<event>` -> ("ledger_feed", event). None for anything else."""
    parts = subject.split(".")
    if len(parts) == 4 and parts[:2] == ["truc", "out"] and parts[3] in ("msg", "rcpt"):
        member = _member(parts[2])
        return ("routed" if parts[3] == "msg" else "receipt"), member
    if len(parts) == 3 and parts[:2] == ["truc", "dead"]:
        return "dead_letter", _member(parts[2])
    if len(parts) >= 3 and parts[:2] == ["truc", "ledger"]:
        return "ledger_feed", ".".join(parts[2:])
    return None


def _member(token: str) -> str:
    try:
        return from_token(token)
    except InvalidAgencyCode:
        return UNKNOWN


def observe_status(metrics: HubMetrics, snapshot: StatusSnapshot) -> None:
    """Set the gauges from a status snapshot (consumer lag, streams, dead letters, ledger,
    checkpoint). Consumers that disappeared are removed, not left at their last value."""
    metrics.status_up.set(0 if snapshot.nats_error else 1)
    if not snapshot.nats_error:
        seen: set[tuple[str, str, str]] = set()
        for c in snapshot.consumers:
            labels = (c.name, c.role, c.member or "")
            seen.add(labels)
            metrics.consumer_lag.labels(*labels).set(c.lag)
            metrics.consumer_redelivered.labels(*labels).set(c.redelivered)
        for gone in metrics._consumer_labels - seen:
            with contextlib.suppress(KeyError):
                metrics.consumer_lag.remove(*gone)
                metrics.consumer_redelivered.remove(*gone)
        metrics._consumer_labels = seen
        for s in snapshot.streams:
            metrics.stream_messages.labels(s.name).set(s.messages)
            metrics.stream_bytes.labels(s.name).set(s.bytes)
        metrics.dead_letters.set(snapshot.dead_letters.count)
    if snapshot.ledger is not None and snapshot.ledger.size is not None:
        metrics.ledger_size.set(snapshot.ledger.size)
    checkpoint = snapshot.checkpoint
    if checkpoint is not None:
        metrics.checkpoint_size.set(checkpoint.size)
        metrics.checkpoint_cosignatures.set(len(checkpoint.cosignatures))
        if checkpoint.issued_at is not None:
            metrics._checkpoint_at = checkpoint.issued_at.timestamp()
            metrics.checkpoint_timestamp.set(metrics._checkpoint_at)


async def refresh_status(
    metrics: HubMetrics,
    collect: Callable[[], Awaitable[StatusSnapshot]],
    stop: asyncio.Event,
    *,
    interval: float = 5.0,
) -> None:
    """Keep the gauges fresh until `stop` is set: collect a snapshot every `interval`
    seconds. A failed collection is logged and retried; it never ends the task."""
    while not stop.is_set():
        try:
            observe_status(metrics, await collect())
        except Exception:
            log.warning("metrics: status refresh failed", exc_info=True)
            metrics.status_up.set(0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


@dataclass
class MetricsExporter:
    """The running `/metrics` HTTP server (prometheus-client's, on a daemon thread)."""

    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start_exporter(metrics: HubMetrics, host: str = "127.0.0.1", port: int = 0) -> MetricsExporter:
    """Serve `metrics` on http://host:port/metrics (port 0: a free one; read `.port`).

    Loopback by default: the exporter has no authentication, so binding it elsewhere is a
    deliberate choice (the dashboard's `/metrics` is the token-protected alternative)."""
    _check_host(host)
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return MetricsExporter(host, int(server.server_port), server, thread)


def _check_host(host: str) -> None:
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"metrics host must be an IP address or localhost, not {host!r}") from None
