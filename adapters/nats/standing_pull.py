"""A JetStream pull consumer whose pull requests stay outstanding, so each message is delivered
the moment it is stored (what nats.go's `Consume` does; nats-py 2.16 has only `fetch`).

Why: with `fetch`, every batch cost a pull round trip and then a top-up wait of up to 5 ms
for more (nats-py's `fetch(n)` waits for all `n` or its timeout). Each hop of a document's
path (the hub, the recipient's adapter, the receipts) paid that once a batch, which at 1,000
documents a second was a third of the latency while the cores were mostly idle (README,
Performance). Here a batch is whatever has arrived by the time the handler is ready for it:
one message when traffic is light, up to the batch size when the handler is slow, so batches
grow with the load instead of a timer deciding.

What is asked for is bounded by `prefetch` (messages requested from the server plus those
received and not yet taken), so a slow handler leaves its backlog in the stream rather than
in memory, and a prefetched message never waits long enough for its `ack_wait` to run out.
Credits are accounted as nats.go does: one per message received; a request's remainder,
from the `Nats-Pending-Messages` header of its 408 (expired) or 409 status; everything,
when the server has been silent for two heartbeats (its idle heartbeats prove a request is
alive) or the connection came back, after which the requests are made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)

API_PREFIX = "$JS.API"
STATUS = "Status"
DESCRIPTION = "Description"
PENDING_MESSAGES = "Nats-Pending-Messages"
HEARTBEAT_STATUS = "100"
# Statuses that end a request and say (in PENDING_MESSAGES) how much of it was left.
ENDED_STATUSES = ("408", "409")


def next_subject(stream: str, durable: str, api_prefix: str = API_PREFIX) -> str:
    """Where pull requests for `durable` on `stream` go."""
    return f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"


def pull_request(batch: int, expires: float, heartbeat: float) -> bytes:
    """The JSON of a lingering pull request for `batch` messages (seconds -> nanoseconds)."""
    return json.dumps(
        {
            "batch": batch,
            "expires": int(expires * 1_000_000_000),
            "idle_heartbeat": int(heartbeat * 1_000_000_000),
        }
    ).encode()


def refill(prefetch: int, buffered: int, asked: int) -> int:
    """How many messages to ask for now: nothing while at least half the prefetch is asked
    for or waiting to be taken (fewer, larger requests), else enough to fill it again."""
    missing = prefetch - buffered - asked
    if missing <= 0 or (asked > 0 and missing < prefetch // 2):
        return 0
    return missing


class StandingPull:
    """Messages of one durable pull consumer, taken in batches of what has arrived.

    `take` is the consumer side (one caller at a time); `close` stops the requests and gives
    back, with a nak, what was received and not taken, so it is redelivered at once (to
    this consumer's next start, or another instance) instead of after `ack_wait`.
    """

    def __init__(
        self,
        nc: NATS,
        stream: str,
        durable: str,
        *,
        prefetch: int,
        expires: float = 5.0,
        heartbeat: float = 1.0,
        api_prefix: str = API_PREFIX,
    ) -> None:
        if prefetch < 1:
            raise ValueError(f"prefetch: {prefetch} is not a positive number of messages")
        if expires < 2 * heartbeat:
            raise ValueError(f"expires: {expires} s is less than two heartbeats ({heartbeat} s)")
        self.stream = stream
        self.durable = durable
        self.prefetch = prefetch
        self._nc = nc
        self._expires = expires
        self._heartbeat = heartbeat
        self._subject = next_subject(stream, durable, api_prefix)
        self._inbox = nc.new_inbox()
        self._buffer: deque[Msg] = deque()
        self._arrived = asyncio.Event()
        self._asked = 0
        self._heard = time.monotonic()
        self._reconnects = self._reconnect_count()
        self._sub: Subscription | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def bind(
        cls,
        nc: NATS,
        stream: str,
        durable: str,
        *,
        prefetch: int,
        expires: float = 5.0,
        heartbeat: float = 1.0,
    ) -> StandingPull:
        """Subscribe to a fresh inbox and make the first requests."""
        pull = cls(nc, stream, durable, prefetch=prefetch, expires=expires, heartbeat=heartbeat)
        await pull.start()
        return pull

    @property
    def asked(self) -> int:
        """Messages requested and neither received nor returned by the server yet."""
        return self._asked

    @property
    def buffered(self) -> int:
        """Messages received and not yet taken."""
        return len(self._buffer)

    @property
    def connection_closed(self) -> bool:
        return bool(self._nc.is_closed)

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)
        self._watchdog = asyncio.create_task(self._watch())
        await self._refill()

    async def take(self, batch: int, timeout: float) -> list[Msg]:  # noqa: ASYNC109 - a wait bound
        """What has arrived, at most `batch`, in order; wait up to `timeout` for the first.
        TimeoutError when nothing came."""
        if not self._buffer:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), timeout)
        count = min(batch, len(self._buffer))
        msgs = [self._buffer.popleft() for _ in range(count)]
        await self._refill()
        return msgs

    async def close(self) -> None:
        """Stop asking, stop receiving, and nak what was received and not taken."""
        if self._closed:
            return
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        while self._buffer:
            with contextlib.suppress(Exception):
                await self._buffer.popleft().nak()

    # -- the server's side -----------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        headers = msg.headers
        status = headers.get(STATUS) if headers else None
        if not status:
            self._asked = max(0, self._asked - 1)
            if self._closed:
                with contextlib.suppress(Exception):
                    await msg.nak()
                return
            self._buffer.append(msg)
            self._arrived.set()
            return
        if status == HEARTBEAT_STATUS:
            return
        assert headers is not None
        left = headers.get(PENDING_MESSAGES)
        if status in ENDED_STATUSES and left is not None and left.isdigit():
            self._asked = max(0, self._asked - int(left))
        else:  # leadership changed, consumer deleted or recreated, ...: start over
            log.warning(
                "%s/%s: pull ended with status %s %s; asking again",
                self.stream,
                self.durable,
                status,
                headers.get(DESCRIPTION, ""),
            )
            self._asked = 0
        await self._refill()

    async def _refill(self) -> None:
        if self._closed:
            return
        wanted = refill(self.prefetch, len(self._buffer), self._asked)
        if not wanted:
            return
        self._asked += wanted
        try:
            await self._nc.publish(
                self._subject,
                pull_request(wanted, self._expires, self._heartbeat),
                reply=self._inbox,
            )
        except Exception:  # connection away: the watchdog asks again once it is back
            self._asked -= wanted
            log.debug("%s/%s: pull request not sent", self.stream, self.durable, exc_info=True)

    def _reconnect_count(self) -> int:
        stats = getattr(self._nc, "stats", None) or {}
        return int(stats.get("reconnects", 0))

    async def _watch(self) -> None:
        """Every heartbeat: forget the requests when the server has been silent for two
        (a live request brings a message or a heartbeat at least that often) or the
        connection was re-established since, then ask again."""
        while not self._closed:
            await asyncio.sleep(self._heartbeat)  # a period, not a synchronisation
            reconnects = self._reconnect_count()
            silent = time.monotonic() - self._heard > 2 * self._heartbeat
            if reconnects != self._reconnects or (self._asked and silent):
                self._reconnects = reconnects
                self._asked = 0
                self._heard = time.monotonic()
            if self._nc.is_connected:
                await self._refill()
