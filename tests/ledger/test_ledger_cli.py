"""`truc ledger stats|rebuild|catch-up|inbox` and `truc audit replay` on a ledger file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from ledger.application import Ledger
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.support import G15, G22, H49

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose ledger holds two documents and a status (8 events)."""
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    ledger.record([b.document("m1", "d1", 0), b.status("s1", "d1", "01", 10)])
    ledger.record([b.document("m2", "d2", 20, business_type=3, refers_to="d1")])
    ledger.close()
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_stats_counts_by_type_member_and_day_from_the_view_or_the_events(
    data_dir: Path,
) -> None:
    code, out, _ = _run("ledger", "stats", "--json", "--data-dir", str(data_dir))
    assert code == 0
    stats = json.loads(out)
    assert stats["total"] == 8 and stats["position"] == 8
    assert stats["by_type"] == {
        "Document.Replaced": 1,
        "Document.Routed": 4,
        "Document.Sent": 2,
        "Document.StatusReported": 1,
    }
    assert stats["by_member"] == {G15: 2, G22: 3, H49: 3}
    assert stats["by_day"] == {"2026-06-09": 8}
    code, scanned, _ = _run("ledger", "stats", "--json", "--scan", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(scanned)["rows"] == stats["rows"]
    code, table, _ = _run("ledger", "stats", "--data-dir", str(data_dir))
    assert code == 0 and "Document.Routed" in table and "8 events up to position 8" in table


def test_rebuild_and_catch_up_report_what_they_did(data_dir: Path) -> None:
    assert _run("ledger", "rebuild", "--data-dir", str(data_dir))[1].strip() == (
        "rebuilt the views from 8 events, up to position 8"
    )
    assert _run("ledger", "catch-up", "--data-dir", str(data_dir))[1].strip() == (
        "applied 0 events; the views are at position 8"
    )


def test_inbox_lists_what_was_routed_to_a_member_newest_first(data_dir: Path) -> None:
    code, out, _ = _run("ledger", "inbox", H49, "--json", "--data-dir", str(data_dir))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["document_id"], r["state"], r["superseded_by"]) for r in rows] == [
        ("d2", "sent", ""),
        ("d1", "replaced", "d2"),
    ]
    assert rows[1]["status_code"] == "01"


def test_replay_prints_a_document_as_it_was_then(data_dir: Path) -> None:
    # 08:15 in Hà Nội = T0 + 15 min: after the status, before the replacement.
    code, out, _ = _run(
        "audit",
        "replay",
        "--at",
        "2026-06-09T08:15",
        "--document",
        "d1",
        "--json",
        "--data-dir",
        str(data_dir),
    )
    assert code == 0
    replayed = json.loads(out)
    assert (replayed["version"], replayed["position"]) == (4, 4)
    assert replayed["state"]["statuses"][H49] == "01" and replayed["state"]["replaced_by"] == ""
    code, out, _ = _run(
        "audit", "replay", "--at", "2026-06-09T01:30:00Z", "--json", "--data-dir", str(data_dir)
    )
    assert code == 0 and json.loads(out)["counts"] == {"document": 2}


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--at", "soon"], 2, "truc: --at: 'soon' is not ISO 8601"),
        (["--at", "2026-06-09", "--document", "d1", "--member", G22], 2, "at most one of"),
        (["--at", "2026-06-09", "--document", "nope"], 5, "truc: no document nope"),
        (["--at", "2026-06-09", "--dossier", "X"], 5, "truc: no dossier X"),
    ],
)
def test_replay_refuses_bad_input_and_says_what_is_missing(
    data_dir: Path, args: list[str], exit_code: int, message: str
) -> None:
    code, _, err = _run("audit", "replay", *args, "--data-dir", str(data_dir))
    assert code == exit_code
    assert message in err
