"""`benchmarks/hub_path.py` keeps working: it drives the real hub path and says so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_hub_path_benchmark_prints_documents_per_second_and_cpu_per_document() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/hub_path.py", "--documents", "30", "--batch", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"hub path: 30 documents in batches of 7: [\d,]+ documents/s, \d+\.\d{3} ms CPU each\n",
        done.stdout,
    ), done.stdout
