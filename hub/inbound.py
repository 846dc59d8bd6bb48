"""The hub's consumer of `truc.in` (wiring: NATS messages into `HubService`), pipelined.

A batch is prepared (judged and recorded in the ledger) and then published (routed copies,
receipts, the feed) and acknowledged. The two overlap across batches: while one batch's
publications wait for JetStream, the next batch is fetched and prepared. At 1,000 documents
a second the hub was busy about nine tenths of the time, a fifth of it waiting for its own
publications to be stored (README, Performance). At most one batch is being published at a
time, and a batch is published only once the one before it was, so every member still gets
its routed copies and receipts, and the feed its entries, in ledger order. Nothing is
acknowledged before it is recorded and published, as before.

A batch that fails is taken apart: its messages (a bundle's envelopes) are processed one by
one to find the one at fault, which is set aside as poison once `PoisonGuard` says the hub is
otherwise healthy; an outage redelivers them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from nats.aio.msg import Msg

from adapters.envelope import unbundle
from hub import subjects
from hub.poison import PoisonGuard
from hub.service import BatchReport, HubService, Inbound, Prepared

log = logging.getLogger("truc.hub")


class InboundConsumer:
    """`handle` is the pull loop's handler; `drain` finishes the batch still publishing."""

    def __init__(
        self,
        service: HubService,
        observe: Callable[[BatchReport], None],
        guard: PoisonGuard | None = None,
    ) -> None:
        self._service = service
        self._observe = observe
        self._guard = guard or PoisonGuard()
        self._publishing: asyncio.Task[None] | None = None

    async def handle(self, msgs: list[Msg]) -> None:
        """Prepare `msgs`, then hand their publication to a task and return for the next
        pull; the previous batch's publication is awaited first, keeping the order."""
        try:
            prepared = await self._service.prepare([i for m in msgs for i in inbound(m)])
        except Exception as error:
            await self.drain()
            await self._apart(msgs, error)
            return
        await self.drain()
        self._publishing = asyncio.create_task(self._publish(msgs, prepared))

    async def drain(self) -> None:
        """Wait for the batch being published, if any (before stopping, or the next one)."""
        task, self._publishing = self._publishing, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _publish(self, msgs: list[Msg], prepared: Prepared) -> None:
        try:
            report = await self._service.publish(prepared)
        except Exception as error:
            await self._apart(msgs, error)
            return
        self._guard.succeeded(*(sequence(m) for m in msgs))
        try:
            self._observe(report)
        except Exception:  # metrics and logs: never a reason to redeliver what is published
            log.exception("hub: observing a batch failed")
        for m in msgs:
            with contextlib.suppress(Exception):
                await m.ack()

    async def _apart(self, msgs: list[Msg], error: Exception) -> None:
        """Take a failed batch apart; if even that fails, redeliver the batch (in a task the
        error would otherwise surface in the next batch, and be blamed on it)."""
        try:
            await self._one_by_one(msgs, error)
        except Exception:
            log.exception("hub: batch of %d failed; it will be redelivered", len(msgs))
            for m in msgs:
                with contextlib.suppress(Exception):
                    await m.nak(delay=1.0)

    async def _one_by_one(self, msgs: list[Msg], error: Exception) -> None:
        """A batch failed: find the message(s) at fault by processing them alone (a bundle's
        items one by one); stop at the first that fails while nothing has succeeded (an
        outage: redeliver them all)."""
        pending = list(msgs)
        while pending:
            m = pending.pop(0)
            items = inbound(m)
            failing = items
            if len(msgs) > 1 or len(items) > 1:
                failing = []
                for one in items:
                    try:
                        self._observe(await self._service.process([one]))
                    except Exception as alone:
                        error = alone
                        failing.append(one)
                    else:
                        self._guard.succeeded()
                if not failing:
                    self._guard.succeeded(sequence(m))
                    with contextlib.suppress(Exception):
                        await m.ack()
                    continue
            attempts = deliveries(m)
            if self._guard.failed(sequence(m), attempts):
                log.error("poison message set aside after %d attempts: %r", attempts, error)
                reason = f"{type(error).__name__}: {error}"
                for item in failing:  # the rest of a bundle is recorded by now
                    await self._service.give_up(item, attempts, reason)
                with contextlib.suppress(Exception):
                    await m.term()
                continue
            log.warning("inbound message failed (attempt %d): %r", attempts, error)
            for again in [m, *pending]:
                with contextlib.suppress(Exception):
                    await again.nak(delay=1.0)
            return


def inbound(msg: Msg) -> list[Inbound]:
    """The inbound messages a NATS message carries: itself, or a bundle's envelopes (a
    bundle that does not read is judged as it is, and refused as malformed)."""
    stored = stored_at_ms(msg)
    if subjects.bundle_kind(msg.headers) == subjects.ENVELOPE_BUNDLE:
        with contextlib.suppress(Exception):
            return [Inbound(msg.subject, item, stored) for item in unbundle(msg.data)]
    return [Inbound(msg.subject, msg.data, stored)]


def sequence(msg: Msg) -> int:
    """The message's stream sequence: the poison guard's key for it."""
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # not a JetStream message
        return id(msg)


def deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:
        return 1


def stored_at_ms(msg: Msg) -> int | None:
    """When JetStream stored a message, from its metadata (None if it is not a JS message)."""
    try:
        return int(msg.metadata.timestamp.timestamp() * 1000)
    except Exception:  # no JetStream metadata
        return None
