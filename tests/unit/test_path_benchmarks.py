"""The in-process path benchmarks keep working: they drive the real code and say so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_hub_path_benchmark_prints_documents_per_second_and_cpu_per_document() -> None:
    out = _run("hub_path.py", "--documents", "30", "--batch", "7")
    assert re.fullmatch(
        r"hub path: 30 documents in batches of 7: [\d,]+ documents/s, \d+\.\d{3} ms CPU each\n",
        out,
    ), out


def test_the_document_path_benchmark_takes_documents_through_both_adapters_and_the_hub() -> None:
    # It stops with an error when a step refuses or loses a document.
    out = _run("document_path.py", "--documents", "30", "--batch", "7")
    assert re.fullmatch(
        r"document path: 30 documents in batches of 7: [\d,]+ documents/s; CPU per document "
        r"\d+\.\d{3} ms in the adapters, \d+\.\d{3} ms in the hub\n",
        out,
    ), out
