"""The dashboard's HTTP server: a few read-only routes on asyncio streams, inside the hub's
own event loop, so it needs no web framework and no thread (the summary it serves comes from
async NATS calls on that same loop).

Routes: `/` (and `/app.js`, `/app.css`: a static page with no build step and nothing from a
CDN), `/api/summary` (JSON from the snapshot provider), `/metrics` (the Prometheus
exposition, when a provider is given), `/healthz`.

Security, in the order a request meets it:
- Loopback binding: no login, but the Host header must name the loopback, so a web page on
  another site cannot read the dashboard through DNS rebinding.
- Any other binding: a bearer token is required (`start_dashboard` refuses to start without
  one) on `/api/*` and `/metrics`; the page itself holds no data. The page reads the token
  from the URL fragment (`/#token=...`), which browsers never send to the server or in
  Referer headers, and keeps it in sessionStorage.
- GET and HEAD only; small request heads; a deadline on every read; strict response headers
  (CSP allows only this origin's script and style, no framing, no sniffing, no caching).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from hub.errors import ConfigError

log = logging.getLogger("truc.dashboard")

SnapshotProvider = Callable[[], Awaitable[Mapping[str, Any]]]
"""Returns the `/api/summary` body (JSON-ready), e.g. `hub.ops.OpsCollector.summary`."""
MetricsProvider = Callable[[], tuple[bytes, str]]
"""Returns the Prometheus exposition and its content type, e.g. `HubMetrics.exposition`."""

MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses; an empty host means every interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Dashboard:
    def __init__(
        self,
        snapshot_provider: SnapshotProvider,
        *,
        token: str | None,
        loopback: bool,
        metrics: MetricsProvider | None,
        cache_seconds: float,
    ) -> None:
        self._provider = snapshot_provider
        self._token = token.encode() if token else None
        self._loopback = loopback
        self._metrics = metrics
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, int, bytes] | None = None
        self._lock = asyncio.Lock()
        self._static = {
            path: (_read_static(name), content_type)
            for path, (name, content_type) in STATIC.items()
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, headers, body, head_only = await self._respond(reader)
        except Exception:
            log.exception("dashboard: request failed")
            status, headers, body, head_only = (*_json(500, {"error": "internal error"}), False)
        try:
            writer.write(_encode(status, headers, b"" if head_only else body, len(body)))
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _respond(
        self, reader: asyncio.StreamReader
    ) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except (asyncio.LimitOverrunError, ValueError):
            return (*_text(431, "request head too large\n"), False)
        except TimeoutError:
            return (*_text(408, "request timeout\n"), False)
        except asyncio.IncompleteReadError:
            return (*_text(400, "incomplete request\n"), False)
        try:
            method, target, headers = _parse_head(head)
        except ValueError as error:
            return (*_text(400, f"{error}\n"), False)
        head_only = method == "HEAD"
        if method not in ("GET", "HEAD"):
            status, hdrs, body = _text(405, "read-only: GET and HEAD only\n")
            return status, [*hdrs, ("Allow", "GET, HEAD")], body, False
        if self._loopback and not _host_is_loopback(headers.get("host", "")):
            return (*_text(421, "this dashboard answers to localhost only\n"), head_only)
        path = urlsplit(target).path or "/"
        if path in self._static:
            body, content_type = self._static[path]
            return 200, [("Content-Type", content_type)], body, head_only
        if path == "/healthz":
            return (*_text(200, "ok\n"), head_only)
        if path == "/favicon.ico":
            return 204, [], b"", head_only
        if path not in ("/api/summary", "/metrics"):
            return (*_text(404, "not found\n"), head_only)
        if not self._authorised(headers.get("authorization", "")):
            status, hdrs, body = _json(401, {"error": "a bearer token is required"})
            return status, [*hdrs, ("WWW-Authenticate", 'Bearer realm="truc"')], body, head_only
        if path == "/metrics":
            if self._metrics is None:
                return (*_text(404, "metrics are not enabled on this hub\n"), head_only)
            exposition, content_type = self._metrics()
            return 200, [("Content-Type", content_type)], exposition, head_only
        status, body = await self._summary()
        return status, [("Content-Type", "application/json; charset=utf-8")], body, head_only

    def _authorised(self, header: str) -> bool:
        if self._token is None:
            return True
        scheme, _, credentials = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token
        )

    async def _summary(self) -> tuple[int, bytes]:
        """The provider's answer, shared for `cache_seconds` so that many open pages cost
        one collection, and computed by one request at a time."""
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1], cached[2]
            try:
                summary = await self._provider()
                status, body = 200, _dumps(summary)
            except Exception as error:
                log.warning("dashboard: summary failed", exc_info=True)
                status, body = 503, _dumps({"error": f"the hub cannot say right now: {error}"})
            self._cached = (time.monotonic(), status, body)
            return status, body


async def start_dashboard(
    host: str,
    port: int,
    snapshot_provider: SnapshotProvider,
    *,
    token: str | None = None,
    metrics: MetricsProvider | None = None,
    cache_seconds: float = 1.0,
) -> tuple[asyncio.Server, int]:
    """Serve the dashboard on host:port (port 0: a free one) in the running event loop.

    Returns the server (close it with `server.close(); await server.wait_closed()`) and the
    port it listens on. Raises ConfigError when bound beyond the loopback without a token.
    """
    loopback = is_loopback(host)
    if not loopback and not token:
        raise ConfigError(
            f"dashboard: binding to {host or 'every interface'} needs a token "
            "([hub] dashboard_token); without one, bind it to 127.0.0.1"
        )
    if token is not None and len(token) < 16:
        raise ConfigError("dashboard: the token must be at least 16 characters")
    dashboard = _Dashboard(
        snapshot_provider,
        token=token,
        loopback=loopback,
        metrics=metrics,
        cache_seconds=cache_seconds,
    )
    server = await asyncio.start_server(
        dashboard.handle, host=host or None, port=port, limit=MAX_HEAD
    )
    bound = int(server.sockets[0].getsockname()[1])
    return server, bound


def _read_static(name: str) -> bytes:
    return resources.files("hub.dashboard").joinpath("static", name).read_bytes()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise ValueError("undecodable request") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("malformed request line")
    method, target, _version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError("malformed header line")
        headers[name.lower()] = value.strip()
    return method, target, headers


def _host_is_loopback(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in LOOPBACK_NAMES or (is_loopback(host) if host else False)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


def _json(status: int, value: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json; charset=utf-8")], _dumps(value)


def _text(status: int, text: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "text/plain; charset=utf-8")], text.encode()


def _encode(status: int, headers: list[tuple[str, str]], body: bytes, length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in (*headers, *SECURITY_HEADERS)]
    lines += [f"Content-Length: {length}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body
