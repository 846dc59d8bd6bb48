"""`truc bench` runs end to end and reports what the performance issue asks for.

No numbers are judged here (performance targets live in the benchmark's output, not in
timed tests): only that every figure is there, positive, and consistent with the run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub.bench import postgres_from_url, wait_until_quiet
from hub.bench_errors import BenchError
from hub.bench_ledger import EVENTS_PER_DOCUMENT, run_ledger_bench
from hub.bench_stages import STAGES
from ledger.storage import SqliteStorage


def _bench(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "bench", *options],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_bench_prints_every_figure_as_json() -> None:
    done = _bench(
        "--documents",
        "30",
        "--concurrency",
        "8",
        "--rate",
        "20",
        "--seconds",
        "1",
        "--ledger-events",
        "500",
        "--json",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for key in ("docs_per_s", "baseline_jetstream_per_s", "ratio", "cpu_ms_per_doc"):
        assert result[key] > 0, key
    assert result["ratio"] == pytest.approx(
        result["docs_per_s"] / result["baseline_jetstream_per_s"], abs=0.001
    )
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    assert result["ledger_events_per_s"] > 0 and result["replay_events_per_s"] > 0
    assert result["api"] == "batch"
    # Every latency-run document traced through every stage (20/s for 1 s), in order in
    # time (one machine, one clock; -1 for the millisecond some stamps are cut to).
    assert list(result["stages_ms"]) == list(STAGES)
    for stage, figures in result["stages_ms"].items():
        assert figures["count"] == 20, stage
        assert -1 <= figures["p50"] <= figures["p90"] <= figures["p99"], stage


@pytest.mark.parametrize("api", ["stream", "unary"])
def test_the_bench_measures_the_other_apis_too(api: str) -> None:
    done = _bench(
        "--api",
        api,
        "--documents",
        "20",
        "--concurrency",
        "4",
        "--rate",
        "20",
        "--seconds",
        "1",
        "--ledger-events",
        "0",
        "--single-process",
        "--json",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["api"] == api
    assert result["docs_per_s"] > 0 and result["latency_ms"]["p50"] > 0
    assert f"{api} API" in done.stderr


def test_an_unknown_api_is_a_usage_error() -> None:
    done = _bench("--api", "carrier-pigeon")
    assert done.returncode == 2
    assert "--api: 'carrier-pigeon' is not one of batch, stream, unary" in done.stderr


@pytest.mark.parametrize("option", ["--rate", "--seconds"])
def test_a_latency_run_of_nothing_is_a_usage_error(option: str) -> None:
    done = _bench(option, "0")
    assert done.returncode == 2
    assert f"{option}: 0 must be above 0" in done.stderr


def test_the_ledger_bench_logs_every_event_in_the_merkle_log(tmp_path: Path) -> None:
    result = run_ledger_bench(SqliteStorage(tmp_path / "l.sqlite3"), 1000, batch=64)
    assert result.events == 1000 // EVENTS_PER_DOCUMENT * EVENTS_PER_DOCUMENT
    assert result.merkle_size == result.events


@pytest.mark.parametrize("url", ["http://db/x", "postgresql://host", "mysql://u@h/db"])
def test_a_bad_postgres_url_is_refused_naming_the_option(url: str) -> None:
    with pytest.raises(BenchError, match="--postgres"):
        postgres_from_url(url)


def test_a_postgres_url_gives_its_parts() -> None:
    storage = postgres_from_url("postgresql://alice:s3@db.local:6543/truc")
    assert (storage.user, storage.password, storage.host, storage.port, storage.dbname) == (
        "alice",
        "s3",
        "db.local",
        6543,
        "truc",
    )


async def test_the_stack_is_settled_only_once_its_processes_went_quiet(tmp_path: Path) -> None:
    """The bench measures a phase's CPU, and starts the next, only once the background work
    the phase caused (here: a process burning CPU for a while) is done."""
    done = tmp_path / "done"
    busy = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import pathlib, sys, time\n"
        "end = time.process_time() + 0.6\n"
        "while time.process_time() < end: pass\n"
        "pathlib.Path(sys.argv[1]).write_text('done')\n"
        "time.sleep(60)\n",
        str(done),
    )
    try:
        await wait_until_quiet([busy.pid], own=False, within=30)
        assert done.exists(), "settled while the process was still working"
    finally:
        busy.kill()
        await busy.wait()
