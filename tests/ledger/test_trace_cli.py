"""`truc trace` shows the revoke/update/replace chain a document belongs to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from ledger.application import Ledger
from ledger.document import document_chain
from ledger.storage import SqliteStorage
from tests.ledger import builders as b

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """d1 updated by d2, replaced by d3; d3 revoked by d4. d9 stands alone."""
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    ledger.record([b.document("m1", "d1", 0), b.document("m9", "d9", 0)])
    ledger.record([b.document("m2", "d2", 1, business_type=2, refers_to="d1")])
    ledger.record([b.document("m3", "d3", 2, business_type=3, refers_to="d1")])
    ledger.record([b.document("m4", "d4", 3, business_type=1, refers_to="d3")])
    ledger.close()
    return tmp_path


EXPECTED = [
    {"document_id": "d1", "relation": "", "of": ""},
    {"document_id": "d2", "relation": "updated", "of": "d1"},
    {"document_id": "d3", "relation": "replaced", "of": "d1"},
    {"document_id": "d4", "relation": "revoked", "of": "d3"},
]


@pytest.mark.parametrize("start", ["d1", "d2", "d3", "d4"])
def test_the_whole_chain_is_found_from_any_link(data_dir: Path, start: str) -> None:
    result = runner.invoke(app, ["trace", start, "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["chain"] == EXPECTED


def test_the_table_prints_the_chain_and_marks_the_document(data_dir: Path) -> None:
    result = runner.invoke(app, ["trace", "d3", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("chain: "))
    assert line == "chain: d1 → d2 (updates d1) → d3 * (replaces d1) → d4 (revokes d3)"


def test_a_document_outside_any_chain_prints_none(data_dir: Path) -> None:
    result = runner.invoke(app, ["trace", "d9", "--data-dir", str(data_dir)])
    assert "chain:" not in result.stdout
    ledger = Ledger(SqliteStorage(data_dir / "ledger.sqlite3"))
    try:
        assert document_chain(lambda _: None, "d9") == []
        assert len(document_chain(lambda d: ledger.document(d), "d9")) == 1
    finally:
        ledger.close()
