"""Fuzz what an auditor runs on untrusted input: signed notes, checkpoints, tlog-proofs
and the RFC 9162 inclusion and consistency verifiers.

    python -m tests.fuzz.fuzz_proofs -runs=100000
"""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ledger"]):
    from ledger.merkle import MerkleError, verify_consistency, verify_inclusion
    from ledger.note import (
        NoteError,
        TlogProof,
        Verifier,
        parse_note,
        verifier_from_vkey,
        verify_tlog_proof,
    )

from adapters.crypto import verify_raw
from tests.fuzz.harness import run, splice
from tests.support import rfc6962_vectors

VECTORS = rfc6962_vectors()
NOTE = VECTORS["signed_note"]
SIGNED = (NOTE["text"] + "\n" + NOTE["signature_line"] + "\n").encode()


def _verify(public_key: bytes):  # type: ignore[no-untyped-def]
    return lambda message, signature: verify_raw(public_key, message, signature)


LOG: Verifier = verifier_from_vkey(NOTE["vkey"], _verify)
ORIGIN = NOTE["text"].split("\n", 1)[0]
PROOF_SAMPLE = b"c2sp.org/tlog-proof@v1\nindex 0\n" + SIGNED


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    which = fdp.ConsumeIntInRange(0, 2)
    rest = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        if which == 0:
            parse_note(splice(SIGNED, rest))
        elif which == 1:
            proof = TlogProof.parse(splice(PROOF_SAMPLE, rest))
            verify_tlog_proof(proof, b"\0" * 32, ORIGIN, LOG)
        else:
            _merkle(rest)
    except (NoteError, MerkleError):
        pass


def _merkle(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    size = fdp.ConsumeIntInRange(0, 1 << 40)
    other = fdp.ConsumeIntInRange(0, 1 << 40)
    leaf = fdp.ConsumeBytes(32)
    root = fdp.ConsumeBytes(32)
    proof = [fdp.ConsumeBytes(32) for _ in range(fdp.ConsumeIntInRange(0, 70))]
    verify_inclusion(leaf, other, size, proof, root)
    verify_consistency(other, size, leaf, root, proof)


if __name__ == "__main__":
    run(test_one_input)
