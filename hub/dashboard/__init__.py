"""The hub's read-only web dashboard: `start_dashboard(host, port, provider)`.

See `hub.dashboard.server` for the routes and the security rules, and `static/` for the page
(plain HTML, CSS and JavaScript drawing SVG charts: no build step, nothing from a CDN).
"""

from __future__ import annotations

from hub.dashboard.server import MetricsProvider, SnapshotProvider, is_loopback, start_dashboard

__all__ = ["MetricsProvider", "SnapshotProvider", "is_loopback", "start_dashboard"]
