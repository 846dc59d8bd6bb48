"""Three nats-server processes on loopback forming one JetStream cluster (R3 streams)."""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from adapters.nats.embedded import EmbeddedNats, free_port


@dataclass
class NatsCluster:
    root: Path
    size: int = 3
    nodes: dict[str, EmbeddedNats] = field(default_factory=dict)

    def start(self, within: float = 30.0) -> NatsCluster:
        routes = {f"n{i}": free_port() for i in range(1, self.size + 1)}
        route_list = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes.values())
        for name, route_port in routes.items():
            self.nodes[name] = EmbeddedNats(
                store_dir=self.root / name,
                port=free_port(),
                monitor_port=free_port(),
                server_name=name,
                extra_config=(
                    f"cluster {{\n  name: truc\n  listen: 127.0.0.1:{route_port}\n"
                    f"  routes: [{route_list}]\n}}\n"
                ),
            )
        for node in self.nodes.values():
            node.start(timeout=within)
        self.wait_healthy(within)
        return self

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes.values())

    def wait_healthy(self, within: float = 30.0) -> None:
        """Every running node reports JetStream healthy (a meta leader, streams current)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(_healthy(n) for n in self.nodes.values() if n.running()):
                return
            time.sleep(0.1)  # polling health endpoints against a deadline
        raise AssertionError(f"the NATS cluster did not become healthy within {within}s")

    def stop(self) -> None:
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop()


def _healthy(node: EmbeddedNats) -> bool:
    try:
        with urllib.request.urlopen(f"{node.monitor_url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
