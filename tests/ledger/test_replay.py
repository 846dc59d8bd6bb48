"""Replay at an instant: which clock, which time zone, and equality with what was live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.pb.truc.v1 import document_pb2, exchange_pb2
from hub.bootstrap import Stack
from ledger.application import Ledger
from ledger.base import NotRecorded
from ledger.commands import (
    GrantRoute,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    RegisterMember,
    RevokeMemberKey,
)
from ledger.errors import UnknownDocument
from ledger.member import KeySpec, MemberSpec
from ledger.replay import (
    InvalidInstant,
    parse_instant,
    replay_all,
    replay_document,
    replay_dossier,
    replay_member,
)
from ledger.storage import SqliteStorage
from tests.conftest import document_stub
from tests.ledger import builders as b
from tests.ledger.backends import at, instant
from tests.support import G15, G22, H49, eventually

ICT = timezone(timedelta(hours=7))
DOSSIER = "000.00.14.H20-200703-0002"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-09T14:30:00+07:00", datetime(2026, 6, 9, 7, 30, tzinfo=UTC)),
        ("2026-06-09T07:30:00Z", datetime(2026, 6, 9, 7, 30, tzinfo=UTC)),
        ("2026-06-09T07:30:00.250+00:00", datetime(2026, 6, 9, 7, 30, 0, 250_000, tzinfo=UTC)),
        # No offset: Vietnamese time, whatever the machine's zone.
        ("2026-06-09T14:30", datetime(2026, 6, 9, 7, 30, tzinfo=UTC)),
        ("2026-06-09", datetime(2026, 6, 8, 17, 0, tzinfo=UTC)),
    ],
)
def test_instants_are_iso_8601_and_naive_ones_are_vietnamese_time(
    text: str, expected: datetime
) -> None:
    assert parse_instant(text) == expected
    assert parse_instant(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["", "yesterday", "09/06/2026", "2026-13-01T00:00"])
def test_an_instant_that_is_not_iso_8601_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(InvalidInstant, match=r"^--at: "):
        parse_instant(text)


def test_replay_compares_the_hub_receive_time_not_the_recording_time(ledger: Ledger) -> None:
    # Recorded now, but received (as the hub vouched) at T0 + 10 min.
    ledger.record([b.document("m1", "d1", 10)])
    assert replay_document(ledger, "d1", instant(9.99)).state is None
    replayed = replay_document(ledger, "d1", instant(10))
    assert replayed.existed and replayed.version == 3 and replayed.position == 3
    assert replay_document(ledger, "d1", datetime.now(UTC)).version == 3


def test_an_aggregate_never_shows_a_later_version_without_the_earlier_one(ledger: Ledger) -> None:
    # Two hub processes: 03 was received before 01 by the other process, recorded after.
    ledger.record([b.document("m1", "d1", 0)])
    ledger.record([b.status("s1", "d1", "01", 20)])
    ledger.record([b.status("s2", "d1", "03", 10)])
    assert (
        replay_document(ledger, "d1", instant(15)).state
        == replay_document(ledger, "d1", instant(0)).state
    )
    assert replay_document(ledger, "d1", instant(20)).state == ledger.document("d1").view()
    assert replay_all(ledger, instant(15)).aggregates["document"]["d1"]["statuses"][H49] is None


def test_dossiers_and_members_replay_too(ledger: Ledger) -> None:
    ledger.record(
        [
            RecordDossierReceived("x1", DOSSIER, "1.011442.000.00.00.H38", H49, 2, "", at(0)),
            RecordDossierTransfer("x2", DOSSIER, H49, G15, "liên thông", at(10)),
            RecordDossierStatus("x3", DOSSIER, 4, G15, "đang xử lý", at(20)),
        ]
    )
    ledger.sync_members(
        [MemberSpec(G22, "Văn phòng Chính phủ", "document", (KeySpec("k1", "AAAA"),))],
        change_id="cfg-1",
        received_at=at(0),
    )
    ledger.record([RevokeMemberKey("r1", G22, "k1", at(30), "lost", at(30))])
    at_5 = replay_dossier(ledger, DOSSIER, instant(5)).state
    assert at_5 is not None and (at_5["holder"], at_5["status"]) == (H49, 2)  # accepted
    at_25 = replay_dossier(ledger, DOSSIER, instant(25)).state
    assert at_25 is not None and (at_25["holder"], at_25["status"]) == (G15, 4)
    before = replay_member(ledger, G22, instant(29)).state
    after = replay_member(ledger, G22, instant(30)).state
    assert before is not None and before["keys"]["k1"]["revoked_from"] == ""
    assert after is not None and after["keys"]["k1"]["revoked_from"] == at(30)


def test_replaying_something_never_recorded_says_not_found(ledger: Ledger) -> None:
    with pytest.raises(UnknownDocument):
        replay_document(ledger, "nope", instant(0))
    with pytest.raises(NotRecorded, match="no dossier"):
        replay_dossier(ledger, DOSSIER, instant(0))
    with pytest.raises(NotRecorded, match="no member"):
        replay_member(ledger, G22, instant(0))
    ledger.record([RegisterMember("m", G15, "Bộ Tư pháp", "document", at(0))])
    ledger.record([GrantRoute("g", G15, "000.*", ("document",), at(1))])
    assert replay_member(ledger, G15, instant(0.5)).state == {
        "code": G15,
        "version": 1,
        "name": "Bộ Tư pháp",
        "kind": "document",
        "keys": {},
        "routes": [],
    }


def test_the_whole_ledger_replays_with_progress(ledger: Ledger) -> None:
    ledger.record([b.document(f"m{i}", f"d{i}", i) for i in range(30)])
    seen: list[tuple[int, int]] = []
    state = replay_all(ledger, instant(9), lambda done, total: seen.append((done, total)))
    assert state.counts() == {"document": 10} and state.events == 30
    assert seen and seen[-1] == (90, 90)


def _observe_now() -> datetime:
    """Now, then wait for the clock to pass into the next millisecond (the hub keeps
    receive times to the millisecond), so anything received later is strictly later."""
    now = datetime.now(UTC)
    ms = int(now.timestamp() * 1000)
    while time.time_ns() // 1_000_000 <= ms:
        pass
    return now


async def test_replay_on_the_live_hub_equals_what_was_observed_then(stack: Stack) -> None:
    g22, h49 = document_stub(stack, G22), document_stub(stack, H49)
    sent = await g22.SendDocument(
        exchange_pb2.SendDocumentRequest(
            recipients=[H49], document=b_document(), wait_for_receipt=True
        ),
        timeout=20,
    )
    observed = [(_observe_now(), stack.ledger.document(sent.document_id).view())]
    await eventually(lambda: _has_item(stack), what="H49 inbox")
    for code in ("01", "03", "04"):
        await h49.UpdateStatus(
            exchange_pb2.UpdateStatusRequest(
                document_id=sent.document_id, status_code=code, wait_for_receipt=True
            ),
            timeout=20,
        )
        observed.append((_observe_now(), stack.ledger.document(sent.document_id).view()))
    assert len({str(state) for _, state in observed}) == 4
    for moment, state in observed:
        assert replay_document(stack.ledger, sent.document_id, moment).state == state
        as_vietnamese = moment.astimezone(ICT).replace(tzinfo=None).isoformat()
        assert (
            replay_document(stack.ledger, sent.document_id, parse_instant(as_vietnamese)).state
            == state
        )


async def _has_item(stack: Stack) -> bool:
    stub = document_stub(stack, H49)
    items = [i async for i in stub.Inbox(exchange_pb2.InboxRequest(include_acknowledged=True))]
    return bool(items)


def b_document() -> document_pb2.Document:
    return document_pb2.Document(
        subject="Xem lại lúc nào",
        from_organ=document_pb2.Organization(organ_id=G22),
        to_organs=[document_pb2.Organization(organ_id=H49)],
    )
