"""Population look-ups end to end: an agency system calls Verify on its adapter (real gRPC),
the look-up travels signed through a real nats-server and the hub to the population adapter,
which asks the synthetic register over its own gRPC service and answers back the same way.

Proves: matching and non-matching citizens are answered correctly; a member without the
right (or asking for attributes it may not see) gets PERMISSION_DENIED and the refusal is
recorded and dead-lettered; bad numbers never leave the adapter; no answer means
DEADLINE_EXCEEDED; the ledger's raw bytes (WAL included) hold no number or name in clear.
"""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import population_pb2, population_pb2_grpc
from adapters.population.register import EXAMPLE, Citizen, generate
from adapters.population.responder import PopulationResponder
from hub import subjects
from hub.bootstrap import Stack, start_stack
from hub.cli.main import app
from hub.config import HubConfig, load_config, parse_config
from ledger.refusal import refusal_aggregate_id
from tests.support import G01, G15, G22, H49, eventually

pytestmark = pytest.mark.timeout(120)

runner = CliRunner()
CITIZENS = 200
SEED = 7
LAW = "Nghị định 104/2022/NĐ-CP"


POPULATION_TOML = f"""
[hub]
name = "truc.test"
nats_url = "{{nats_url}}"

[ledger]
backend = "sqlite"

[[members]]
code = "{G22}"
name = "Văn phòng Chính phủ"

[[members]]
code = "{G15}"
name = "Bộ Tư pháp"

[[members]]
code = "{H49}"
name = "UBND tỉnh Quảng Ninh"

[[members]]
code = "{G01}"
name = "Bộ Công an"
kind = "population"

[[routes]]
senders = "000.*"
recipients = "000.*"
kinds = ["document", "status"]

[[routes]]
senders = "{H49}"
recipients = "{G01}"
kinds = ["lookup"]
attributes = ["sex", "place_of_residence"]

[[routes]]
senders = "{G22}"
recipients = "{G01}"
kinds = ["lookup"]

[[routes]]
senders = "{G01}"
recipients = "000.*"
kinds = ["lookup_answer"]

[population]
citizens = {CITIZENS}
seed = {SEED}

[transparency]
every_leaves = 1
every_seconds = 0.5
"""


