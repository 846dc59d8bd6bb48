"""Fixtures for the ops tests: a headless Chromium driven over the DevTools protocol.

Why no browser-automation package: Debian's `chromium` speaks the DevTools protocol over a
pair of pipes (`--remote-debugging-pipe`: commands on fd 3, replies on fd 4, each a JSON
object ended by NUL), so a hundred lines of standard library drive it, with nothing to
download. Calls block, so async tests run them with `asyncio.to_thread` while the hub and
the dashboard keep serving on the test's event loop.

Without Chromium the browser tests skip with a message, except under `CI=true`, where they
fail: CI must install it (`make test` does, see the Makefile).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack
from tests.conftest import document_stub
from tests.support import eventually

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--remote-debugging-pipe",
)

TRAMPOLINE = (
    "import os, sys; "
    "os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def find_chromium() -> str | None:
    explicit = os.environ.get("TRUC_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(AssertionError):
    """The browser did not answer, or answered with an error."""


class Browser:
    """One headless Chromium process with one page, driven over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1400, height: int = 1000):
        # Chromium reads commands on fd 3 and writes replies on fd 4. Our pipe ends are moved
        # to 10 and above (so they cannot collide with 3 and 4), and a Python trampoline puts
        # them in place and execs Chromium (dash cannot redirect fds above 9).
        commands_r, self._commands_w = os.pipe()
        self._replies_r, replies_w = os.pipe()
        child_in = fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(replies_w, fcntl.F_DUPFD, 10)
        os.close(commands_r)
        os.close(replies_w)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                TRAMPOLINE,
                str(child_in),
                str(child_out),
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(child_in, child_out),
        )
        os.close(child_in)
        os.close(child_out)
        self._next_id = 0
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read(self) -> None:
        buffer = b""
        with open(self._replies_r, "rb", buffering=0) as replies:
            while True:
                chunk = replies.read(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\0" in buffer:
                    raw, buffer = buffer.split(b"\0", 1)
                    message = json.loads(raw)
                    if "id" in message:
                        with self._lock:
                            waiter = self._replies.get(message["id"])
                        if waiter is not None:
                            waiter.put(message)
                    else:
                        self.events.append(message)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    def call(
        self, method: str, *, session: bool = False, timeout: float = 20.0, **params: Any
    ) -> Any:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            waiter: queue.Queue[dict[str, Any]] = queue.Queue(1)
            self._replies[ident] = waiter
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        try:
            reply = waiter.get(timeout=timeout)
        except queue.Empty:
            tail = "\n".join(self._stderr[-20:])
            raise BrowserError(f"{method}: no answer within {timeout}s\n{tail}") from None
        finally:
            with self._lock:
                self._replies.pop(ident, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def navigate(self, url: str) -> None:
        result = self.call("Page.navigate", session=True, url=url)
        if result.get("errorText"):
            raise BrowserError(f"cannot load {url}: {result['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, within: float = 20.0, what: str = "") -> Any:
        """Poll a JavaScript expression until it is truthy, with a deadline; an expression
        that throws (the page is still loading) counts as not yet."""
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
            except BrowserError as error:  # e.g. the page is still loading: no body yet
                last = error
            else:
                if last:
                    return last
            time.sleep(0.05)
        raise BrowserError(f"timed out after {within}s waiting for {what or expression} ({last!r})")

    def screenshot(self, path: Path) -> Path:
        height = self.evaluate("document.documentElement.scrollHeight")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1400,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def page_errors(self) -> list[str]:
        """JavaScript exceptions and console/log errors (CSP violations land here too)."""
        errors = []
        for event in list(self.events):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(json.dumps(params.get("args", []))[:500])
        return errors

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        with contextlib.suppress(OSError):
            os.close(self._commands_w)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium page; skips without Chromium, except under CI=true (fails)."""
    binary = find_chromium()
    if binary is None:
        message = (
            "Chromium is not installed (Debian: apt-get install -y chromium; or set "
            "TRUC_CHROMIUM to a Chromium binary): the dashboard browser test cannot run"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    instance = Browser(binary, tmp_path / "chromium-profile")
    try:
        yield instance
    finally:
        instance.close()


# -- helpers shared by the ops tests ------------------------------------------------------------


async def send_document(
    stack: Stack, sender: str, recipients: list[str], *, subject: str = "Công văn", due: str = ""
) -> exchange_pb2.SendDocumentResponse:
    """Send a document through the sender's adapter and wait for the hub's receipt."""
    document = document_pb2.Document(
        subject=subject,
        due_date=due,
        code=document_pb2.DocumentCode(code_number="7816", code_notation="VPCP-TTĐT"),
        from_organ=document_pb2.Organization(organ_id=sender),
        to_organs=[document_pb2.Organization(organ_id=r) for r in recipients],
    )
    return await document_stub(stack, sender).SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=recipients, document=document, wait_for_receipt=True
        ),
        timeout=20,
    )


async def report_status(stack: Stack, member: str, document_id: str, code: str) -> None:
    await document_stub(stack, member).UpdateStatus(
        exchange_pb2.UpdateStatusRequest(
            document_id=document_id, status_code=code, wait_for_receipt=True
        ),
        timeout=20,
    )


async def send_refused(stack: Stack, sender: str, recipient: str) -> str:
    """A document the route policy refuses; returns the refusal as the adapter reports it."""
    try:
        await send_document(stack, sender, [recipient], subject="không được phép")
    except grpc.aio.AioRpcError as error:
        return str(error.details())
    raise AssertionError(f"{sender} -> {recipient} was not refused")


async def settled(stack: Stack, *, dead: int = 0) -> None:
    """Wait until every publication of the batches so far is stored: the newest entry on the
    ledger feed is the ledger's newest event, and the dead-letter stream holds `dead`
    letters. (The feed's newest message may carry several events, one a line. A sender's
    receipt can arrive before the same batch's ledger-feed entries are stored: they are
    published together, pipelined, into different streams.)"""
    js = stack.hub_nc.jetstream()

    async def stored() -> bool:
        feed = await js.stream_info("TRUC_LEDGER")
        letters = await js.stream_info("TRUC_DEAD")
        if letters.state.messages != dead or not feed.state.last_seq:
            return False
        newest = await js.get_msg("TRUC_LEDGER", feed.state.last_seq)
        size = await asyncio.to_thread(stack.ledger.size)
        last_line = (newest.data or b"{}").rsplit(b"\n", 1)[-1]  # one event a line
        return bool(json.loads(last_line).get("position") == size)

    await eventually(stored, what=f"the ledger feed and {dead} dead letter(s) to be stored")


def cli(*args: str) -> list[str]:
    """The ops commands as a process, registered on a bare Typer app exactly as the lead
    registers them on `truc` (so these tests do not depend on hub/cli/main.py's wiring)."""
    program = (
        "import typer\n"
        "from hub.cli.ops import status_command, streams_app\n"
        "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)\n"
        "app.command('status')(status_command)\n"
        "app.add_typer(streams_app, name='streams')\n"
        "app()\n"
    )
    return [sys.executable, "-c", program, *args]
