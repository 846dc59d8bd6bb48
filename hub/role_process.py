"""One `truc up --role hub|adapters|all` child process: started, watched until ready,
stopped gracefully or killed.

`truc bench` runs the hub and the adapters this way, as a deployment would (one interpreter
lock per process instead of one for everything), and the fault tests use it to kill -9 and
restart each part under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The checkout the child runs in (so `python -m hub.cli.main` finds this very code).
_ROOT = Path(__file__).resolve().parents[1]


class RoleProcessError(Exception):
    """A role process did not become ready (its stderr tail is in the message)."""


@dataclass
class RoleProcess:
    role: str
    config: Path
    data_dir: Path
    extra: tuple[str, ...] = ()
    # Where each start's stderr goes (a new file per start): next to the data directory
    # unless given.
    log_dir: Path | None = None
    process: asyncio.subprocess.Process | None = None
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def start(self, within: float = 60.0) -> RoleProcess:
        directory = self.log_dir or self.data_dir.parent
        log = directory / f"{self.role}-{len(self.lines)}-{time.time_ns()}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub.cli.main",
                "up",
                "--role",
                self.role,
                "--config",
                str(self.config),
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                "warning",
                *self.extra,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(ready))
        try:
            await asyncio.wait_for(ready.wait(), within)
        except TimeoutError:
            await self.kill()
            raise RoleProcessError(
                f"truc up --role {self.role} not ready in {within}s; stderr in {log}:\n"
                + log.read_text(errors="replace")[-3000:]
            ) from None
        return self

    async def _read(self, ready: asyncio.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line.startswith("ready"):
                ready.set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ready_line(self) -> str:
        return next(line for line in self.lines if line.startswith("ready"))

    async def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self._reap()

    async def terminate(self, within: float = 30.0) -> int:
        """SIGTERM: the graceful shutdown (in-flight work finished and acknowledged)."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.process.kill()
        return await self._reap()

    async def _reap(self) -> int:
        code = await self.process.wait() if self.process is not None else 0
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        return code


def adapter_addresses(ready_line: str) -> dict[str, str]:
    """`ready role=adapters nats=... adapters: A=host:port, B=host:port` -> {A: host:port}."""
    _, _, listed = ready_line.partition("adapters: ")
    pairs = (item.strip().split("=", 1) for item in listed.split(",") if "=" in item)
    return {code: address for code, address in pairs}
