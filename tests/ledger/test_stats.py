"""Statistics: every event is counted for a member, on a Vietnamese day."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.base import MessageAggregate
from ledger.commands import (
    AddMemberKey,
    GrantRoute,
    RecordDossierApology,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    RecordLookup,
    RecordLookupAnswer,
    RecordPostalOrder,
    RecordPostalTracking,
    RegisterMember,
    RetireMemberKey,
    RevokeMemberKey,
    WithdrawRoute,
)
from ledger.replay import pages
from ledger.stats import UNKNOWN_MEMBER, fact_of, scan_ledger
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.ledger.backends import at
from tests.support import G01, G15, G22, H49, POST

DOSSIER = "000.00.14.H20-200703-0002"
# A second dossier, received by the Ministry of Finance a week before T0 with one working
# day to decide, so it comes late: it has every other kind of dossier event.
LATE, G12 = "000.00.00.G12-260601-0001", "000.00.00.G12"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


def _every_kind_of_event(ledger: Ledger) -> None:
    outcomes = ledger.record(
        [
            b.document("m1", "d1", 0),
            b.delivery("v1", "d1", "m1", 1),
            b.status("s1", "d1", "01", 2),
            b.document("m2", "d2", 3, business_type=2, refers_to="d1"),
            b.document("m3", "d3", 4, business_type=3, refers_to="d2"),
            b.document("m4", "d4", 5, business_type=1, refers_to="d3"),
            b.refusal("bad", 6),
            RecordDossierReceived("x1", DOSSIER, "1.011442.000.00.00.H38", H49, 1, "", at(7)),
            RecordDossierTransfer("x2", DOSSIER, H49, G15, "", at(8)),
            RecordDossierStatus("x3", DOSSIER, 9, G15, "", at(9)),
            RegisterMember("r1", G01, "Bộ Công an", "population", at(10)),
            AddMemberKey("r2", G01, "k1", "AAAA", at(10), "", at(10)),
            RetireMemberKey("r2b", G01, "k1", at(20), at(10)),
            RevokeMemberKey("r3", G01, "k1", at(11), "lost", at(11)),
            GrantRoute("r4", G01, "000.*", ("status",), at(12)),
            WithdrawRoute("r5", G01, "000.*", ("status",), at(13)),
            RecordLookup(
                "l1", G15, "cán bộ A", "xác minh hồ sơ", "ab" * 32, at(14), "Luật Căn cước 2023"
            ),
            RecordLookupAnswer("l2", "l1", G01, True, at(15)),
            RecordDossierReceived(
                "y1", LATE, "p", G12, 3, "", at(16), working_days=1, at="2026-06-01T09:00+07:00"
            ),
            RecordDossierStatus("y2", LATE, 5, G12, "thiếu giấy tờ", at(16)),  # and ClockPaused
            RecordDossierStatus("y3", LATE, 4, G12, "", at(16)),  # and ClockResumed
            RecordDossierStatus("y4", LATE, 6, G12, "lệ phí", at(16), amount=50_000),
            RecordDossierStatus("y5", LATE, 4, G12, "", at(16)),
            RecordDossierStatus("y6", LATE, 9, G12, "", at(16)),  # and Judged
            RecordDossierApology("y7", LATE, G12, "2026-06-20", "quá tải", at(16)),
            RecordPostalOrder("y8", LATE, "o-1", "delivery", G12, POST, at(16)),
            RecordPostalTracking("y9", LATE, "o-1", 3, "", POST, at(16), at(16)),
            RecordLookup(
                "l3",
                G15,
                "cán bộ A",
                "xác minh",
                "ab" * 32,
                at(16),
                "Luật Căn cước 2023",
                refused_code="attribute_not_allowed",
                refused_reason="attributes: sex",
            ),
        ]
    )
    assert all(type(o).__name__ == "Recorded" for o in outcomes), outcomes


def test_every_event_type_is_counted_for_a_member(ledger: Ledger) -> None:
    _every_kind_of_event(ledger)
    events = [event for page in pages(ledger) for _, event in page]
    event_types = {type(e).__qualname__ for e in events}
    declared = {
        f"{aggregate.__name__}.{name}"
        for aggregate in MessageAggregate.__subclasses__()
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and name not in {"Created", "Event"}
    }
    assert declared <= event_types, declared - event_types  # the sample covers them all
    assert [type(e).__qualname__ for e in events if fact_of(e).member == UNKNOWN_MEMBER] == []
    assert scan_ledger(ledger).by_member() == {
        G01: 6 + 1,  # its registry history, and the answer it gave
        G15: 4 + 1 + 1 + 2,  # four routings to it, its dossier status, its look-ups (one refused)
        G22: 4 + 3 + 1,  # four documents sent, the three that revoked/updated/replaced, a refusal
        H49: 4 + 1 + 1 + 2,  # four routings, a delivery, a status, receiving and handing on
        # received; 5 statuses, 2 pauses, 2 resumptions, an obligation, the verdict, the
        # apology, the postal order and the status 10 its delivery made
        G12: 1 + 5 + 2 + 2 + 1 + 1 + 1 + 1 + 1,
        POST: 1,  # the tracking event
    }


def test_days_are_vietnamese_days(ledger: Ledger) -> None:
    late = b.document("m1", "d1")
    # 18:30 UTC on the 9th is 01:30 on the 10th in Hà Nội.
    ledger.record([replace(late, received_at="2026-06-09T18:30:00.000+00:00")])
    ledger.record([b.document("m2", "d2")])  # 08:00 on the 9th in Hà Nội
    assert scan_ledger(ledger).by_day() == {"2026-06-09": 3, "2026-06-10": 3}


@pytest.mark.parametrize(
    ("received_at", "day"),
    [
        ("2026-11-24T16:59:59.999+00:00", "2026-11-24"),  # 23:59:59.999 in Hà Nội
        ("2026-11-24T17:00:00.000+00:00", "2026-11-25"),  # midnight in Hà Nội
        ("2026-11-24T23:30:00.000+07:00", "2026-11-24"),  # another form: parsed
        ("2026-11-24T17:00:00", "2026-11-25"),  # no offset: UTC
    ],
)
def test_an_events_day_is_its_vietnamese_day_whatever_the_form(received_at: str, day: str) -> None:
    from types import SimpleNamespace

    event = SimpleNamespace(received_at=received_at, sender="000.00.00.G22")
    assert fact_of(event).day == day
