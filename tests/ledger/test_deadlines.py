"""DueDate per recipient, in Vietnamese time: `truc trace` and `truc stats` say who is on
time, late, overdue (not done (06) or returned (02) by the due day), pending or withdrawn."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from ledger.application import Ledger
from ledger.deadlines import DocumentDeadline, parse_due
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.support import G15, G22, H49

runner = CliRunner()
DUE = "2026/06/09"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """d1: H49 finishes in time, G15 only registers it. d2: H49 finishes at 00:30 on the next
    day in Hà Nội (still the due day in UTC), G15 agrees to a recall. d3: no due date."""
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    ledger.record([replace(b.document("m1", "d1", 0), due_date=DUE)])
    ledger.record([b.status("s1", "d1", "03", 10), b.status("s1b", "d1", "05", 11)])
    ledger.record([b.status("s1c", "d1", "06", 12), b.status("s2", "d1", "03", 13, reporter=G15)])
    ledger.record([replace(b.document("m2", "d2", 1), due_date=DUE)])
    ledger.record(
        [b.status("s3", "d2", "03", 16 * 60 + 10), b.status("s3b", "d2", "05", 16 * 60 + 20)]
    )
    ledger.record([b.status("s3c", "d2", "06", 16 * 60 + 30)])
    ledger.record([b.status("s4", "d2", "13", 20, reporter=G22)])
    ledger.record([b.status("s5", "d2", "15", 21, reporter=G15)])
    ledger.record([b.document("m3", "d3", 2)])
    ledger.close()
    return tmp_path


def _stats(data_dir: Path, at: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["stats", "documents", "--json", "--at", at, "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_the_due_day_ends_at_midnight_in_ha_noi(data_dir: Path) -> None:
    before = _stats(data_dir, "2026-06-09T23:59")
    assert before["by_member"] == {
        G15: {"on_time": 0, "late": 0, "overdue": 0, "pending": 1, "withdrawn": 1},
        H49: {"on_time": 1, "late": 1, "overdue": 0, "pending": 0, "withdrawn": 0},
    }
    after = _stats(data_dir, "2026-06-10T00:00")
    assert after["documents_with_due_date"] == 2
    assert after["totals"] == {"on_time": 1, "late": 1, "overdue": 1, "pending": 0, "withdrawn": 1}
    assert after["overdue"] == [{"document_id": "d1", "recipient": G15, "due_date": DUE}]


def test_stats_as_a_table(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["stats", "documents", "--at", "2026-07-01", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.stderr
    assert f"overdue: {G15} on d1 (due {DUE})" in result.stdout
    assert "2 documents with a due date" in result.stdout


def test_trace_shows_each_recipients_deadline(data_dir: Path) -> None:
    result = runner.invoke(app, ["trace", "d2", "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["deadline"] == {
        "due_date": DUE,
        "recipients": {G15: "withdrawn", H49: "late"},
    }
    table = runner.invoke(app, ["trace", "d1", "--data-dir", str(data_dir)]).stdout
    assert f"due {DUE} (Asia/Ho_Chi_Minh): {G15} overdue, {H49} on_time" in table
    plain = runner.invoke(app, ["trace", "d3", "--json", "--data-dir", str(data_dir)]).stdout
    assert json.loads(plain)["deadline"] is None


def test_a_return_counts_as_handled_and_a_registration_does_not() -> None:
    due = parse_due(DUE)
    assert due is not None
    deadline = DocumentDeadline(due, (H49, G15))
    deadline.status(H49, "03", datetime(2026, 6, 8, tzinfo=UTC))
    deadline.status(G15, "02", datetime(2026, 6, 8, tzinfo=UTC))
    deadline.status(G22, "03", datetime(2026, 6, 8, tzinfo=UTC))  # not a recipient
    assert deadline.states(datetime(2026, 6, 12, tzinfo=UTC)) == {H49: "overdue", G15: "on_time"}
    assert parse_due("09/06/2026") is None and parse_due("") is None
