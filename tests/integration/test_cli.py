"""The `truc` CLI contract, exercised as a user would: real processes, real ports.

`truc up` runs as a child process against the test's own nats-server; `send`, `inbox` and
`trace` run as separate processes and find the stack through the data directory.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.nats.embedded import EmbeddedNats
from tests.support import G15, G22, H49, POST, wait_until, write_config

CLI = [sys.executable, "-m", "hub.cli.main"]


class Up:
    """A `truc up` child process whose output is read on a thread (no blocking reads)."""

    def __init__(self, data_dir: Path, config: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [*CLI, "up", "--data-dir", str(data_dir), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, within: float = 30.0) -> str:
        def found() -> str | None:
            while True:
                try:
                    line = self.lines.get_nowait()
                except queue.Empty:
                    break
                self.seen.append(line)
            if self.process.poll() is not None and self.lines.empty():
                raise AssertionError(f"truc up exited {self.process.returncode}: {self.seen}")
            return next((line for line in self.seen if line.startswith(prefix)), None)

        return wait_until(found, timeout=within, what=f"a line starting with {prefix!r}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process, wait for it, and collect everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(30)
        self._reader.join(10)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return code


def truc(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path, nats_server: EmbeddedNats) -> Path:
    return write_config(tmp_path / "truc.toml", nats_server.url)


@pytest.fixture
def up(tmp_path: Path, config: Path) -> Iterator[Up]:
    process = Up(tmp_path / "data", config)
    try:
        process.wait_for("ready")
        yield process
    finally:
        process.stop(signal.SIGKILL)


def _inbox(member: str, data_dir: Path) -> list[dict[str, object]]:
    result = truc("inbox", member, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_send_inbox_trace_session(up: Up, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ready = next(line for line in up.seen if line.startswith("ready"))
    assert "nats=nats://127.0.0.1:" in ready and G22 in ready
    sent = truc(
        "send", "--from", G22, "--to", H49, "--to", G15, "--subject", "Giấy mời họp", data_dir=data
    )
    assert sent.returncode == 0, sent.stderr
    document_id = sent.stdout.strip()
    assert len(document_id) == 36 and sent.stdout == document_id + "\n"  # the id alone
    for member in (H49, G15):
        items = wait_until(lambda m=member: _inbox(m, data), what=f"{member} inbox")
        assert [(i["document_id"], i["subject"], i["sender"]) for i in items] == [
            (document_id, "Giấy mời họp", G22)
        ]
    acked = truc("inbox", H49, "--ack", "--json", data_dir=data)
    assert json.loads(acked.stdout.splitlines()[0])["acknowledged"] is True

    def traced() -> dict[str, object] | None:
        result = truc("trace", document_id, "--json", data_dir=data)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        return body if any(e["event"] == "Document.Delivered" for e in body["events"]) else None

    body = wait_until(traced, what="delivery in the trace")
    events = body["events"]
    assert [e["event"] for e in events] == [
        "Document.Sent",
        "Document.Routed",
        "Document.Routed",
        "Document.Delivered",
    ]
    assert all(isinstance(e["position"], int) and e["timestamp"] for e in events)
    table = truc("trace", document_id, data_dir=data)
    assert table.returncode == 0 and "Delivered" in table.stdout


def test_errors_are_one_line_on_stderr_with_exit_codes(up: Up, tmp_path: Path) -> None:
    data = tmp_path / "data"
    long_subject = truc("send", "--from", G22, "--to", H49, "--subject", "x" * 501, data_dir=data)
    assert long_subject.returncode == 4
    assert (
        long_subject.stderr == "truc: INVALID_ARGUMENT: subject: at most 500 characters, got 501\n"
    )
    refused = truc("send", "--from", G22, "--to", POST, "--subject", "x", data_dir=data)
    assert refused.returncode == 4
    assert "route_not_allowed" in refused.stderr and refused.stderr.count("\n") == 1
    unknown = truc("send", "--from", "000.00.00.G99", "--to", H49, "--subject", "x", data_dir=data)
    assert unknown.returncode == 3 and "000.00.00.G99 has no adapter" in unknown.stderr
    missing = truc("trace", "00000000-0000-4000-8000-000000000000", data_dir=data)
    assert missing.returncode == 5 and missing.stderr.startswith("truc: no document")
    nowhere = truc("inbox", H49, data_dir=tmp_path / "elsewhere")
    assert nowhere.returncode == 3 and "no running stack" in nowhere.stderr


def test_kill_9_and_restart_loses_nothing_acknowledged(tmp_path: Path, config: Path) -> None:
    data = tmp_path / "data"
    first = Up(data, config)
    first.wait_for("ready")
    ids = []
    for i in range(3):
        sent = truc("send", "--from", G22, "--to", H49, "--subject", f"văn bản {i}", data_dir=data)
        assert sent.returncode == 0, sent.stderr
        ids.append(sent.stdout.strip())
    first.stop(signal.SIGKILL)
    down = truc("inbox", H49, data_dir=data)
    assert down.returncode == 3 and "not running" in down.stderr
    second = Up(data, config)
    try:
        second.wait_for("ready")
        sent = truc(
            "send", "--from", G22, "--to", H49, "--subject", "sau khi khởi động lại", data_dir=data
        )
        assert sent.returncode == 0, sent.stderr
        ids.append(sent.stdout.strip())
        items = wait_until(
            lambda: (x := _inbox(H49, data)) and len(x) >= 4 and x, what="all four documents at H49"
        )
        assert sorted(i["document_id"] for i in items) == sorted(ids)
    finally:
        assert second.stop() == 0
    assert second.seen[-1] == "truc: stopped"
