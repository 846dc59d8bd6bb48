"""Run each atheris harness for a bounded number of inputs: a crash or hang fails the test.

`make fuzz` runs them far longer; this keeps them working and finds the shallow bugs in CI.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESSES = sorted(p.stem for p in Path(__file__).parent.glob("fuzz_*.py"))


@pytest.fixture(scope="module", autouse=True)
def _atheris() -> None:
    if importlib.util.find_spec("atheris") is None:
        message = "atheris is not installed (pip install -e '.[dev]' on x86_64 Python 3.11)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI=true the fuzz harnesses must run")
        pytest.skip(message)


@pytest.mark.parametrize("harness", HARNESSES)
def test_harness_survives_bounded_fuzzing(harness: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            f"tests.fuzz.{harness}",
            "-runs=20000",
            "-max_len=4096",
            "-timeout=10",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Done 20000 runs" in done.stderr
