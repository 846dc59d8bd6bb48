"""`truc witness` over real HTTP on loopback: the C2SP tlog-witness add-checkpoint rules."""

from __future__ import annotations

import base64
import os
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.crypto import Signer, verify_raw
from hub.witness import SIZE_CONTENT_TYPE, HttpWitnessClient, Witness, WitnessServer, WitnessState
from ledger.checkpoints import WitnessConflictError, WitnessError
from ledger.merkle import MemoryTree, leaf_hash
from ledger.note import (
    ALG_ED25519,
    Checkpoint,
    VerifyFunc,
    cosignature_verifier,
    ed25519_verifier,
    encode_vkey,
    open_checkpoint,
    sign_note,
)

ORIGIN = "truc.test"


def _verify(public_key: bytes) -> VerifyFunc:
    return lambda message, signature: verify_raw(public_key, message, signature)


class Log:
    """A hub-like log: a tree and a key signing checkpoints of it."""

    def __init__(self, key: Signer, leaves: int = 20, salt: bytes = b"") -> None:
        self.key = key
        self.tree = MemoryTree(leaf_hash(salt + i.to_bytes(4, "big")) for i in range(leaves))
        self.vkey = encode_vkey(key.name, ALG_ED25519, key.public_key)

    def note(self, size: int) -> str:
        text = Checkpoint(self.key.name, size, self.tree.root(size)).to_text()
        return sign_note(text, self.key.name, self.key.public_key, self.key.sign_raw)

    def body(self, old: int, size: int, proof: list[bytes] | None = None) -> bytes:
        hashes = self.tree.consistency_proof(old, size) if proof is None and old else proof or []
        lines = [f"old {old}", *(base64.b64encode(h).decode() for h in hashes), ""]
        return ("\n".join(lines) + "\n" + self.note(size)).encode()


@pytest.fixture
def log() -> Log:
    return Log(Signer.generate(ORIGIN))


@pytest.fixture
def witness_key() -> Signer:
    return Signer.generate("witness.example/w1")


def _witness(log: Log, key: Signer, state: Path) -> Witness:
    return Witness.from_vkeys(
        key.name, key.public_key, key.sign_raw, [log.vkey], WitnessState(state), _verify
    )


@pytest.fixture
def server(log: Log, witness_key: Signer, tmp_path: Path) -> Iterator[WitnessServer]:
    running = WitnessServer(_witness(log, witness_key, tmp_path / "witness.json")).start()
    try:
        yield running
    finally:
        running.stop()


def _post(
    server: WitnessServer, body: bytes, path: str = "/add-checkpoint"
) -> tuple[int, str, str]:
    request = urllib.request.Request(server.url + path, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read().decode()


def test_cosigns_a_first_checkpoint_and_then_consistent_ones(
    server: WitnessServer, log: Log, witness_key: Signer
) -> None:
    cosigner = cosignature_verifier(
        witness_key.name, witness_key.public_key, _verify(witness_key.public_key)
    )
    hub = ed25519_verifier(log.key.name, log.key.public_key, _verify(log.key.public_key))
    for old, size in ((0, 5), (5, 5), (5, 13), (13, 20)):
        status, _type, reply = _post(server, log.body(old, size))
        assert status == 200, reply
        assert reply.startswith("— witness.example/w1 ") and reply.endswith("\n")
        opened = open_checkpoint(
            log.note(size) + reply, ORIGIN, hub, witnesses=[cosigner], quorum=1
        )
        assert opened.checkpoint.size == size


def test_a_wrong_old_size_gets_409_with_the_size_it_knows(server: WitnessServer, log: Log) -> None:
    assert _post(server, log.body(0, 8))[0] == 200
    assert _post(server, log.body(0, 10)) == (409, SIZE_CONTENT_TYPE, "8\n")
    assert _post(server, log.body(5, 10)) == (409, SIZE_CONTENT_TYPE, "8\n")
    client = HttpWitnessClient(server.url, "w1")
    with pytest.raises(WitnessConflictError) as caught:
        client.add_checkpoint(3, log.tree.consistency_proof(3, 10), log.note(10))
    assert caught.value.known_size == 8
    assert client.add_checkpoint(8, log.tree.consistency_proof(8, 10), log.note(10))


def test_an_inconsistent_checkpoint_gets_422_and_is_not_cosigned(
    server: WitnessServer, log: Log
) -> None:
    assert _post(server, log.body(0, 8))[0] == 200
    proof = log.tree.consistency_proof(8, 12)
    broken = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert _post(server, log.body(8, 12, broken))[0] == 422
    fork = Log(log.key, salt=b"fork")  # same key, other history
    assert _post(server, fork.body(8, 12, fork.tree.consistency_proof(8, 12)))[0] == 422
    assert _post(server, log.body(8, 12))[0] == 200  # the honest one still goes through


def test_the_same_size_with_another_root_is_a_conflict(server: WitnessServer, log: Log) -> None:
    assert _post(server, log.body(0, 8))[0] == 200
    fork = Log(log.key, salt=b"fork")
    status, content_type, _ = _post(server, fork.body(8, 8, []))
    assert status == 409 and content_type != SIZE_CONTENT_TYPE


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda body: body.replace(b"old 0", b"old 00"), 400),
        (lambda body: body.replace(b"old 0", b"old 99"), 400),
        (lambda body: body.replace(b"old 0\n", b"old 0\nAAAA\n"), 400),
        (lambda body: body.split(b"\n\n")[0], 400),
        (lambda body: body.replace(ORIGIN.encode(), b"other.log"), 404),
        (lambda body: body.replace("— ".encode(), b"-- "), 400),
        (lambda body: body[:-10] + b"AAAAAAAA=\n", 403),
    ],
    ids=[
        "leading-zero",
        "old-above-size",
        "proof-with-old-0",
        "no-note",
        "unknown",
        "bad-signature-line",
        "bad-signature",
    ],
)
def test_malformed_or_unknown_requests_are_refused(
    server: WitnessServer, log: Log, mutate: object, status: int
) -> None:
    body = mutate(log.body(0, 5))  # type: ignore[operator]
    assert _post(server, body)[0] == status


