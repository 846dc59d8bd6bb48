"""JetStream plumbing shared by the hub and the adapters: connections, streams, consumers,
pipelined publishing and a pull loop that acknowledges only after the handler succeeded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from adapters.nats.auth import NatsCredentials
from hub import subjects
from hub.ports import Publication

log = logging.getLogger(__name__)
DAY = 24 * 3600.0


class PublishError(Exception):
    """JetStream did not store a publication."""


class PayloadTooLargeError(PublishError):
    """A publication is bigger than the server takes; it was not sent."""


def raise_failures(errors: Sequence[BaseException | None]) -> None:
    """Raise PublishError when any of `JetStreamPublisher.publish_each`'s answers failed."""
    failures = [e for e in errors if e is not None]
    if failures:
        raise PublishError(f"{len(failures)} of {len(errors)} not stored: {failures[0]!r}")


async def connect(
    url: str, name: str, credentials: NatsCredentials | None = None, **options: Any
) -> NATS:
    """Connect with reconnects on, so a NATS restart is ridden out instead of fatal.

    `url` may list several servers of a cluster, comma-separated; the client also learns
    the cluster's other members from the server it reaches, and moves to one when it fails.
    """
    if credentials is not None:
        options.update(
            user=credentials.user,
            password=credentials.password,
            inbox_prefix=credentials.inbox_prefix,
        )
    return await nats.connect(
        servers=[u.strip() for u in url.split(",") if u.strip()],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        **options,
    )


async def close(nc: NATS) -> None:
    """Flush pending acks and close. (Not drain: nats-py's drain waits out pending pull
    requests until its timeout, and our loops have already stopped fetching.)"""
    with contextlib.suppress(Exception):
        await nc.flush(timeout=2)
    with contextlib.suppress(Exception):
        await nc.close()


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    def cfg(name: str, subject: str, max_age: float) -> StreamConfig:
        return StreamConfig(
            name=name,
            subjects=[subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=max_age,
            duplicate_window=120.0,
            num_replicas=replicas,
        )

    return [
        cfg(subjects.IN_STREAM, subjects.IN_ALL, 7 * DAY),
        cfg(subjects.OUT_STREAM, subjects.OUT_ALL, 30 * DAY),
        cfg(subjects.LEDGER_STREAM, subjects.LEDGER_ALL, 30 * DAY),
        cfg(subjects.DEAD_STREAM, subjects.DEAD_ALL, 90 * DAY),
    ]


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    for config in stream_configs(replicas):
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


async def ensure_hub_consumer(js: JetStreamContext) -> None:
    await _ensure_consumer(
        js,
        subjects.IN_STREAM,
        ConsumerConfig(
            durable_name=subjects.HUB_CONSUMER,
            filter_subject=subjects.IN_ALL,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            max_ack_pending=20_000,
        ),
    )


async def ensure_member_consumers(js: JetStreamContext, member: str) -> None:
    for durable, subject in (
        (subjects.delivery_consumer(member), subjects.deliveries(member)),
        (subjects.receipt_consumer(member), subjects.receipts(member)),
    ):
        await _ensure_consumer(
            js,
            subjects.OUT_STREAM,
            ConsumerConfig(
                durable_name=durable,
                filter_subject=subject,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=30.0,
                max_ack_pending=10_000,
            ),
        )


async def _ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    assert config.durable_name
    try:
        await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, config)


# nats-py's default for `jetstream(publish_async_max_pending=...)`: the publisher's
# contexts are all made with it.
PUBLISH_ASYNC_MAX_PENDING = 4000


class JetStreamPublisher:
    """Publishes many messages at once (pipelined) and returns when all are stored.

    A batch's publications go out in one write: while the context has free pending slots
    (`max_pending`, as the context was made with), each is handed over without a stall
    timeout. With a timeout, nats-py waits for a slot in a task of its own, which yields to
    the event loop after every publication; its flusher then ran in between and wrote each
    one in a system call of its own, a tenth of the hub's time (README, Performance). Only
    when the slots are all taken is the wait bounded by `timeout`.
    """

    def __init__(
        self,
        js: JetStreamContext,
        timeout: float = 10.0,
        max_payload: int | None = None,
        max_pending: int = PUBLISH_ASYNC_MAX_PENDING,
    ) -> None:
        self._js = js
        self._timeout = timeout
        self._max_payload = max_payload
        self._max_pending = max_pending

    async def publish_all(self, publications: Sequence[Publication]) -> None:
        raise_failures(await self.publish_each(publications))

    async def publish_each(self, publications: Sequence[Publication]) -> list[BaseException | None]:
        """Publish all, pipelined; per publication, None once JetStream stored it, or why it
        did not (one failure does not stop the others)."""
        futures: list[asyncio.Future[Any] | None] = []
        errors: list[BaseException | None] = []
        for p in publications:
            if self._max_payload is not None and len(p.data) > self._max_payload:
                # Refused here: nats-py would raise after taking a pending-publish slot that
                # it never gives back, and enough of those stall every later publish.
                futures.append(None)
                errors.append(
                    PayloadTooLargeError(
                        f"{p.msg_id}: {len(p.data)} bytes, over the server's max_payload "
                        f"of {self._max_payload}"
                    )
                )
                continue
            try:
                headers = {"Nats-Msg-Id": p.msg_id}
                if p.headers:
                    headers.update(p.headers)
                free = self._js.publish_async_pending() < self._max_pending
                sent = await self._js.publish_async(
                    p.subject, p.data, headers=headers, wait_stall=None if free else self._timeout
                )
            except Exception as error:  # not even sent: connection closed, too many stalled
                futures.append(None)
                errors.append(error)
                continue
            futures.append(sent)
            errors.append(None)
        waiting = [f for f in futures if f is not None]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=self._timeout)
            for late in pending:
                late.cancel()
        for i, future in enumerate(futures):
            if future is None:
                continue
            if future.cancelled():
                errors[i] = TimeoutError(f"JetStream did not answer within {self._timeout} s")
            else:
                errors[i] = future.exception()
        return errors


