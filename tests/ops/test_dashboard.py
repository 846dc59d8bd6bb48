"""The dashboard: its HTTP rules (routes, token, Host check, errors) on a real socket, and
end to end in headless Chromium against a running hub, reading the figures the page shows."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hub.bootstrap import Stack
from hub.dashboard import start_dashboard
from hub.errors import ConfigError
from hub.metrics import HubMetrics
from hub.ops import CheckpointInfo, Cosignature, OpsCollector, ledger_notifications
from tests.ops.conftest import Browser, report_status, send_document, send_refused, settled
from tests.support import G15, G22, H49, POST

TOKEN = "s3cret-token-for-tests-0123456789"


async def http(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, exactly as written (no client library fixing it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if raw is None:
            lines = [f"{method} {path} HTTP/1.1"]
            lines += [
                f"{k}: {v}" for k, v in {"Host": f"127.0.0.1:{port}", **(headers or {})}.items()
            ]
            raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
        writer.write(raw)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split(" ")[1]), parsed, body


class Provider:
    def __init__(self, body: dict[str, Any] | None = None) -> None:
        self.calls = 0
        self.body = body or {"ledger": {"size": 5}}
        self.error: Exception | None = None

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.body


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[int, Provider]]:
    provider = Provider()
    metrics = HubMetrics()
    metrics.batches.inc(4)
    server, port = await start_dashboard(
        "127.0.0.1", 0, provider, metrics=metrics.exposition, cache_seconds=0
    )
    try:
        yield port, provider
    finally:
        server.close()
        await server.wait_closed()


# -- HTTP ---------------------------------------------------------------------------------------


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(
    served: tuple[int, Provider],
) -> None:
    port, provider = served
    status, headers, body = await http(port, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script src="/app.js" defer></script>' in body
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert int(headers["content-length"]) == len(body)
    status, headers, body = await http(port, "/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b"textContent" in body and b"innerHTML" not in body
    assert (await http(port, "/app.css"))[0] == 200
    assert provider.calls == 0  # the page itself holds no data


async def test_the_summary_is_the_providers_answer_as_json(served: tuple[int, Provider]) -> None:
    port, provider = served
    provider.body = {"ledger": {"size": 5}, "hub": {"name": "Trục <b>"}}
    status, headers, body = await http(port, "/api/summary")
    assert status == 200 and headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body) == provider.body
    assert provider.calls == 1


async def test_metrics_healthz_and_unknown_paths(served: tuple[int, Provider]) -> None:
    port, _ = served
    status, headers, body = await http(port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert b"truc_batches_total 4.0" in body
    assert (await http(port, "/healthz"))[:3:2] == (200, b"ok\n")
    assert (await http(port, "/nope"))[0] == 404
    assert (await http(port, "/../etc/passwd"))[0] == 404


async def test_only_get_and_head_are_answered(served: tuple[int, Provider]) -> None:
    port, _ = served
    status, headers, _ = await http(port, "/api/summary", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, headers, body = await http(port, "/api/summary", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


async def test_on_loopback_a_foreign_host_header_is_refused(served: tuple[int, Provider]) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must read nothing."""
    port, provider = served
    status, _, _ = await http(port, "/api/summary", headers={"Host": f"evil.example:{port}"})
    assert status == 421
    for host in (f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
        assert (await http(port, "/api/summary", headers={"Host": host}))[0] == 200
    assert provider.calls == 3


async def test_malformed_and_oversized_requests(served: tuple[int, Provider]) -> None:
    port, _ = served
    assert (await http(port, "/", raw=b"GARBAGE\r\n\r\n"))[0] == 400
    huge = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
    assert (await http(port, "/", raw=huge))[0] == 431


async def test_a_failing_provider_gives_503_with_the_reason(served: tuple[int, Provider]) -> None:
    port, provider = served
    provider.error = ConnectionError("NATS is away")
    status, _, body = await http(port, "/api/summary")
    assert status == 503
    assert json.loads(body) == {"error": "the hub cannot say right now: NATS is away"}


async def test_summaries_are_shared_for_the_cache_period() -> None:
    provider = Provider()
    server, port = await start_dashboard("127.0.0.1", 0, provider, cache_seconds=60)
    try:
        answers = await asyncio.gather(*(http(port, "/api/summary") for _ in range(5)))
        assert {a[0] for a in answers} == {200}
        assert provider.calls == 1
        assert (await http(port, "/metrics"))[0] == 404  # no metrics provider given
    finally:
        server.close()
        await server.wait_closed()


async def test_a_token_guards_the_data_but_not_the_page() -> None:
    provider = Provider()
    server, port = await start_dashboard("127.0.0.1", 0, provider, token=TOKEN)
    try:
        status, headers, _ = await http(port, "/api/summary")
        assert status == 401 and headers["www-authenticate"] == 'Bearer realm="truc"'
        wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
        assert (await http(port, "/api/summary", headers=wrong))[0] == 401
        assert (await http(port, "/metrics", headers={"Authorization": TOKEN}))[0] == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert (await http(port, "/api/summary", headers=good))[0] == 200
        assert (await http(port, "/"))[0] == 200
        assert provider.calls == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_beyond_loopback_a_token_is_required_and_any_host_is_accepted() -> None:
    with pytest.raises(ConfigError, match="needs a token"):
        await start_dashboard("0.0.0.0", 0, Provider())
    with pytest.raises(ConfigError, match="at least 16"):
        await start_dashboard("0.0.0.0", 0, Provider(), token="short")
    server, port = await start_dashboard("0.0.0.0", 0, Provider(), token=TOKEN)
    try:
        headers = {"Host": "truc.example.gov.vn", "Authorization": f"Bearer {TOKEN}"}
        assert (await http(port, "/api/summary", headers=headers))[0] == 200
        assert (await http(port, "/api/summary", headers={"Host": "truc.example.gov.vn"}))[0] == 401
    finally:
        server.close()
        await server.wait_closed()


# -- end to end in Chromium ---------------------------------------------------------------------


async def _populate(stack: Stack) -> dict[str, Any]:
    """Documents with known outcomes: H49 finished one on time and owes one overdue; G15 has
    one open, not yet due; G22 had one message refused by the route policy."""
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y/%m/%d")
    first = await send_document(stack, G22, [H49, G15], subject="Hạn xa", due=future)
    await send_document(stack, G22, [H49], subject="Quá hạn", due="2000/01/01")
    await send_document(stack, G15, [G22], subject="Không hạn")
    await report_status(stack, H49, first.document_id, "03")
    await report_status(stack, H49, first.document_id, "06")
    await send_refused(stack, G22, POST)
    await settled(stack, dead=1)
    # Every recorded event is on the feed, the registry's own (recorded at start) included;
    # a batch's events of one kind share a message, one event a line, so the stream counts
    # messages, not events.
    js = stack.hub_nc.jetstream()
    feed = await js.stream_info("TRUC_LEDGER")
    lines = 0
    for sequence in range(feed.state.first_seq, feed.state.last_seq + 1):
        lines += len((await js.get_msg("TRUC_LEDGER", sequence)).data.splitlines())
    size = stack.ledger.size()
    assert lines == size
    return {"ledger_size": size, "fed": feed.state.messages}


def _collector(stack: Stack, checkpoint: CheckpointInfo | None) -> OpsCollector:
    return OpsCollector(
        stack.hub_nc.jetstream(),
        hub_name=stack.hub_signer.name,
        ledger=stack.ledger,
        notifications=ledger_notifications(stack.ledger),
        checkpoint=lambda: checkpoint,
    )


FIGURES = """(() => {
  const value = (id) => document.querySelector(`#${id} .value`);
  const bar = (chart, series, label) => {
    const node = document.querySelector(
      `#${chart} rect[data-series="${series}"][data-label="${label}"]`);
    return node ? Number(node.dataset.value) : null;
  };
  const row = (table, member) => {
    const tr = document.querySelector(`#${table} tr[data-member="${member}"]`);
    return tr ? [...tr.querySelectorAll('td')].map(td => td.textContent) : null;
  };
  return {
    state: document.body.dataset.state,
    hub: document.querySelector('#hub-name').textContent,
    ledgerSize: value('kpi-ledger-size').textContent,
    ledgerSizeValue: value('kpi-ledger-size').dataset.value,
    deadLetters: value('kpi-dead-letters').textContent,
    docOnTime: value('kpi-doc-on-time').textContent,
    docSub: document.querySelector('#kpi-doc-on-time .sub').textContent,
    dossiers: value('kpi-dossier-on-time').textContent,
    checkpoint: value('kpi-checkpoint').textContent,
    checkpointSub: document.querySelector('#kpi-checkpoint .sub').textContent,
    sentG22: bar('chart-volumes', 'sent', '000.00.00.G22'),
    sentG15: bar('chart-volumes', 'sent', '000.00.00.G15'),
    receivedH49: bar('chart-volumes', 'received', '000.00.00.H49'),
    refusedRoute: bar('chart-rejections', 'count', 'route_not_allowed'),
    lagH49: bar('chart-lag', 'deliveries', '000.00.00.H49'),
    h49: row('table-documents', '000.00.00.H49'),
    g15: row('table-documents', '000.00.00.G15'),
    witnesses: [...document.querySelectorAll('#table-cosignatures tr[data-witness]')]
      .map(tr => tr.dataset.witness),
    problems: [...document.querySelectorAll('#problem-list li')].map(li => li.textContent),
    streams: Object.fromEntries([...document.querySelectorAll('#table-streams tr[data-stream]')]
      .map(tr => [tr.dataset.stream, tr.querySelector('.messages').textContent])),
    deadCodes: [...document.querySelectorAll('#table-dead-letters td.code')]
      .map(td => td.textContent),
    url: location.href,
  };
})()"""


async def test_the_page_shows_the_hubs_figures_in_chromium(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    expected = await _populate(stack)
    now = datetime.now(UTC)
    checkpoint = CheckpointInfo(
        origin="truc.test/log",
        size=expected["ledger_size"],
        root_hash="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        issued_at=now - timedelta(minutes=3),
        cosignatures=(
            Cosignature("witness.mic.gov.vn", "0a0b0c0d", now - timedelta(minutes=2)),
            Cosignature("witness.vnpt.vn", "01020304", now - timedelta(minutes=2)),
        ),
        cosignatures_verified=True,
    )
    server, port = await start_dashboard("127.0.0.1", 0, _collector(stack, checkpoint).summary)
    try:
        await asyncio.to_thread(browser.navigate, f"http://127.0.0.1:{port}/")
        await asyncio.to_thread(
            browser.wait_for, "document.body.dataset.state === 'ready'", what="the first summary"
        )
        figures = await asyncio.to_thread(browser.evaluate, FIGURES)
        # TRUC_SCREENSHOT_DIR keeps the picture for a person to look at.
        folder = Path(os.environ.get("TRUC_SCREENSHOT_DIR") or tmp_path)
        shot = await asyncio.to_thread(browser.screenshot, folder / "dashboard.png")
        shot_size = await asyncio.to_thread(lambda: shot.stat().st_size)
    finally:
        server.close()
        await server.wait_closed()
    size = expected["ledger_size"]
    assert figures["hub"] == "truc.test"
    assert (figures["ledgerSize"], figures["ledgerSizeValue"]) == (f"{size:,}", str(size))
    assert figures["deadLetters"] == "1"
    assert figures["refusedRoute"] == 1
    # Two documents from G22 and one from G15; H49 was sent two, G15 one (G22 one).
    assert (figures["sentG22"], figures["sentG15"], figures["receivedH49"]) == (2, 1, 2)
    # H49: one on time, one overdue -> 50 %; G15: one open (not yet due).
    assert figures["docOnTime"] == "50.0%"
    assert figures["docSub"].startswith("1 overdue")
    assert figures["h49"] == ["000.00.00.H49", "1", "0", "1", "0"]
    assert figures["g15"] == ["000.00.00.G15", "0", "0", "0", "1"]
    assert figures["dossiers"] == "not yet"
    assert figures["checkpoint"] == f"{size:,}"
    assert figures["checkpointSub"] == "3m old · 2 cosignature(s)"
    assert figures["witnesses"] == ["witness.mic.gov.vn", "witness.vnpt.vn"]
    assert figures["lagH49"] == 0
    # In: 3 documents, 2 statuses, 1 refused. Out: 4 routed copies + 3 receipts for the
    # documents, 2 routed + 2 receipts for the statuses, 1 refusal receipt.
    assert figures["streams"] == {
        "TRUC_IN": "6",
        "TRUC_OUT": "12",
        "TRUC_LEDGER": str(expected["fed"]),
        "TRUC_DEAD": "1",
    }
    assert figures["deadCodes"] == ["route_not_allowed"]
    assert any("route_not_allowed" in p for p in figures["problems"])
    assert browser.page_errors() == []
    assert shot_size > 10_000


async def test_the_page_refreshes_and_uses_a_token_from_the_url_fragment(
    stack: Stack, browser: Browser
) -> None:
    """Bound beyond the loopback with a token: the page takes it from `#token=`, drops it
    from the address bar, and keeps following the hub as new documents are recorded."""
    server, port = await start_dashboard(
        "0.0.0.0", 0, _collector(stack, None).summary, token=TOKEN, cache_seconds=0
    )
    try:
        await asyncio.to_thread(
            browser.navigate, f"http://127.0.0.1:{port}/?refresh=1#token={TOKEN}"
        )
        await asyncio.to_thread(
            browser.wait_for, "document.body.dataset.state === 'ready'", what="the page"
        )
        first = await asyncio.to_thread(browser.evaluate, FIGURES)
        assert first["ledgerSize"] == f"{stack.ledger.size():,}"
        assert first["checkpoint"] == "none"
        assert "token" not in first["url"]
        await send_document(stack, G22, [H49])
        size = stack.ledger.size()
        await asyncio.to_thread(
            browser.wait_for,
            f"document.querySelector('#kpi-ledger-size .value').dataset.value === '{size}'",
            what=f"the ledger size to reach {size} on the page",
        )
        again = await asyncio.to_thread(browser.evaluate, FIGURES)
        assert again["sentG22"] == 1
    finally:
        server.close()
        await server.wait_closed()
    assert browser.page_errors() == []


class _NatsDown:
    async def streams_info(self) -> list[Any]:
        raise ConnectionRefusedError("nats://127.0.0.1:4222")

    async def consumers_info(self, stream: str) -> list[Any]:
        raise AssertionError("not reached")

    async def get_msg(self, stream_name: str, seq: int) -> Any:
        raise AssertionError("not reached")


class _Ledger:
    def size(self) -> int:
        return 12


async def test_nats_down_is_shown_as_trouble_not_as_zeros(browser: Browser) -> None:
    collector = OpsCollector(_NatsDown(), hub_name="truc.test", ledger=_Ledger())
    server, port = await start_dashboard("127.0.0.1", 0, collector.summary)
    try:
        await asyncio.to_thread(browser.navigate, f"http://127.0.0.1:{port}/")
        await asyncio.to_thread(
            browser.wait_for, "document.body.dataset.state === 'ready'", what="the page"
        )
        shown = await asyncio.to_thread(
            browser.evaluate,
            """({
              health: document.querySelector('#health').textContent,
              problems: [...document.querySelectorAll('#problem-list li')].map(l => l.textContent),
              ledger: document.querySelector('#kpi-ledger-size .value').textContent,
              dead: document.querySelector('#kpi-dead-letters .value').textContent,
              consumers: document.querySelector('#table-consumers tbody').textContent,
            })""",
        )
    finally:
        server.close()
        await server.wait_closed()
    assert shown["health"] == "NATS unreachable"
    assert shown["problems"] == ["NATS: ConnectionRefusedError: nats://127.0.0.1:4222"]
    assert (shown["ledger"], shown["dead"]) == ("12", "–")
    assert shown["consumers"].startswith("NATS: ConnectionRefusedError")
    assert browser.page_errors() == []


async def test_a_wrong_token_shows_the_token_form_not_data(browser: Browser) -> None:
    provider = Provider({"ledger": {"size": 5}})
    server, port = await start_dashboard("127.0.0.1", 0, provider, token=TOKEN)
    try:
        await asyncio.to_thread(browser.navigate, f"http://127.0.0.1:{port}/#token=wrong")
        await asyncio.to_thread(
            browser.wait_for, "document.body.dataset.state === 'auth'", what="the token form"
        )
        visible = await asyncio.to_thread(
            browser.evaluate,
            "[!document.querySelector('#auth').hidden,"
            " document.querySelector('#kpi-ledger-size .value').textContent]",
        )
        assert visible == [True, "–"]
        assert provider.calls == 0
    finally:
        server.close()
        await server.wait_closed()
