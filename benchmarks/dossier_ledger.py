"""Benchmark: recording dossier life cycles in the ledger (SQLite), in acts/s and events/s.

    python benchmarks/dossier_ledger.py [--dossiers 2000] [--batch 256]

Each dossier: received (due date from the holiday calendar), transferred, supplement
requested and supplied (clock paused and resumed), finished (judged): 5 acts, 8 events.
Commands go through `Ledger.record` in batches, as the hub's group commit does.
This is a benchmark, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ledger.application import Ledger
from ledger.commands import (
    Command,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
)
from ledger.storage import SqliteStorage

COMMUNE, PROVINCE = "000.01.01.H49", "000.00.01.H49"
HUB = "2026-11-24T08:00:00.000+00:00"


def life(i: int) -> list[Command]:
    code = f"{COMMUNE}-260428-{i:04d}" if i < 10_000 else f"{COMMUNE}-20260428-{i:07d}"
    return [
        RecordDossierReceived(
            f"r{i}",
            code,
            "1.001234",
            COMMUNE,
            1,
            "",
            HUB,
            working_days=3,
            at="2026-04-28T09:00+07:00",
        ),
        RecordDossierTransfer(
            f"t{i}", code, COMMUNE, PROVINCE, "", HUB, at="2026-04-28T10:00+07:00"
        ),
        RecordDossierStatus(f"s{i}", code, 5, PROVINCE, "", HUB, at="2026-04-29T09:00+07:00"),
        RecordDossierStatus(f"p{i}", code, 4, PROVINCE, "", HUB, at="2026-05-05T09:00+07:00"),
        RecordDossierStatus(f"f{i}", code, 9, PROVINCE, "", HUB, at="2026-05-07T15:00+07:00"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(SqliteStorage(Path(tmp) / "ledger.sqlite3"))
        # Acts of one dossier come in order but interleave with other dossiers' acts.
        commands = [c for step in range(5) for i in range(args.dossiers) for c in [life(i)[step]]]
        started = time.perf_counter()
        for k in range(0, len(commands), args.batch):
            outcomes = ledger.record(commands[k : k + args.batch])
            assert all(type(o).__name__ == "Recorded" for o in outcomes), outcomes[:3]
        seconds = time.perf_counter() - started
        events = ledger.size()
        ledger.close()
    print(
        f"{args.dossiers} dossiers, {len(commands)} acts, {events} events in {seconds:.2f} s:"
        f" {len(commands) / seconds:,.0f} acts/s, {events / seconds:,.0f} events/s"
        f" (batches of {args.batch})"
    )


if __name__ == "__main__":
    main()
