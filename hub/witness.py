"""`truc witness`: an independent cosigner for the hub's checkpoints (c2sp.org/tlog-witness).

A witness remembers, per log (origin), the latest checkpoint it cosigned, and cosigns a new
one only when the log's signature verifies and a consistency proof shows it extends the one
it remembers. Run by someone other than the hub's operator (own key, own state file), it
makes a split view impossible to hide: the hub cannot get it to cosign two histories.

Protocol (POST <prefix>/add-checkpoint), as the spec words it:
  body = "old <size>\\n", up to 63 base64 consistency proof lines, an empty line, the note;
  404 unknown origin; 403 no trusted log signature verifies; 400 malformed or old > size;
  409 with ``text/x.tlog.size`` body "<size>\\n" when old is not the size it last cosigned,
  and 409 (no body) for the same size with another root; 422 when the proof fails;
  200 with one cosignature/v1 line after the new state is durably stored.
Checking the old size and storing the new state happen under one lock, so two concurrent
requests can never roll the witness back.

Crypto is injected (``sign`` for the witness key, ``make_verify`` for log keys), so this
module stays free of adapters; ``hub.cli.witness`` wires the real keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hub.errors import HubError
from ledger.checkpoints import WitnessConflictError, WitnessError, write_atomically
from ledger.merkle import HASH_SIZE, MAX_TREE_SIZE, MerkleError, verify_consistency
from ledger.note import (
    ALG_COSIGNATURE_V1,
    MAX_NOTE_SIZE,
    Checkpoint,
    NoteError,
    SignFunc,
    Verifier,
    VerifyFunc,
    encode_vkey,
    make_cosignature,
    open_checkpoint,
    parse_note,
    verifier_from_vkey,
)

__all__ = [
    "SIZE_CONTENT_TYPE",
    "HttpWitnessClient",
    "Reply",
    "Witness",
    "WitnessConfigError",
    "WitnessServer",
    "WitnessState",
]

log = logging.getLogger("truc.witness")

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
MAX_BODY = MAX_NOTE_SIZE + (MAX_PROOF_LINES + 2) * 64
STATE_FORMAT = "truc.v1/witness-state"


class WitnessConfigError(HubError):
    """The witness cannot start: a bad log vkey, key name or state file."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, content type and body."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def _text_reply(status: HTTPStatus, message: str) -> Reply:
    return Reply(int(status), (message + "\n").encode("utf-8"))


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogView:
    """The latest checkpoint this witness cosigned for one origin."""

    size: int
    root: bytes
    note: str


class WitnessState:
    """Per-origin latest cosigned checkpoint, in one JSON file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._views: dict[str, LogView] = self._load()

    def _load(self) -> dict[str, LogView]:
        try:
            raw = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise WitnessConfigError(f"cannot read witness state {self.path}: {error}") from None
        try:
            if raw["format"] != STATE_FORMAT:
                raise ValueError(f"format {raw['format']!r}")
            views = {}
            for origin, item in raw["logs"].items():
                root = base64.b64decode(item["root"], validate=True)
                views[str(origin)] = LogView(int(item["size"]), root, str(item["note"]))
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise WitnessConfigError(f"{self.path} is not a witness state file: {error}") from None
        return views

    def get(self, origin: str) -> LogView | None:
        return self._views.get(origin)

    def put(self, origin: str, view: LogView) -> None:
        """Store durably first, then remember (a failed write leaves the old view)."""
        views = {**self._views, origin: view}
        body = {
            "format": STATE_FORMAT,
            "logs": {
                name: {
                    "size": v.size,
                    "root": base64.b64encode(v.root).decode("ascii"),
                    "note": v.note,
                }
                for name, v in sorted(views.items())
            },
        }
        write_atomically(self.path, json.dumps(body, indent=2).encode("utf-8") + b"\n")
        self._views = views


# --- the cosigner --------------------------------------------------------------------------


def _parse_request(body: bytes) -> tuple[int, list[bytes], str] | str:
    """``(old size, proof, note)``, or why the body is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    first, newline, rest = text.partition("\n")
    if not newline or not first.startswith("old "):
        return "the first line must be 'old <size>'"
    digits = first[4:]
    if not digits.isascii() or not digits.isdigit() or (digits != "0" and digits[0] == "0"):
        return f"old size {digits!r} is not a canonical decimal"
    if len(digits) > 19 or int(digits) > MAX_TREE_SIZE:
        return "old size is too large"
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            return "the request ends before the empty line and the checkpoint"
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            return f"more than {MAX_PROOF_LINES} consistency proof lines"
        try:
            value = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return "a consistency proof line is not base64"
        if len(value) != HASH_SIZE or base64.b64encode(value).decode("ascii") != line:
            return f"a consistency proof line is not a canonical {HASH_SIZE}-byte hash"
        proof.append(value)
    return int(digits), proof, rest


