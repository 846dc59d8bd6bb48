"""The status snapshot and `truc status`, against a real nats-server and the in-process
stack, plus the ledger projection behind the dashboard's volumes and on-time rates."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.crypto import Signer
from hub.bootstrap import Stack, start_stack
from hub.ops import (
    ActivityProjection,
    CheckpointInfo,
    OpsCollector,
    Thresholds,
    checkpoint_info_from_note,
    collect_status,
    consumer_role,
    ledger_notifications,
    parse_due_date,
)
from ledger.note import Checkpoint, cosign_note, sign_note
from tests.ops.conftest import cli, report_status, send_document, send_refused, settled
from tests.support import G15, G22, H49, POST, eventually, make_config

MEMBERS = (G15, G22, H49, POST)


# -- the snapshot on a real stack ---------------------------------------------------------------


async def test_a_fresh_stack_shows_every_stream_and_both_consumers_of_every_member(
    stack: Stack,
) -> None:
    snapshot = await collect_status(stack.hub_nc.jetstream(), ledger=stack.ledger)
    # The registry's own events (recorded at start) are on the ledger feed, one message per
    # kind of event; nothing else yet.
    notifications = stack.ledger.recorder.select_notifications(start=1, limit=1000)
    assert len(notifications) == stack.ledger.size()
    kinds = len({n.topic for n in notifications})
    assert [(s.name, s.present, s.messages) for s in snapshot.streams] == [
        ("TRUC_IN", True, 0),
        ("TRUC_OUT", True, 0),
        ("TRUC_LEDGER", True, kinds),
        ("TRUC_DEAD", True, 0),
    ]
    roles = {(c.role, c.member) for c in snapshot.consumers}
    assert roles == {("hub", None)} | {
        (role, m) for m in MEMBERS for role in ("delivery", "receipts")
    }
    # The ledger may already hold the registry's events; nothing went through NATS yet.
    assert snapshot.ledger is not None and snapshot.ledger.size == stack.ledger.size()
    assert snapshot.dead_letters.count == 0
    assert snapshot.checkpoint is None
    assert snapshot.problems == ()


async def test_streams_and_ledger_follow_what_was_exchanged(stack: Stack) -> None:
    registry = await collect_status(stack.hub_nc.jetstream(), ledger=stack.ledger)
    registry_kinds = {s.name: s for s in registry.streams}["TRUC_LEDGER"].messages
    sent = await send_document(stack, G22, [H49, G15])
    await settled(stack)
    snapshot = await eventually(
        lambda: _status_where(stack, lambda s: _consumer(s, "deliver-000_00_00_H49").last_ack),
        what="H49's adapter to take the document",
    )
    streams = {s.name: s for s in snapshot.streams}
    assert streams["TRUC_IN"].messages == 1
    # Two routed copies and the sender's receipt; on the ledger feed, Sent and (one message
    # for both) the two Routed.
    assert streams["TRUC_OUT"].messages == 3
    assert streams["TRUC_LEDGER"].messages == registry_kinds + 2
    assert streams["TRUC_LEDGER"].last_seq == registry_kinds + 2
    assert snapshot.ledger is not None and snapshot.ledger.size == sent.ledger_position + 2
    h49 = _consumer(snapshot, "deliver-000_00_00_H49")
    assert (h49.pending, h49.ack_pending, h49.redelivered) == (0, 0, 0)
    assert h49.last_active is not None and h49.last_active <= snapshot.taken_at
    assert _consumer(snapshot, "deliver-BCCI_VNPOST").last_active is None


async def test_a_member_whose_adapter_stopped_shows_lag_and_a_problem(stack: Stack) -> None:
    await stack.adapters[G15].gateway.stop()
    await send_document(stack, G22, [H49, G15])

    async def stalled() -> Any:
        snapshot = await collect_status(
            stack.hub_nc.jetstream(), thresholds=Thresholds(stalled_after=timedelta(0))
        )
        c = _consumer(snapshot, "deliver-000_00_00_G15")
        return snapshot if c.pending == 1 and c.waiting == 0 else None

    snapshot = await eventually(stalled, what="G15's delivery consumer to show one waiting")
    assert _consumer(snapshot, "deliver-000_00_00_G15").lag == 1
    assert _consumer(snapshot, "deliver-000_00_00_H49").lag == 0
    assert [p for p in snapshot.problems if "G15" in p] == [
        "deliver-000_00_00_G15 (000.00.00.G15): 1 waiting and nobody has pulled ever"
    ]


async def test_a_refused_message_appears_as_a_dead_letter_with_its_reason(stack: Stack) -> None:
    await send_refused(stack, G22, POST)
    await settled(stack, dead=1)
    snapshot = await collect_status(stack.hub_nc.jetstream())
    assert snapshot.dead_letters.count == 1
    [letter] = snapshot.dead_letters.recent
    assert (letter.member, letter.code, letter.authenticated) == (G22, "route_not_allowed", True)
    assert "BCCI.VNPOST" in letter.reason
    assert letter.time is not None and snapshot.taken_at - letter.time < timedelta(minutes=1)
    assert any("dead letter" in p and "route_not_allowed" in p for p in snapshot.problems)
    # An hour later the same dead letter is history, not news.
    later = await collect_status(
        stack.hub_nc.jetstream(), now=lambda: datetime.now(UTC) + timedelta(hours=2)
    )
    assert later.dead_letters.count == 1
    assert not any("dead letter" in p for p in later.problems)


async def test_a_missing_stream_is_reported_not_raised(stack: Stack) -> None:
    js = stack.hub_nc.jetstream()
    await js.delete_stream("TRUC_DEAD")
    snapshot = await collect_status(js)
    dead = next(s for s in snapshot.streams if s.name == "TRUC_DEAD")
    assert not dead.present
    assert "stream TRUC_DEAD (truc.dead.>) is missing" in snapshot.problems


class _BrokenJetStream:
    async def streams_info(self) -> list[Any]:
        raise ConnectionError("connection refused")

    async def consumers_info(self, stream: str) -> list[Any]:
        raise AssertionError("not reached")

    async def get_msg(self, stream_name: str, seq: int) -> Any:
        raise AssertionError("not reached")


@dataclass
class _Ledger:
    value: int

    def size(self) -> int:
        return self.value


async def test_nats_unreachable_still_gives_a_snapshot_with_the_ledger() -> None:
    snapshot = await collect_status(_BrokenJetStream(), ledger=_Ledger(12))
    assert snapshot.nats_error == "NATS: ConnectionError: connection refused"
    assert snapshot.problems[0] == snapshot.nats_error
    assert snapshot.ledger is not None and snapshot.ledger.size == 12
    assert snapshot.to_dict()["streams"] == []


# -- the checkpoint part ------------------------------------------------------------------------


def _signed_checkpoint(size: int, witnesses: dict[str, int]) -> str:
    log = Signer.generate("truc.test/log")
    note = sign_note(
        Checkpoint("truc.test/log", size, bytes(range(32))).to_text(),
        log.name,
        log.public_key,
        log.sign_raw,
    )
    for name, when in witnesses.items():
        witness = Signer.generate(name)
        note = cosign_note(note, name, witness.public_key, witness.sign_raw, when)
    return note


def test_a_checkpoint_note_is_described_with_its_witness_cosignatures() -> None:
    t1, t2 = 1_772_000_000, 1_772_000_060
    note = _signed_checkpoint(42, {"witness.a": t1, "witness.b": t2})
    info = checkpoint_info_from_note(note, log_name="truc.test/log", issued_at=None)
    assert (info.origin, info.size) == ("truc.test/log", 42)
    assert info.root_hash == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert [(c.witness, c.signed_at) for c in info.cosignatures] == [
        ("witness.a", datetime.fromtimestamp(t1, tz=UTC)),
        ("witness.b", datetime.fromtimestamp(t2, tz=UTC)),
    ]
    assert all(len(c.key_id) == 8 for c in info.cosignatures)
    assert not info.cosignatures_verified


async def test_checkpoint_age_and_staleness_in_the_snapshot() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    note = _signed_checkpoint(7, {"witness.a": int(now.timestamp())})

    def latest() -> CheckpointInfo:
        return checkpoint_info_from_note(
            note, log_name="truc.test/log", issued_at=now - timedelta(minutes=90)
        )

    snapshot = await collect_status(None, checkpoint=latest, now=lambda: now)
    assert snapshot.checkpoint_age == 90 * 60
    assert "the latest checkpoint is 90m old" in snapshot.problems
    body = snapshot.to_dict()["checkpoint"]
    assert body["age_seconds"] == 5400
    assert body["cosignatures"][0]["witness"] == "witness.a"

    fresh = await collect_status(
        None,
        checkpoint=latest,
        now=lambda: now,
        thresholds=Thresholds(timedelta(2), 1000, timedelta(hours=2)),
    )
    assert not any("checkpoint" in p for p in fresh.problems)

    none_yet = await collect_status(None, checkpoint=lambda: None)
    assert "no checkpoint has been issued yet" in none_yet.problems

    def broken() -> CheckpointInfo:
        raise OSError("checkpoint store unreadable")

    failed = await collect_status(None, checkpoint=broken)
    assert failed.checkpoint is None
    assert any("checkpoint store unreadable" in p for p in failed.problems)

    witness_down = await collect_status(
        None,
        checkpoint=latest,
        now=lambda: now,
        checkpoint_error=lambda: "WitnessError: witness.a: connection refused",
    )
    assert (
        "checkpoints: the issuer reports WitnessError: witness.a: connection refused"
        in witness_down.problems
    )
    quiet = await collect_status(None, checkpoint=latest, checkpoint_error=lambda: None)
    assert not any(p.startswith("checkpoints:") for p in quiet.problems)


# -- the ledger projection ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Note:
    id: int
    topic: str
    state: bytes
    originator_id: str


class _Log:
    """A notification log in memory that records how it was read."""

    def __init__(self) -> None:
        self.items: list[_Note] = []
        self.reads: list[tuple[int, int]] = []

    def add(self, aggregate: str, event: str, **state: Any) -> None:
        kind = event.split(".")[0].lower()
        topic = f"ledger.{kind}:{event}"
        body = json.dumps(state).encode()
        self.items.append(_Note(len(self.items) + 1, topic, body, aggregate))

    def read(self, start: int, limit: int) -> list[_Note]:
        self.reads.append((start, limit))
        return [n for n in self.items if n.id >= start][:limit]


def _at(day: str, hour: int = 3) -> str:
    return f"{day}T{hour:02d}:00:00.000+00:00"


def test_on_time_late_overdue_and_open_per_recipient() -> None:
    log = _Log()
    # Due 10 March (Vietnam). H49 finishes on the 10th at 23:30 Vietnam time (16:30 UTC):
    # on time. G15 finishes on the 11th at 06:00 Vietnam time (10 March 23:00 UTC): late.
    log.add(
        "d1",
        "Document.Sent",
        sender=G22,
        recipients=[H49, G15],
        due_date="2026/03/10",
        received_at=_at("2026-03-01"),
    )
    log.add(
        "d1",
        "Document.StatusReported",
        reporter=H49,
        status_code="03",
        received_at=_at("2026-03-02"),
    )
    log.add(
        "d1",
        "Document.StatusReported",
        reporter=H49,
        status_code="06",
        received_at="2026-03-10T16:30:00+00:00",
    )
    log.add(
        "d1",
        "Document.StatusReported",
        reporter=G15,
        status_code="02",
        received_at="2026-03-10T23:00:00+00:00",
    )
    # Due 5 March, nobody answered: overdue for both on the 12th. d3 is not due yet.
    log.add(
        "d2",
        "Document.Sent",
        sender=G22,
        recipients=[H49, G15],
        due_date="2026/03/05",
        received_at=_at("2026-03-01"),
    )
    log.add(
        "d3",
        "Document.Sent",
        sender=G15,
        recipients=[H49],
        due_date="2026-03-30",
        received_at=_at("2026-03-11"),
    )
    # Recalled and the recall accepted: withdrawn from the count. No due date: not counted.
    log.add(
        "d4",
        "Document.Sent",
        sender=G22,
        recipients=[G15],
        due_date="2026/03/01",
        received_at=_at("2026-02-20"),
    )
    log.add(
        "d4",
        "Document.StatusReported",
        reporter=G22,
        status_code="13",
        received_at=_at("2026-02-21"),
    )
    log.add(
        "d4",
        "Document.StatusReported",
        reporter=G15,
        status_code="15",
        received_at=_at("2026-02-22"),
    )
    log.add(
        "d5",
        "Document.Sent",
        sender=G22,
        recipients=[G15],
        due_date="",
        received_at=_at("2026-03-01"),
    )
    projection = ActivityProjection()
    assert projection.catch_up(log.read) == len(log.items)
    report = projection.report(datetime(2026, 3, 12, 2, 0, tzinfo=UTC))
    documents = report["documents"]
    assert (documents["total"], documents["with_due_date"]) == (5, 4)
    assert (documents["on_time"], documents["late"], documents["overdue"], documents["open"]) == (
        1,
        1,
        2,
        1,
    )
    assert documents["on_time_rate"] == 0.25
    by_member = {m["member"]: m for m in documents["by_member"]}
    assert by_member[H49] == {
        "member": H49,
        "on_time": 1,
        "late": 0,
        "overdue": 1,
        "open": 1,
        "on_time_rate": 0.5,
    }
    assert by_member[G15]["late"] == 1 and by_member[G15]["overdue"] == 1
    volumes = {v["member"]: v for v in report["volumes"]}
    assert volumes[G22]["sent"] == 4 and volumes[G15]["sent"] == 1
    assert volumes[H49]["statuses"] == 2
    assert report["dossiers"]["total"] == 0
    assert report["dossiers"]["note"].startswith("not yet")


def test_dossiers_hand_their_due_date_to_the_agency_they_are_transferred_to() -> None:
    log = _Log()
    commune, province = "000.01.01.H49", H49
    log.add(
        "x1",
        "Dossier.Received",
        code="000.01.01.H49-260301-0001",
        receiver=commune,
        due_date="20260310170000",
        received_at=_at("2026-03-01"),
    )
    log.add(
        "x1",
        "Dossier.Transferred",
        from_agency=commune,
        to_agency=province,
        received_at=_at("2026-03-02"),
    )
    log.add("x1", "Dossier.StatusChanged", status=9, by=province, received_at=_at("2026-03-09"))
    log.add(
        "x2",
        "Dossier.Received",
        code="000.01.01.H49-260301-0002",
        receiver=commune,
        due_date="20260305",
        received_at=_at("2026-03-01"),
    )
    log.add(
        "x3",
        "Dossier.Received",
        code="000.01.01.H49-260301-0003",
        receiver=commune,
        due_date="20260305",
        received_at=_at("2026-03-01"),
    )
    log.add("x3", "Dossier.StatusChanged", status=3, by=commune, received_at=_at("2026-03-02"))
    # x4: due 5/3, the clock paused for a supplement moved it to 9/3; finished (by the
    # agency's own time) on 9/3 although the hub heard of it on the 11th: on time.
    log.add(
        "x4",
        "Dossier.Received",
        code="000.01.01.H49-260301-0004",
        receiver=commune,
        due_date="2026-03-05",
        received_at=_at("2026-03-01"),
    )
    log.add("x4", "Dossier.ClockResumed", due_date="2026-03-09", received_at=_at("2026-03-04"))
    log.add(
        "x4",
        "Dossier.StatusChanged",
        status=9,
        by=commune,
        at="2026-03-09T16:00:00+07:00",
        received_at=_at("2026-03-11"),
    )
    projection = ActivityProjection()
    projection.catch_up(log.read)
    dossiers = projection.report(datetime(2026, 3, 12, tzinfo=UTC))["dossiers"]
    assert (dossiers["total"], dossiers["on_time"], dossiers["overdue"]) == (4, 2, 1)
    assert {m["member"]: (m["on_time"], m["overdue"]) for m in dossiers["by_member"]} == {
        province: (1, 0),
        commune: (1, 1),
    }
    assert dossiers["note"] == ""


def test_the_projection_reads_only_what_is_new_and_in_bounded_batches() -> None:
    log = _Log()
    for i in range(5):
        log.add(
            f"d{i}", "Document.Sent", sender=G22, recipients=[H49], received_at=_at("2026-03-01")
        )
    projection = ActivityProjection()
    assert projection.catch_up(log.read, batch=2, max_batches=2) == 4
    assert log.reads == [(1, 2), (3, 2)]
    assert projection.catch_up(log.read, batch=2) == 1
    assert projection.catch_up(log.read, batch=2) == 0
    assert log.reads[-1] == (6, 2)
    assert projection.position == 5 and projection.sent[G22] == 5


def test_messages_per_minute_cover_the_last_hour_only() -> None:
    log = _Log()
    now = datetime(2026, 3, 2, 9, 30, 20, tzinfo=UTC)
    for minutes_ago in (0, 0, 1, 59, 60, 120):
        when = (now - timedelta(minutes=minutes_ago)).isoformat()
        log.add("d", "Document.Delivered", recipient=H49, received_at=when)
    projection = ActivityProjection()
    projection.catch_up(log.read)
    series = projection.report(now)["per_minute"]
    assert len(series) == 60
    assert series[-1] == {"minute": "2026-03-02T09:30:00.000+00:00", "count": 2}
    assert series[-2]["count"] == 1 and series[0]["count"] == 1
    assert sum(p["count"] for p in series) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/03/10", (2026, 3, 10)),
        ("2026-03-10", (2026, 3, 10)),
        ("20260310", (2026, 3, 10)),
        ("20260310170000", (2026, 3, 10)),
        ("", None),
        ("10/03/2026", None),
        ("2026/02/30", None),
    ],
)
def test_due_dates_in_the_formats_agencies_use(
    text: str, expected: tuple[int, int, int] | None
) -> None:
    parsed = parse_due_date(text)
    assert (None if parsed is None else (parsed.year, parsed.month, parsed.day)) == expected


def test_consumer_names_map_back_to_members() -> None:
    assert consumer_role("hub") == ("hub", None)
    assert consumer_role("deliver-000_00_00_H49") == ("delivery", H49)
    assert consumer_role("receipts-BCCI_VNPOST") == ("receipts", POST)
    assert consumer_role("deliver-not a token") == ("other", None)
    assert consumer_role("ephemeral-xyz") == ("other", None)


async def test_the_collector_summary_adds_the_projection_to_the_snapshot(stack: Stack) -> None:
    sent = await send_document(stack, G22, [H49], due="2000/01/01")
    await report_status(stack, H49, sent.document_id, "03")
    collector = OpsCollector(
        stack.hub_nc.jetstream(),
        hub_name=stack.hub_signer.name,
        ledger=stack.ledger,
        notifications=ledger_notifications(stack.ledger),
    )
    summary = await collector.summary()
    assert summary["hub"] == {"name": "truc.test"}
    activity = summary["activity"]
    assert activity["position"] == stack.ledger.size() == summary["ledger"]["size"]
    assert activity["documents"]["overdue"] == 1
    assert {v["member"]: v["sent"] for v in activity["volumes"]}[G22] == 1
    json.dumps(summary)  # JSON-ready as it is


# -- truc status as a process -------------------------------------------------------------------


async def _truc(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, cli(*args), capture_output=True, text=True, timeout=60
    )


async def test_truc_status_json_describes_the_running_stack(stack: Stack) -> None:
    await send_document(stack, G22, [H49])
    await send_refused(stack, G22, POST)
    await settled(stack, dead=1)
    data_dir = str(stack.data_dir)
    done = await _truc("status", "--json", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["hub"]["name"] == "truc.test"
    assert body["ledger"]["size"] == stack.ledger.size()
    assert {s["name"]: s["messages"] for s in body["streams"]}["TRUC_IN"] == 2
    assert body["dead_letters"]["count"] == 1
    assert body["dead_letters"]["recent"][0]["code"] == "route_not_allowed"
    consumers = {c["name"]: c for c in body["consumers"]}
    assert consumers["deliver-000_00_00_H49"]["member"] == H49
    assert set(consumers["hub"]) >= {"pending", "ack_pending", "redelivered", "last_active"}
    if getattr(stack, "transparency", None) is None:
        assert body["checkpoint"] is None  # nobody issues checkpoints in this stack
    else:
        assert body["checkpoint"]["origin"] == "truc.test"
        assert 0 < body["checkpoint"]["size"] <= body["ledger"]["size"]

    table = await _truc("status", "--data-dir", data_dir)
    assert table.returncode == 0, table.stderr
    for expected in (
        "streams",
        "TRUC_LEDGER",
        "deliver-000_00_00_H49",
        "route_not_allowed",
        f"{stack.ledger.size()} events",
        "checkpoint: ",
    ):
        assert expected in table.stdout


async def test_truc_status_shows_the_latest_checkpoint_from_the_ledger_database(
    stack: Stack,
) -> None:
    """The issuer keeps its checkpoints in the ledger's database; `truc status` reads the
    latest published one there, with its witness cosignatures, even with no hub answering."""
    from ledger.checkpoints import CheckpointStore, StoredCheckpoint
    from ledger.merkle_log import SqlDatabase

    hub = stack.hub_signer
    store = CheckpointStore(SqlDatabase(stack.ledger.recorder))
    if getattr(stack, "transparency", None) is not None:
        # The stack issues its own checkpoints: take its first one.
        latest = await eventually(
            lambda: asyncio.to_thread(store.latest), what="the hub's first checkpoint"
        )
    else:
        signed_at = datetime.now(UTC) - timedelta(minutes=5)
        text = Checkpoint(hub.name, 3, bytes(32)).to_text()
        note = sign_note(text, hub.name, hub.public_key, hub.sign_raw)
        with store.db.transaction(commit=True) as cursor:
            store.insert(
                cursor,
                StoredCheckpoint(3, bytes(32), note, int(signed_at.timestamp() * 1000), True),
            )
        latest = store.latest()
    assert latest is not None
    # A witness's reply adds a cosignature line to the stored note.
    witness = Signer.generate("witness.example")
    when = latest.signed_at_ms // 1000 + 1
    cosigned = cosign_note(latest.note, witness.name, witness.public_key, witness.sign_raw, when)
    with store.db.transaction(commit=True) as cursor:
        store.update_note(cursor, latest.size, cosigned, True)

    done = await _truc("status", "--json", "--data-dir", str(stack.data_dir))
    assert done.returncode == 0, done.stderr
    checkpoint = json.loads(done.stdout)["checkpoint"]
    issued = datetime.fromtimestamp(latest.signed_at_ms / 1000, tz=UTC)
    assert (checkpoint["origin"], checkpoint["size"]) == (hub.name, latest.size)
    assert checkpoint["issued_at"] == issued.isoformat(timespec="milliseconds")
    age = (datetime.now(UTC) - issued).total_seconds()
    assert age - 60 <= checkpoint["age_seconds"] <= age
    assert checkpoint["cosignatures_verified"] is True
    assert [c["witness"] for c in checkpoint["cosignatures"]] == ["witness.example"]
    assert checkpoint["cosignatures"][0]["signed_at"] == datetime.fromtimestamp(
        when, tz=UTC
    ).isoformat(timespec="milliseconds")
    table = await _truc("status", "--data-dir", str(stack.data_dir))
    assert f"checkpoint: {hub.name} size {latest.size}" in table.stdout
    assert "witness cosignatures: 1 (verified)" in table.stdout


async def test_truc_status_uses_the_hubs_nats_user_on_an_embedded_server(
    tmp_path: Path,
) -> None:
    """The embedded server only lets known users in; `truc status` reads the hub's own
    credentials from the data directory (and says so plainly when it cannot get in)."""
    data_dir = tmp_path / "data"
    stack = await start_stack(make_config(), data_dir)  # no URL: embedded, with users
    try:
        done = await _truc("status", "--json", "--data-dir", str(data_dir))
        assert done.returncode == 0, done.stderr
        assert [s["present"] for s in json.loads(done.stdout)["streams"]] == [True] * 4
        secret = data_dir / "secrets" / "nats-hub.json"
        await asyncio.to_thread(secret.rename, secret.with_suffix(".away"))
        refused = await _truc("status", "--data-dir", str(data_dir))
        assert refused.returncode == 3
        assert refused.stderr.startswith(f"truc: cannot reach NATS at {stack.nats_url}")
        assert "Authorization Violation" in refused.stderr
        assert len(refused.stderr.splitlines()) == 1  # one line, no traceback
    finally:
        await stack.stop()


async def test_truc_status_without_a_stack_exits_3(tmp_path: Path) -> None:
    done = await _truc("status", "--data-dir", str(tmp_path))
    assert done.returncode == 3
    assert done.stderr.startswith("truc: no running stack in")
    assert done.stdout == ""


def _consumer(snapshot: Any, name: str) -> Any:
    return next(c for c in snapshot.consumers if c.name == name)


async def _status_where(stack: Stack, probe: Any) -> Any:
    snapshot = await collect_status(stack.hub_nc.jetstream(), ledger=stack.ledger)
    return snapshot if probe(snapshot) else None