Handler = Callable[[list[Msg]], Awaitable[None]]

# How long to wait for more messages once one has arrived. Under load (the previous pull
# brought several) long enough to fill a batch: bigger batches cost less per message, which
# at 500 documents/s halved the latency. When traffic is light (it brought one) only long
# enough to take what is already waiting, so a lone message is not held back at every hop.
TOP_UP_SECONDS = 0.005
TOP_UP_LIGHT_SECONDS = 0.0005


def top_up_seconds(previous_batch: int) -> float:
    """The top-up wait after a pull of `previous_batch` messages."""
    return TOP_UP_SECONDS if previous_batch > 1 else TOP_UP_LIGHT_SECONDS


# Messages a pull brought beyond its batch, per subscription, for the next pull (below).
_CARRIED: weakref.WeakKeyDictionary[JetStreamContext.PullSubscription, list[Msg]] = (
    weakref.WeakKeyDictionary()
)


async def _fetch_available(
    sub: JetStreamContext.PullSubscription,
    batch: int,
    idle_timeout: float,
    top_up: float = TOP_UP_SECONDS,
) -> list[Msg]:
    """Wait up to `idle_timeout` for one message, then take what else is ready, up to `batch`,
    waiting at most `top_up` for more.

    nats-py's `fetch(batch)` waits for the whole batch (or the timeout) once the first message
    came, which under light traffic adds the full timeout to every hop; this returns as soon
    as the first message arrives and tops up only with messages already waiting. (Messages
    that arrive after a top-up gave up stay in the subscription and open the next pull.)

    At most `batch` all the same: nats-py's `fetch(n)` first hands over everything already
    queued in the subscription, however many (a top-up that gave up leaves its late
    messages there), so a pull can bring more than asked. The surplus is kept, in order, and
    is the start of the next pull, before anything new.
    """
    msgs = _CARRIED.pop(sub, [])
    if not msgs:
        msgs = await sub.fetch(1, timeout=idle_timeout)
    if len(msgs) < batch:
        with contextlib.suppress(NatsTimeoutError, TimeoutError):
            msgs += await sub.fetch(batch - len(msgs), timeout=top_up)
    if len(msgs) > batch:
        _CARRIED[sub] = msgs[batch:]
        del msgs[batch:]
    return msgs


async def pull_loop(
    sub: JetStreamContext.PullSubscription,
    handler: Handler,
    stop: asyncio.Event,
    *,
    batch: int = 256,
    idle_timeout: float = 0.5,
    name: str = "consumer",
    auto_ack: bool = True,
) -> None:
    """Fetch batches until `stop` is set; ack a batch only after `handler` returned.

    A handler failure naks the batch (with a short delay) so it comes again; the receiving
    side is idempotent, which is what makes redelivery safe. With `auto_ack=False` the
    handler acknowledges (or terminates) each message itself.
    """
    previous = 1
    while not stop.is_set():
        try:
            msgs = await _fetch_available(sub, batch, idle_timeout, top_up_seconds(previous))
            previous = len(msgs)
        except (NatsTimeoutError, TimeoutError):
            continue  # nothing to fetch within idle_timeout
        except (nats.errors.ConnectionClosedError, nats.errors.DrainTimeoutError):
            return
        except Exception:  # a NATS outage: retry until stopped
            log.warning("%s: fetch failed; retrying", name, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            continue
        try:
            await handler(msgs)
        except Exception:
            log.exception("%s: batch of %d failed; it will be redelivered", name, len(msgs))
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.nak(delay=1.0)
            continue
        if auto_ack:
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.ack()
