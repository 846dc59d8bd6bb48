"""Shared plumbing for the atheris harnesses in this directory.

Each harness feeds libFuzzer's bytes to one parser or verifier and lets through only that
component's own clear error; anything else (an IndexError, a RecursionError, a hang) is a
crash libFuzzer reports. Besides raw bytes, every harness also splices the input into a
valid sample, so the fuzzer starts deep inside the format (past the signature check) rather
than spending its budget on the first length prefix.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def splice(sample: bytes, data: bytes) -> bytes:
    """`data` either as it is, or overwriting `sample` at an offset it chooses itself."""
    if len(data) < 2 or data[0] % 3 == 0:
        return data
    at = int.from_bytes(data[1:3], "big") % (len(sample) + 1)
    patch = data[3:]
    if data[0] % 3 == 1:
        return sample[:at] + patch + sample[at + len(patch) :]
    return sample[:at] + patch + sample[at:]


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Start libFuzzer on `test_one_input` with the command line's options (-runs=N, ...)."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
