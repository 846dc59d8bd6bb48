"""Pulling in batches: a lone message is taken at once, a backlog comes in batches, and what
a short top-up did not wait for opens the next pull instead of being lost or doubled."""

from __future__ import annotations

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats


def test_the_top_up_waits_only_when_the_last_pull_brought_several() -> None:
    assert jetstream.top_up_seconds(1) == jetstream.TOP_UP_LIGHT_SECONDS
    assert jetstream.top_up_seconds(0) == jetstream.TOP_UP_LIGHT_SECONDS
    assert jetstream.top_up_seconds(2) == jetstream.TOP_UP_SECONDS
    assert jetstream.TOP_UP_LIGHT_SECONDS < jetstream.TOP_UP_SECONDS


async def test_pulls_take_everything_once_in_batches(nats_server: EmbeddedNats) -> None:
    nc = await jetstream.connect(nats_server.url, "test-pull-batches")
    try:
        js = nc.jetstream()
        await js.add_stream(name="P", subjects=["p.>"])
        sub = await js.pull_subscribe("p.>", durable="puller", stream="P")
        await js.publish("p.x", b"alone")
        (first,) = await jetstream._fetch_available(sub, 256, 5.0, jetstream.top_up_seconds(1))
        assert first.data == b"alone"
        await first.ack()
        sent = [str(i).encode() for i in range(300)]
        for data in sent:
            await js.publish("p.x", data)
        seen: list[bytes] = []
        previous = 1
        while len(seen) < len(sent):
            msgs = await jetstream._fetch_available(
                sub, 256, 5.0, jetstream.top_up_seconds(previous)
            )
            assert 1 <= len(msgs) <= 256
            previous = len(msgs)
            for msg in msgs:
                await msg.ack()
            seen += [m.data for m in msgs]
        assert seen == sent  # in order, none lost, none twice
    finally:
        await jetstream.close(nc)


class _Overflowing:
    """A subscription whose queue holds more than any pull asks for, as nats-py's does when a
    top-up gave up: `fetch(n)` hands over everything queued."""

    def __init__(self, count: int) -> None:
        self.queued = [f"m{i}" for i in range(count)]
        self.asked: list[int] = []

    async def fetch(self, batch: int, timeout: float) -> list[str]:  # noqa: ASYNC109 - nats-py's
        self.asked.append(batch)
        taken, self.queued = self.queued, []
        if not taken:
            raise TimeoutError
        return taken


async def test_a_pull_never_brings_more_than_its_batch_and_keeps_the_rest_in_order() -> None:
    sub = _Overflowing(10)
    pulls = [
        await jetstream._fetch_available(sub, 4, 0.01, 0.0)  # type: ignore[arg-type]
        for _ in range(3)
    ]
    assert pulls == [["m0", "m1", "m2", "m3"], ["m4", "m5", "m6", "m7"], ["m8", "m9"]]
    # The later pulls started from what was kept, and asked only for what was missing.
    assert sub.asked == [1, 2]