def test_a_checkpoint_not_signed_by_the_log_key_gets_403(server: WitnessServer) -> None:
    impostor = Log(Signer.generate(ORIGIN))
    assert _post(server, impostor.body(0, 5))[0] == 403


def test_other_paths_and_methods_are_404(server: WitnessServer, log: Log) -> None:
    assert _post(server, log.body(0, 5), path="/elsewhere")[0] == 404
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "/add-checkpoint", timeout=10)
    assert caught.value.code == 404


def test_state_survives_a_restart(log: Log, witness_key: Signer, tmp_path: Path) -> None:
    state = tmp_path / "witness.json"
    first = WitnessServer(_witness(log, witness_key, state)).start()
    try:
        assert _post(first, log.body(0, 7))[0] == 200
    finally:
        first.stop()
    second = WitnessServer(_witness(log, witness_key, state)).start()
    try:
        assert _post(second, log.body(0, 9)) == (409, SIZE_CONTENT_TYPE, "7\n")
        assert _post(second, log.body(7, 9))[0] == 200
    finally:
        second.stop()


def test_concurrent_requests_cannot_roll_the_witness_back(server: WitnessServer, log: Log) -> None:
    assert _post(server, log.body(0, 4))[0] == 200
    results: dict[int, int] = {}
    start = threading.Barrier(6)

    def submit(size: int) -> None:
        start.wait()
        results[size] = _post(server, log.body(4, size))[0]

    threads = [threading.Thread(target=submit, args=(size,)) for size in range(10, 16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [size for size, status in results.items() if status == 200]
    assert len(winners) == 1 and sorted(results.values()).count(409) == 5
    assert _post(server, log.body(0, 20))[2] == f"{winners[0]}\n"


def test_the_client_reports_an_unreachable_witness(log: Log) -> None:
    client = HttpWitnessClient("http://127.0.0.1:9", "w-down", timeout=2)
    with pytest.raises(WitnessError, match="w-down: unreachable"):
        client.add_checkpoint(0, [], log.note(3))


def test_the_witness_command_serves_until_terminated(log: Log, tmp_path: Path) -> None:
    script = "import typer; from hub.cli.witness import witness_command; typer.run(witness_command)"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "--key",
            str(tmp_path / "w.pem"),
            "--state",
            str(tmp_path / "w.json"),
            "--log-vkey",
            log.vkey,
            "--name",
            "witness.example/cli",
            "--listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the witness printed nothing within 30 s"
        url = process.stdout.readline().split(" listening on ")[1].strip()
        vkey_line = process.stdout.readline()
        assert vkey_line.startswith("vkey witness.example/cli+")
        client = HttpWitnessClient(url, "cli")
        assert client.add_checkpoint(0, [], log.note(6)).startswith("— witness.example/cli ")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert (tmp_path / "w.pem").exists() and (tmp_path / "w.json").exists()