def population_config(nats_url: str, path: Path | None = None) -> HubConfig:
    """Quảng Ninh may verify and see sex and residence; the Government Office may only
    verify; the Ministry of Justice has no look-up right at all."""
    text = POPULATION_TOML.replace("{nats_url}", nats_url)
    if path is None:
        return parse_config(tomllib.loads(text), "<test>")
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest_asyncio.fixture
async def stack(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(population_config(nats_server.url), tmp_path / "data")
    try:
        yield running
    finally:
        await running.stop()


def lookup_stub(stack: Stack, member: str) -> population_pb2_grpc.PopulationLookupStub:
    channel = grpc.aio.insecure_channel(stack.adapters[member].address)
    return population_pb2_grpc.PopulationLookupStub(channel)


def request(citizen: Citizen, **changes: Any) -> population_pb2.VerifyRequest:
    fields: dict[str, Any] = {
        "id_number": citizen.id_number,
        "full_name": citizen.full_name,
        "date_of_birth": citizen.date_of_birth,
        "purpose": "Cấp giấy phép xây dựng, hồ sơ 000.00.00.H49-261124-0001",
        "legal_basis": LAW,
        "officer": "Trần Thị Bình (một cửa)",
        "timeout_ms": 15_000,
    }
    fields.update(changes)
    return population_pb2.VerifyRequest(**fields)


CITIZEN = list(generate(CITIZENS, SEED))[42]


async def test_a_province_gets_matching_and_non_matching_citizens_answered(stack: Stack) -> None:
    stub = lookup_stub(stack, H49)
    matched = await stub.Verify(request(CITIZEN, attributes=["sex", "place_of_residence"]))
    assert matched.matched is True
    assert dict(matched.attributes) == {
        "sex": CITIZEN.sex,
        "place_of_residence": CITIZEN.place_of_residence,
    }
    assert matched.answered_by == G01 and matched.ledger_position > 0

    wrong_name = await stub.Verify(request(CITIZEN, full_name="Lê Văn Không", attributes=["sex"]))
    assert wrong_name.matched is False and dict(wrong_name.attributes) == {}
    # Same name typed differently (case, spaces) still matches; another birthday does not.
    spaced = await stub.Verify(request(EXAMPLE, full_name="  nguyễn   VĂN an "))
    assert spaced.matched is True and dict(spaced.attributes) == {}
    other_day = await stub.Verify(request(EXAMPLE, date_of_birth="1984-05-18"))
    assert other_day.matched is False

    lookup = stack.ledger.lookup(matched.lookup_id).view()
    assert stack.vault is not None
    assert lookup["subject_digest"] == stack.vault.pseudonym(CITIZEN.id_number)
    assert lookup["requester"] == H49 and lookup["responder"] == G01
    assert lookup["officer"] == "Trần Thị Bình (một cửa)" and lookup["legal_basis"] == LAW
    assert lookup["purpose"].startswith("Cấp giấy phép xây dựng")
    assert lookup["matched"] is True and lookup["answered_by"] == G01
    assert lookup["disclosed"] == ["place_of_residence", "sex"]
    assert lookup["sealed_attributes"].startswith("v1.")
    assert stack.ledger.lookup(wrong_name.lookup_id).view()["matched"] is False
    # Look-ups are never put in the agency's document inbox.
    assert stack.adapters[H49].mailbox.inbox(after=0, include_acknowledged=True) == []


async def test_a_member_without_the_right_is_refused_and_the_refusal_recorded(
    stack: Stack,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as no_route:
        await lookup_stub(stack, G15).Verify(request(CITIZEN))
    assert no_route.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "route_not_allowed" in (no_route.value.details() or "")

    with pytest.raises(grpc.aio.AioRpcError) as undue:
        await lookup_stub(stack, G22).Verify(request(CITIZEN, attributes=["place_of_birth"]))
    assert undue.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "attributes" in (undue.value.details() or "")
    # The Government Office may still verify (matched or not) without attributes.
    assert (await lookup_stub(stack, G22).Verify(request(CITIZEN))).matched is True

    # Recorded on the citizen's Lookup (so the attempt shows in their access report), never
    # routed to the register; the payload stays out of the dead letters.
    refusals = [stack.ledger.lookup(e["message_id"]).view() for e in await _dead_letters(stack, 2)]
    codes = sorted((r["requester"], r["refused_code"]) for r in refusals)
    assert codes == [(G15, "route_not_allowed"), (G22, "attribute_not_allowed")]
    assert stack.vault is not None
    for refusal in refusals:
        assert refusal["subject_digest"] == stack.vault.pseudonym(CITIZEN.id_number)
        assert refusal["answered_by"] == "" and refusal["matched"] is None
        assert refusal["legal_basis"] == LAW
        assert not stack.ledger.recorder.select_events(
            refusal_aggregate_id(refusal["request_message_id"])
        )


async def _dead_letters(stack: Stack, count: int) -> list[dict[str, Any]]:
    js = stack.hub_nc.jetstream()
    sub = await js.pull_subscribe(subjects.DEAD_ALL, durable=None, stream=subjects.DEAD_STREAM)
    letters: list[dict[str, Any]] = []

    async def fetched() -> bool:
        try:
            msgs = await jetstream._fetch_available(sub, 10, 0.5)
        except Exception:
            return False
        letters.extend(json.loads(m.data) for m in msgs)
        return len(letters) >= count

    await eventually(fetched, what=f"{count} dead letters")
    for letter in letters:
        assert letter["envelope_b64"] == ""  # a look-up's payload is personal data
        assert letter["header_b64"]
    return letters


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id_number": "08708400099"}, "id_number"),
        ({"id_number": "003084000999"}, "id_number"),
        ({"date_of_birth": "1985-05-17"}, "id_number"),
        ({"purpose": " "}, "purpose"),
        ({"legal_basis": ""}, "legal_basis"),
        ({"officer": ""}, "officer"),
        ({"attributes": ["blood_type"]}, "attributes[0]"),
    ],
)
async def test_bad_look_ups_never_leave_the_adapter(
    stack: Stack, changes: dict[str, Any], field: str
) -> None:
    before = stack.ledger.size()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lookup_stub(stack, H49).Verify(request(EXAMPLE, **changes))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(f"{field}: ")
    assert EXAMPLE.id_number not in (caught.value.details() or "")
    assert stack.ledger.size() == before


