"""`truc dossier ...` and `truc stats dossiers` as a user runs them, against `truc up` in a
child process (its own reference postal service included) and the test's nats-server."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.nats.embedded import EmbeddedNats
from tests.integration.test_cli import CLI, Up, truc
from tests.support import POST, wait_until

COMMUNE, PROVINCE = "000.01.01.H49", "000.00.01.H49"
CODE = "000.01.01.H49-260428-0002"


@pytest.fixture
def up(tmp_path: Path, nats_server: EmbeddedNats) -> Iterator[Up]:
    config = tmp_path / "truc.toml"
    config.write_text(
        f"""
[hub]
name = "truc.test"
nats_url = "{nats_server.url}"

[[members]]
code = "{COMMUNE}"
name = "UBND phường Hồng Gai"
kind = "dossier"

[[members]]
code = "{PROVINCE}"
name = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
kind = "dossier"

[[members]]
code = "{POST}"
name = "Bưu điện Việt Nam"
kind = "postal"

[[routes]]
senders = "000.*"
recipients = "000.*"
kinds = ["dossier"]

[[routes]]
senders = "000.*"
recipients = "{POST}"
kinds = ["postal"]

[[routes]]
senders = "{POST}"
recipients = "000.*"
kinds = ["postal"]

[postal]
step_seconds = 0.2
fail_rate = 0.3
""",
        encoding="utf-8",
    )
    process = Up(tmp_path / "data", config)
    try:
        process.wait_for("ready")
        yield process
    finally:
        process.stop(signal.SIGKILL)


def test_a_dossier_session_from_the_command_line(up: Up, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert any("reference postal service (stands in" in line for line in up.seen)

    def ok(*args: str) -> str:
        result = truc(*args, data_dir=data)
        assert result.returncode == 0, result.stderr
        return result.stdout

    ok(
        "dossier",
        "receive",
        COMMUNE,
        CODE,
        "--procedure",
        "1.001234.000.00.00.H49",
        "--working-days",
        "3",
        "--owner",
        "Nguyễn Văn A",
        "--on",
        "20260428090000",
    )
    ok("dossier", "transfer", COMMUNE, CODE, "--to", PROVINCE, "--on", "20260428100000")
    ok(
        "dossier",
        "act",
        PROVINCE,
        CODE,
        "supplement_requested",
        "--note",
        "bản vẽ",
        "--on",
        "20260429090000",
    )
    ok("dossier", "act", PROVINCE, CODE, "supplement_supplied", "--on", "20260505090000")
    # Illegal: a result returned before the dossier is finished (exit 4, field and reason).
    illegal = truc("dossier", "act", PROVINCE, CODE, "result_returned", data_dir=data)
    assert illegal.returncode == 4 and "illegal_transition" in illegal.stderr
    assert "status: 10" in illegal.stderr
    ok("dossier", "act", PROVINCE, CODE, "finished", "--on", "20260507150000")
    ok("dossier", "post", COMMUNE, CODE, "--kind", "delivery", "--name", "Nguyễn Văn A")
    missing = truc("dossier", "trace", "000.01.01.H49-260428-9999", data_dir=data)
    assert missing.returncode == 5 and "no dossier" in missing.stderr

    def returned() -> dict[str, object] | None:
        body = json.loads(ok("dossier", "trace", CODE, "--json"))
        return body if body["dossier"]["status"] == 10 else None

    body = wait_until(returned, timeout=45, what="the result delivered by post")
    dossier = body["dossier"]
    assert (dossier["due_date"], dossier["verdict"], dossier["paused_working_days"]) == (
        "2026-05-07",
        "on_time",
        2,
    )
    levels = {e["who"]: e["level"] for e in body["events"] if e["who"]}
    assert levels == {COMMUNE: "commune", PROVINCE: "province", POST: "enterprise"}
    table = ok("dossier", "trace", CODE)
    assert "Judged" in table and "on_time" in table and "PostalTracked" in table

    stats = json.loads(ok("stats", "dossiers", "--by", "agency", "--period", "month", "--json"))
    rows = {(r["period"], r["agency"]): r for r in stats["rows"]}
    assert rows[("2026-04", COMMUNE)]["received"] == 1
    assert rows[("2026-04", COMMUNE)]["transferred"] == 1
    assert rows[("2026-04", PROVINCE)]["taken_over"] == 1
    province = rows[("2026-05", PROVINCE)]
    assert (province["finished"], province["on_time"], province["on_time_rate"]) == (1, 1, 1.0)
    assert sum(r["returned"] for r in stats["rows"]) == 1
    by_level = json.loads(ok("stats", "dossiers", "--by", "level", "--json"))
    assert {r["level"] for r in by_level["rows"]} == {"commune", "province"}
    assert "on time rate" in ok("stats", "dossiers")
    inbox = [json.loads(line) for line in ok("dossier", "inbox", COMMUNE, "--json").splitlines()]
    assert any("postal" in item for item in inbox)

    # An auditor checks every member's signature on the dossier's acts, offline.
    bundle = tmp_path / "bundle"
    ok("audit", "export", "--out", str(bundle), "--config", str(tmp_path / "truc.toml"))
    run = subprocess.run(
        [*CLI, "audit", "verify", str(bundle), "--allow-uncovered", "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    verified = run.stdout
    signed = [e for e in body["events"] if e.get("header_b64")]
    # receive, transfer, 2 supplement acts, finished, the order, 3 tracking events
    assert len(signed) == 9
    checked = int(verified.split(" member signatures checked")[0].rsplit(", ", 1)[-1])
    assert checked >= len(signed), verified