class Witness:
    """The witness's decisions, transport-free (the HTTP server only frames them)."""

    def __init__(
        self,
        name: str,
        public_key: bytes,
        sign: SignFunc,
        logs: Sequence[Verifier],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.public_key = public_key
        self.vkey = encode_vkey(name, ALG_COSIGNATURE_V1, public_key)  # checks the name
        self._sign = sign
        self._logs = {log.name: log for log in logs}
        self._state = state
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def from_vkeys(
        cls,
        name: str,
        public_key: bytes,
        sign: SignFunc,
        log_vkeys: Sequence[str],
        state: WitnessState,
        make_verify: Callable[[bytes], VerifyFunc],
        clock: Callable[[], float] = time.time,
    ) -> Witness:
        """A witness for the logs whose vkeys are given (a log's origin is its key name)."""
        if not log_vkeys:
            raise WitnessConfigError("a witness needs at least one --log-vkey")
        try:
            logs = [verifier_from_vkey(vkey, make_verify) for vkey in log_vkeys]
            return cls(name, public_key, sign, logs, state, clock)
        except NoteError as error:
            raise WitnessConfigError(f"invalid key: {error}") from None

    def add_checkpoint(self, body: bytes) -> Reply:
        parsed = _parse_request(body)
        if isinstance(parsed, str):
            return _text_reply(HTTPStatus.BAD_REQUEST, parsed)
        old, proof, note = parsed
        try:
            text = parse_note(note).text
            origin = Checkpoint.parse(text).origin
        except NoteError as error:
            return _text_reply(HTTPStatus.BAD_REQUEST, f"checkpoint: {error}")
        log_key = self._logs.get(origin)
        if log_key is None:
            return _text_reply(HTTPStatus.NOT_FOUND, f"unknown log origin {origin!r}")
        try:
            checkpoint = open_checkpoint(note, origin, log_key).checkpoint
        except NoteError as error:
            return _text_reply(HTTPStatus.FORBIDDEN, f"no trusted log signature verifies: {error}")
        if old > checkpoint.size:
            return _text_reply(
                HTTPStatus.BAD_REQUEST, f"old size {old} exceeds checkpoint size {checkpoint.size}"
            )
        if old == 0 and proof:
            return _text_reply(HTTPStatus.BAD_REQUEST, "the proof must be empty when old is 0")
        with self._lock:
            view = self._state.get(origin)
            known = view.size if view is not None else 0
            if old != known:
                return Reply(int(HTTPStatus.CONFLICT), f"{known}\n".encode(), SIZE_CONTENT_TYPE)
            if view is not None and old == checkpoint.size and view.root != checkpoint.root:
                log.warning("%s: two roots for size %d; evidence:\n%s", origin, old, note)
                return _text_reply(
                    HTTPStatus.CONFLICT, f"size {old} was cosigned with another root"
                )
            if view is not None and old > 0:
                try:
                    verify_consistency(old, checkpoint.size, view.root, checkpoint.root, proof)
                except MerkleError as error:
                    log.warning(
                        "%s: inconsistent checkpoint (%s); evidence:\n%s", origin, error, note
                    )
                    return _text_reply(
                        HTTPStatus.UNPROCESSABLE_ENTITY, f"consistency proof fails: {error}"
                    )
            try:
                self._state.put(origin, LogView(checkpoint.size, checkpoint.root, note))
            except OSError as error:
                log.error("cannot store witness state: %s", error)
                return _text_reply(HTTPStatus.SERVICE_UNAVAILABLE, "cannot store state")
        cosignature = make_cosignature(
            text, self.name, self.public_key, self._sign, int(self._clock())
        )
        return Reply(int(HTTPStatus.OK), (cosignature.line() + "\n").encode("utf-8"))


# --- HTTP ----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    witness: Witness  # set on the subclass made by WitnessServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends

    def do_POST(self) -> None:
        if self.path.rstrip("/").rsplit("/", 1)[-1] != "add-checkpoint":
            self._send(_text_reply(HTTPStatus.NOT_FOUND, "only POST /add-checkpoint"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(_text_reply(HTTPStatus.LENGTH_REQUIRED, "Content-Length required"))
            return
        if not 0 <= length <= MAX_BODY:
            self._send(_text_reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large"))
            self.close_connection = True
            return
        self._send(self.witness.add_checkpoint(self.rfile.read(length)))

    def do_GET(self) -> None:
        self._send(_text_reply(HTTPStatus.NOT_FOUND, "only POST /add-checkpoint"))

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


class WitnessServer:
    """The witness on a ThreadingHTTPServer; ``start`` serves in a background thread."""

    def __init__(self, witness: Witness, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("WitnessHandler", (_Handler,), {"witness": witness})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WitnessServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="truc-witness", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted; then call ``close``."""
        self._server.serve_forever()

    def close(self) -> None:
        self._server.server_close()

    def stop(self) -> None:
        """Stop a server started with ``start`` and release its socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


# --- client --------------------------------------------------------------------------------


class HttpWitnessClient:
    """Calls one witness's add-checkpoint (``ledger.checkpoints.WitnessClient``)."""

    def __init__(self, url: str, name: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/") + "/add-checkpoint"
        self._name = name
        self.timeout = timeout

    @property
    def name(self) -> str:
        return self._name

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> str:
        lines = [f"old {old_size}", *(base64.b64encode(h).decode("ascii") for h in proof), ""]
        body = ("\n".join(lines) + "\n" + note).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply: bytes = response.read(MAX_BODY)
        except urllib.error.HTTPError as error:
            detail = error.read(4096).decode("utf-8", "replace").strip()
            if error.code == HTTPStatus.CONFLICT and error.headers.get_content_type() == (
                SIZE_CONTENT_TYPE
            ):
                size = detail.split("\n", 1)[0]
                if size.isdigit():
                    raise WitnessConflictError(
                        int(size), f"{self._name}: latest cosigned size is {size}"
                    ) from None
            raise WitnessError(f"{self._name}: HTTP {error.code}: {detail[:300]}") from None
        except (urllib.error.URLError, OSError) as error:
            raise WitnessError(f"{self._name}: unreachable at {self.url}: {error}") from None
        try:
            return reply.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessError(f"{self._name}: the reply is not UTF-8") from None