async def test_no_answer_in_time_is_deadline_exceeded(stack: Stack) -> None:
    await stack.population[G01].responder.stop()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lookup_stub(stack, H49).Verify(request(EXAMPLE, timeout_ms=1000))
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_the_ledger_file_holds_no_number_or_name_in_clear(stack: Stack) -> None:
    citizens = list(generate(CITIZENS, SEED))[100:105]
    stub = lookup_stub(stack, H49)
    for citizen in citizens:
        answer = await stub.Verify(request(citizen, attributes=["place_of_residence", "sex"]))
        assert answer.matched
    await stub.Verify(request(citizens[0], full_name="Phạm Thị Sai"))
    ledger_path = stack.data_dir / "ledger.sqlite3"
    raw = b"".join(
        p.read_bytes()
        for p in ledger_path.parent.glob(ledger_path.name + "*")  # the file, -wal, -shm
    )
    assert len(raw) > 10_000
    assert stack.vault is not None
    for citizen in citizens:
        assert citizen.id_number.encode() not in raw
        assert citizen.full_name.encode() not in raw
        assert stack.vault.pseudonym(citizen.id_number).encode() in raw
    assert "Phạm Thị Sai".encode() not in raw


async def test_access_report_then_shredding_keeps_the_audit_bundle_verifiable(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    data, config = tmp_path / "data", tmp_path / "truc.toml"
    running = await start_stack(population_config(nats_server.url, config), data)
    try:
        province, office = lookup_stub(running, H49), lookup_stub(running, G22)
        first = await province.Verify(request(CITIZEN, attributes=["sex", "place_of_residence"]))
        await office.Verify(request(CITIZEN, purpose="Xác minh hồ sơ ứng viên", officer="Lê C"))
        await province.Verify(request(CITIZEN, full_name="Sai Tên"))
        with pytest.raises(grpc.aio.AioRpcError):
            await lookup_stub(running, G15).Verify(request(CITIZEN))
        assert running.vault is not None and running.transparency is not None
        pseudonym = running.vault.pseudonym(CITIZEN.id_number)
        key = running.vault._key(pseudonym)
        assert key is not None
        transparency = running.transparency

        async def covered() -> bool:
            await transparency.tick()
            note = transparency.latest_checkpoint()
            return note is not None and int(note.splitlines()[1]) == running.ledger.size()

        await eventually(covered, what="a checkpoint covering every event")
    finally:
        await running.stop()

    def truc(*args: str) -> Any:
        return runner.invoke(app, [*args, "--data-dir", str(data), "--config", str(config)])

    report = truc("audit", "access-report", CITIZEN.id_number, "--json")
    assert report.exit_code == 0, report.stderr
    body = json.loads(report.stdout)
    assert body["subject_digest"] == pseudonym
    rows = body["lookups"]
    assert [(r["requester"], r["outcome"]) for r in rows] == [
        (H49, "matched"),
        (G22, "matched"),
        (H49, "not matched"),
        (G15, "refused"),
    ]
    assert rows[3]["refused_reason"].startswith("route_not_allowed: ")
    assert rows[0]["lookup_id"] == first.lookup_id
    assert rows[0]["legal_basis"] == LAW and rows[0]["officer"] == "Trần Thị Bình (một cửa)"
    assert rows[0]["requester_name"] == "UBND tỉnh Quảng Ninh"
    assert rows[0]["disclosed"] == {
        "sex": CITIZEN.sex,
        "place_of_residence": CITIZEN.place_of_residence,
    }
    assert rows[1]["purpose"] == "Xác minh hồ sơ ứng viên" and rows[1]["disclosed"] == {}
    table = truc("audit", "access-report", CITIZEN.id_number)
    assert table.exit_code == 0  # cells wrap at spaces: look for unbroken words
    for word in ("UBND", "104/2022/NĐ-CP", "(route_not_allowed)", "place_of_residence:"):
        assert word in table.stdout
    assert "nobody" in truc("audit", "access-report", EXAMPLE.id_number).stdout
    bad = truc("audit", "access-report", "003084000999")
    assert bad.exit_code == 4 and "ID: " in bad.stderr

    exported = truc("audit", "export", "--out", str(tmp_path / "before"))
    assert exported.exit_code == 0, exported.stderr
    shred = truc("audit", "shred", CITIZEN.id_number)
    assert shred.exit_code == 0, shred.stderr
    assert truc("audit", "shred", CITIZEN.id_number).exit_code == 5
    keys = b"".join(p.read_bytes() for p in (data / "secrets").glob("citizen-keys.sqlite3*"))
    assert key not in keys  # really gone from the key table's file and its log

    after = json.loads(truc("audit", "access-report", CITIZEN.id_number, "--json").stdout)
    outcomes = [r["outcome"] for r in after["lookups"]]
    assert outcomes == ["matched", "matched", "not matched", "refused"]
    assert after["lookups"][0]["disclosed"] == "shredded"
    assert after["lookups"][0]["disclosed_names"] == ["place_of_residence", "sex"]

    assert truc("audit", "export", "--out", str(tmp_path / "after")).exit_code == 0
    events = "events.jsonl"
    assert (tmp_path / "after" / events).read_bytes() == (tmp_path / "before" / events).read_bytes()
    vkey = truc("audit", "vkey").stdout.strip()
    verified = runner.invoke(app, ["audit", "verify", str(tmp_path / "after"), "--vkey", vkey])
    assert verified.exit_code == 0, verified.stdout + verified.stderr


async def test_the_lookup_and_sample_commands(stack: Stack) -> None:
    """`truc lookup` and `truc population sample`, finding the stack through its data dir
    (run on a thread: the CLI's blocking gRPC calls this process's own servers)."""

    def truc(*args: str) -> Any:
        return runner.invoke(app, [*args, "--data-dir", str(stack.data_dir)])

    sample = await asyncio.to_thread(truc, "population", "sample", "-n", "2", "--json")
    assert sample.exit_code == 0, sample.stderr
    first = json.loads(sample.stdout.splitlines()[0])
    assert first["id_number"] == EXAMPLE.id_number and len(sample.stdout.splitlines()) == 2
    ask = [
        "lookup", "--from", H49, "--id", EXAMPLE.id_number, "--name", EXAMPLE.full_name,
        "--dob", EXAMPLE.date_of_birth, "--purpose", "Cấp phép", "--legal-basis", LAW,
        "--officer", "Trần B",
    ]  # fmt: skip
    found = await asyncio.to_thread(truc, *ask, "--attribute", "sex", "--json")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["attributes"] == {"sex": "male"}
    plain = await asyncio.to_thread(truc, *ask)
    assert plain.exit_code == 0 and plain.stdout.startswith("matched")
    refused = await asyncio.to_thread(truc, *ask[:2], G15, *ask[3:])
    assert refused.exit_code == 4 and "PERMISSION_DENIED" in refused.stderr
    invalid = await asyncio.to_thread(truc, *ask[:4], "087185000999", *ask[5:])
    assert invalid.exit_code == 4 and "INVALID_ARGUMENT: id_number: " in invalid.stderr
    nowhere = runner.invoke(app, ["population", "sample", "--data-dir", str(stack.data_dir / "x")])
    assert nowhere.exit_code == 3


@dataclass
class LateClock:
    """30 s ahead: past the 0.5 s the asker waits (and the 5 s skew allowance), well inside
    the two minutes a request without a signed deadline would get."""

    def now_ms(self) -> int:
        return int(time.time() * 1000) + 30_000


async def test_a_request_nobody_waits_for_any_more_is_never_answered(stack: Stack) -> None:
    handle = stack.population[G01]
    down = handle.responder
    await down.stop()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lookup_stub(stack, H49).Verify(request(EXAMPLE, timeout_ms=500))
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    lookup_id = (caught.value.details() or "").split()[1].rstrip(":")
    assert stack.ledger.lookup(lookup_id).view()["answered_by"] == ""  # recorded, queued

    back = PopulationResponder(
        member=G01,
        signer=down._signer,
        hub_public_key=down._hub_key,
        nc=handle.nc,
        verify=handle.register.verify,
        clock=LateClock(),
    )
    await back.start()
    try:
        await eventually(lambda: back.expired == 1, what="the stale request to be dropped")
    finally:
        await back.stop()
    assert back.answered == 0
    view = stack.ledger.lookup(lookup_id).view()
    assert view["answered_by"] == "" and view["matched"] is None
