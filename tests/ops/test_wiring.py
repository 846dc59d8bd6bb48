"""The ops side as `start_stack` wires it: metrics observed per batch, exporter and dashboard
on the configured ports, the stack file naming them, and an orderly stop."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import replace
from pathlib import Path

from adapters.nats.embedded import EmbeddedNats
from hub.bootstrap import start_stack
from hub.stackfile import read_stack
from tests.ops.conftest import send_document, send_refused
from tests.support import G22, H49, POST, eventually, make_config

REFUSED = 'truc_messages_rejected_total{member="000.00.00.G22",reason="route_not_allowed"} 1.0'


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


async def test_a_stack_with_metrics_and_a_dashboard(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    config = replace(make_config(nats_server.url), metrics_port=0, dashboard_port=0)
    stack = await start_stack(config, tmp_path / "data")
    try:
        exporter = stack.metrics_exporter
        assert exporter is not None and stack.dashboard_url
        info = read_stack(tmp_path / "data")
        assert (info.metrics_url, info.dashboard_url) == (exporter.url, stack.dashboard_url)
        assert info.hub_public_key
        await send_document(stack, G22, [H49])
        await send_refused(stack, G22, POST)

        async def scraped() -> str:
            text = (await asyncio.to_thread(_get, exporter.url)).decode()
            return text if REFUSED in text else ""

        text = await eventually(scraped, what="the refusal counted")
        assert 'truc_messages_in_total{kind="document",member="000.00.00.G22"} 2.0' in text
        assert 'truc_messages_out_total{kind="routed",member="000.00.00.H49"} 1.0' in text
        assert 'truc_end_to_end_latency_seconds_count{kind="document"} 1.0' in text
        assert 'truc_consumer_lag_messages{consumer="hub",member="",role="hub"}' in text
        summary = json.loads(await asyncio.to_thread(_get, stack.dashboard_url + "api/summary"))
        assert summary["ledger"]["size"] == stack.ledger.size()
        assert summary["activity"]["refused_by_reason"] == {"route_not_allowed": 1}
    finally:
        await stack.stop()
    assert stack.dashboard is None and stack.metrics_exporter is None and stack.ops_task is None
