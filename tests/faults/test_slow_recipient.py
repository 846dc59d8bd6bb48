"""A slow recipient: its agency system takes its inbox far slower than documents arrive.
The other recipient is not held back, the slow one's backlog waits on disk (the adapter's
mailbox and JetStream), not in memory, and once it catches up nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
import pytest

from adapters.nats.embedded import EmbeddedNats, free_port
from hub import subjects
from tests.faults.harness import Exercise, TrucProcess, assert_exactly_once, write_config
from tests.support import G15, G22, H49, POST, eventually


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def _pending(url: str, member: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(
            subjects.OUT_STREAM, subjects.delivery_consumer(member)
        )
        return int(info.num_ack_pending + info.num_pending)
    finally:
        await nc.close()


@pytest.mark.timeout(150)
async def test_a_slow_recipient_is_bounded_and_catches_up(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    ports = {code: free_port() for code in (G22, G15, H49, POST)}
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports)
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("slow_recipient", ports, rate=40)
    slow, fast = exercise.agencies  # H49, G15
    assert slow.member == H49 and fast.member == G15
    slow.delay = 0.05  # at most ~20 documents a second, against 40 arriving
    exercise.start()
    try:
        await eventually(lambda: sum(fast.delivered.values()) >= 20, what="first deliveries")
        start_rss = rss_mb(adapters.pid)
        ended = time.monotonic() + 8
        peak_lag = 0
        max_rss = start_rss
        while time.monotonic() < ended:
            lag = len(exercise.load.acknowledged) - sum(slow.delivered.values())
            peak_lag = max(peak_lag, lag)
            max_rss = max(max_rss, rss_mb(adapters.pid))
            await asyncio.sleep(0.2)  # the sampling period of the lag and memory gauges
        await exercise.finish_load()
        # The fast recipient kept up while the slow one lagged behind.
        acked = set(exercise.load.acknowledged)
        await eventually(lambda: acked <= set(fast.delivered), what="the fast recipient caught up")
        assert peak_lag > 100, f"the slow recipient did not lag (peak {peak_lag})"
        in_nats = await _pending(nats_server.url, H49)  # the rest waits in the mailbox
        grew = max_rss - start_rss
        assert grew < 60, f"adapters RSS grew {grew:.0f} MB with a backlog of {peak_lag}"
        await exercise.settle(within=120)
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub.terminate()
    notes = (
        f"peak backlog {peak_lag} documents ({in_nats} still in JetStream at the end of the "
        f"load); adapters RSS {start_rss:.0f} -> {max_rss:.0f} MB"
    )
    assert_exactly_once(exercise.judge(config, data, notes))
