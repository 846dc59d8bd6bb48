"""The hub and the adapters as separate `truc up --role ...` processes, for `truc bench`.

One Python process holds one interpreter lock: with the hub, four adapters and their gRPC
servers in one process the whole path ran on one core while the machine had two. Split as a
deployment would run them (`--role hub`, `--role adapters`), each gets a core of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hub.bench_errors import BenchError


@dataclass
class RoleProcess:
    role: str
    config: Path
    data_dir: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def start(self, within: float = 90.0) -> RoleProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as stderr:
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
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(ready))
        try:
            await asyncio.wait_for(ready.wait(), within)
        except TimeoutError:
            await self.stop()
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BenchError(
                f"truc up --role {self.role} not ready in {within} s:\n{tail}"
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

    async def stop(self, within: float = 30.0) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def adapter_addresses(ready_line: str) -> dict[str, str]:
    """`ready role=adapters nats=... adapters: A=host:port, B=host:port` -> {A: host:port}."""
    _, _, listed = ready_line.partition("adapters: ")
    pairs = (item.strip().split("=", 1) for item in listed.split(",") if "=" in item)
    return {code: address for code, address in pairs}
