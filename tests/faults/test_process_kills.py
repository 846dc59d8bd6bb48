"""kill -9 of the hub (mid-batch, under a steady stream) and of an adapter, then restarts:
every acknowledged send is recorded once and delivered once to every recipient."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.nats.embedded import EmbeddedNats, free_port
from tests.faults.harness import (
    Exercise,
    TrucProcess,
    assert_exactly_once,
    write_config,
)
from tests.support import G15, G22, H49, POST, eventually


def _ports() -> dict[str, int]:
    return {code: free_port() for code in (G22, G15, H49, POST)}


@pytest.mark.timeout(150)
async def test_hub_killed_mid_batch_recovers_on_restart(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    ports = _ports()
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports)
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("hub_kill9_mid_batch", ports).start()
    try:
        await exercise.wait_delivered(30)
        await hub.kill()
        # The adapters keep taking sends while the hub is dead: JetStream holds them.
        queued = len(exercise.load.acknowledged)
        await eventually(
            lambda: len(exercise.load.acknowledged) >= queued + 25, what="sends while hub down"
        )
        hub = await TrucProcess("hub", config, data).start()
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 10)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        assert await hub.terminate() == 0  # graceful: SIGTERM drains and exits cleanly
    assert_exactly_once(exercise.judge(config, data))


@pytest.mark.timeout(150)
async def test_adapter_killed_then_restarted(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    ports = _ports()
    config = write_config(tmp_path / "truc.toml", nats_server.url, ports=ports)
    data = tmp_path / "data"
    hub = await TrucProcess("hub", config, data).start()
    adapters = await TrucProcess("adapters", config, data).start()
    exercise = Exercise("adapter_kill9", ports).start()
    try:
        await exercise.wait_delivered(30)
        await adapters.kill()
        failed = sum(exercise.load.failures.values())
        await eventually(
            lambda: sum(exercise.load.failures.values()) >= failed + 5,
            what="sends refused while the adapter is down",
        )
        adapters = await TrucProcess("adapters", config, data).start()
        await exercise.wait_delivered(len(exercise.load.acknowledged) + 10)
        await exercise.settle()
    finally:
        await exercise.finish_load()
        await adapters.terminate()
        await hub.terminate()
    result = exercise.judge(config, data)
    assert result.sent > result.acknowledged  # calls made while it was dead failed, loudly
    assert_exactly_once(result)
