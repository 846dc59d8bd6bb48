"""The Dossier aggregate as the national portal's state machine, with its working-day clock,
recorded through the Ledger on SQLite (what the hub does)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.commands import (
    Command,
    Outcome,
    RecordDossierApology,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    Recorded,
    RecordPostalOrder,
    RecordPostalTracking,
    Refused,
)
from ledger.dossier import NEXT, STATUSES
from ledger.levels import parse_levels, vietnam_levels
from ledger.storage import SqliteStorage
from tests.support import POST

COMMUNE, PROVINCE, MINISTRY = "000.01.01.H49", "000.00.00.H49", "000.00.00.G15"
CODE = "000.01.01.H49-260428-0001"
# The hub received everything long after the agencies acted (their `at` is what counts).
HUB = "2026-11-24T08:00:00.000+00:00"


def vn(day: str, hour: int = 9) -> str:
    return f"{day}T{hour:02d}:00:00+07:00"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


class Steps:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.n = 0

    def __call__(self, make: type, *args: object, **kwargs: object) -> Outcome:
        self.n += 1
        command: Command = make(f"m{self.n}", CODE, *args, **kwargs)
        return self.ledger.record([command])[0]

    def ok(self, make: type, *args: object, **kwargs: object) -> Recorded:
        outcome = self(make, *args, **kwargs)
        assert isinstance(outcome, Recorded), outcome
        return outcome

    def refused(self, code: str, make: type, *args: object, **kwargs: object) -> Refused:
        outcome = self(make, *args, **kwargs)
        assert isinstance(outcome, Refused) and outcome.code == code, outcome
        return outcome


def receive(steps: Steps, day: str = "2026-04-28", working_days: int = 3) -> Recorded:
    return steps.ok(
        RecordDossierReceived,
        "1.011442.000.00.00.H49",
        COMMUNE,
        1,
        "",
        HUB,
        owner="Nguyễn Văn A",
        working_days=working_days,
        at=vn(day),
        documents=("don.pdf " + "ab" * 32,),
        fees=30_000,
    )


def test_the_due_date_counts_working_days_across_the_holiday(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)  # Tuesday 28/4/2026; 30/4 and 1/5 are holidays, then a weekend
    assert ledger.dossier(CODE).due_date == "2026-05-05"


@pytest.mark.parametrize(
    ("finished", "verdict"),
    [("2026-05-04", "early"), ("2026-05-05", "on_time"), ("2026-05-06", "late")],
)
def test_finishing_judges_early_on_time_or_late(
    ledger: Ledger, finished: str, verdict: str
) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.ok(RecordDossierStatus, 9, COMMUNE, "", HUB, at=vn(finished))
    assert (ledger.dossier(CODE).verdict, ledger.dossier(CODE).finished_on) == (verdict, finished)


def test_a_supplement_pauses_the_clock_by_the_working_days_waited(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.ok(RecordDossierTransfer, COMMUNE, PROVINCE, "liên thông", HUB, at=vn("2026-04-29"))
    steps.ok(RecordDossierStatus, 5, PROVINCE, "thiếu sổ hộ khẩu", HUB, at=vn("2026-04-29"))
    assert ledger.dossier(CODE).paused_since == "2026-04-29"
    supplied = ("so_ho_khau.pdf " + "cd" * 32,)
    steps.ok(RecordDossierStatus, 4, PROVINCE, "", HUB, at=vn("2026-05-05"), documents=supplied)
    dossier = ledger.dossier(CODE)
    # Waited 4/5 and 5/5 (30/4, 1/5 and the weekend are no working days): due 5/5 -> 7/5.
    assert (dossier.paused_working_days, dossier.due_date) == (2, "2026-05-07")
    assert dossier.documents[-1] == supplied[0]
    steps.ok(RecordDossierStatus, 9, PROVINCE, "", HUB, at=vn("2026-05-07"))
    assert ledger.dossier(CODE).verdict == "on_time"  # late without the pause


def test_an_obligation_needs_an_amount_and_pauses_the_clock_too(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.refused("invalid_amount", RecordDossierStatus, 6, COMMUNE, "lệ phí", HUB)
    steps.ok(RecordDossierStatus, 6, COMMUNE, "lệ phí trước bạ", HUB, at=vn("2026-04-29"), amount=1)
    assert ledger.dossier(CODE).obligations == [(1, "lệ phí trước bạ")]
    steps.ok(RecordDossierStatus, 4, COMMUNE, "đã nộp", HUB, at=vn("2026-05-04"))
    assert ledger.dossier(CODE).due_date == "2026-05-06"


# Every pair (from, to) the portal's table does not allow is refused, naming the field.
ILLEGAL = [(a, b) for a in (1, 2, 4, 5, 6, 9) for b in STATUSES if b not in NEXT[a] and b != a]


def _reach(steps: Steps, status: int) -> None:
    """Bring a fresh dossier to `status` through legal steps."""
    start = 1 if status == 1 else 2
    steps.ok(RecordDossierReceived, "p", COMMUNE, 2, "", HUB, working_days=3, status=start)
    path = {1: [], 2: [], 4: [4], 5: [5], 6: [6], 9: [9]}[status]
    for s in path:
        steps.ok(RecordDossierStatus, s, COMMUNE, "", HUB, amount=1)


@pytest.mark.parametrize(("before", "after"), ILLEGAL)
def test_illegal_transitions_are_refused(ledger: Ledger, before: int, after: int) -> None:
    steps = Steps(ledger)
    _reach(steps, before)
    refused = steps.refused(
        "illegal_transition", RecordDossierStatus, after, COMMUNE, "", HUB, amount=1
    )
    assert refused.reason.startswith("status: ")
    assert ledger.dossier(CODE).status == before


@pytest.mark.parametrize("closed", [3, 7, 8])
def test_closed_dossiers_take_nothing_more(ledger: Ledger, closed: int) -> None:
    steps = Steps(ledger)
    _reach(steps, 1 if closed == 3 else 2)
    steps.ok(RecordDossierStatus, closed, COMMUNE, "", HUB)
    steps.refused("illegal_transition", RecordDossierStatus, 4, COMMUNE, "", HUB)
    steps.refused("illegal_transition", RecordDossierTransfer, COMMUNE, PROVINCE, "", HUB)


def test_only_the_holder_acts_and_time_never_goes_backwards(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.refused("not_the_holder", RecordDossierStatus, 4, PROVINCE, "", HUB)
    steps.refused("not_the_holder", RecordDossierTransfer, PROVINCE, MINISTRY, "", HUB)
    steps.refused("same_agency", RecordDossierTransfer, COMMUNE, COMMUNE, "", HUB)
    steps.refused(
        "time_goes_backwards", RecordDossierStatus, 4, COMMUNE, "", HUB, at=vn("2026-04-27")
    )
    steps.refused("signed_in_future", RecordDossierStatus, 4, COMMUNE, "", HUB, at=vn("2027-01-01"))
    steps.refused("invalid_time", RecordDossierStatus, 4, COMMUNE, "", HUB, at="28/04/2026")
    # Commune -> province -> ministry, each hearing of what happens after it.
    transferred = steps.ok(RecordDossierTransfer, COMMUNE, PROVINCE, "", HUB, at=vn("2026-04-28"))
    assert transferred.route_to == (PROVINCE,)
    onward = steps.ok(RecordDossierTransfer, PROVINCE, MINISTRY, "", HUB, at=vn("2026-04-29"))
    assert set(onward.route_to) == {COMMUNE, MINISTRY}
    assert ledger.dossier(CODE).transfers == [(COMMUNE, PROVINCE), (PROVINCE, MINISTRY)]


def test_a_late_result_needs_the_apology_and_a_new_appointment(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.refused(
        "not_late", RecordDossierApology, COMMUNE, "2026-05-20", "", HUB, at=vn("2026-05-04")
    )
    steps.ok(RecordDossierStatus, 9, COMMUNE, "", HUB, at=vn("2026-05-08"))
    assert ledger.dossier(CODE).verdict == "late"
    steps.refused("apology_required", RecordDossierStatus, 10, COMMUNE, "", HUB)
    steps.refused("apology_required", RecordPostalOrder, "o1", "delivery", COMMUNE, POST, HUB)
    steps.refused("invalid_date", RecordDossierApology, COMMUNE, "2026-05-05", "", HUB)
    steps.ok(RecordDossierApology, COMMUNE, "2026-05-12", "quá tải", HUB, at=vn("2026-05-08"))
    steps.ok(RecordDossierStatus, 10, COMMUNE, "trả trực tiếp", HUB, at=vn("2026-05-12"))
    assert ledger.dossier(CODE).view()["new_appointment"] == "2026-05-12"


def test_a_result_delivered_by_post_is_returned(ledger: Ledger) -> None:
    steps = Steps(ledger)
    receive(steps)
    steps.refused("illegal_transition", RecordPostalOrder, "o1", "delivery", COMMUNE, POST, HUB)
    steps.ok(RecordDossierStatus, 9, COMMUNE, "", HUB, at=vn("2026-05-04"))
    ordered = steps.ok(RecordPostalOrder, "o1", "delivery", COMMUNE, POST, HUB)
    assert ordered.route_to == (POST,)
    steps.refused("duplicate_order", RecordPostalOrder, "o1", "delivery", COMMUNE, POST, HUB)
    steps.refused("not_the_operator", RecordPostalTracking, "o1", 1, "", COMMUNE, "", HUB)
    steps.refused("unknown_order", RecordPostalTracking, "o2", 1, "", POST, "", HUB)
    steps.ok(RecordPostalTracking, "o1", 2, "đang phát", POST, vn("2026-05-05"), HUB)
    steps.refused("illegal_transition", RecordPostalTracking, "o1", 1, "", POST, "", HUB)
    tracked = steps.ok(RecordPostalTracking, "o1", 3, "đã phát", POST, vn("2026-05-06"), HUB)
    assert tracked.route_to == (COMMUNE,)
    dossier = ledger.dossier(CODE)
    assert (dossier.status, dossier.orders["o1"]["state"]) == (10, 3)
    assert len(tracked.entries) == 2  # PostalTracked and StatusChanged(10)


def test_a_redelivered_message_is_recorded_once(ledger: Ledger) -> None:
    steps = Steps(ledger)
    first = receive(steps)
    again = ledger.record(
        [RecordDossierReceived("m1", CODE, "x", COMMUNE, 1, "", HUB, working_days=3)]
    )[0]
    assert isinstance(again, Recorded) and again.duplicate and again.position == first.position


def test_levels_are_data_for_both_schemes() -> None:
    levels = vietnam_levels()
    after, before = date(2026, 1, 1), date(2025, 3, 1)
    assert [levels.level_of(c, after) for c in (COMMUNE, PROVINCE, MINISTRY)] == [
        "commune",
        "province",
        "central",
    ]
    assert levels.level_of("000.12.00.H49", before) == "district"
    assert levels.level_of("000.12.00.H49", after) == "commune"
    assert levels.level_of(POST, after) == "enterprise"
    reform = parse_levels(
        '[[schemes]]\nname="x"\nlevels=["central","region"]\ntop={G="central",H="region"}\n'
        'depth={1="region"}\n'
    )
    assert reform.level_of(COMMUNE, after) == "unknown"  # two groups deep: not in that data
