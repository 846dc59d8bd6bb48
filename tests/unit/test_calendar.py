"""Working days in Vietnam: weekends, holidays and make-up days from the data file."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.calendar import (
    CalendarError,
    Timeliness,
    judge,
    parse_calendar,
    vietnam_calendar,
    vietnam_date,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "days", "due", "why"),
    [
        ("2026-06-08", 1, "2026-06-09", "Monday + 1 = Tuesday"),
        ("2026-06-12", 1, "2026-06-15", "Friday + 1 skips the weekend"),
        ("2026-06-12", 0, "2026-06-12", "no processing time: the day itself"),
        ("2026-04-28", 3, "2026-05-05", "30/4 and 1/5, then a weekend"),
        ("2026-04-24", 1, "2026-04-28", "Hùng Kings' day on Sunday: Monday 27/4 off"),
        ("2026-02-13", 1, "2026-02-23", "Tết Bính Ngọ: 16-20/2 off"),
        ("2025-04-25", 1, "2025-04-26", "Saturday 26/4/2025 is worked (swap for 2/5)"),
        ("2025-04-29", 1, "2025-05-05", "30/4 to 4/5/2025"),
        ("2026-12-31", 2, "2027-01-05", "New Year across two years"),
        ("2027-02-04", 1, "2027-02-12", "Tết Đinh Mùi with its compensatory days"),
    ],
)
def test_due_dates_skip_weekends_and_holidays(start: str, days: int, due: str, why: str) -> None:
    assert vietnam_calendar().add_working_days(D(start), days) == D(due), why


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        ("2026-06-08", "2026-06-08", 0),
        ("2026-06-08", "2026-06-10", 2),
        ("2026-06-12", "2026-06-15", 1),
        ("2026-04-29", "2026-05-04", 1),  # 30/4, 1/5 off, weekend, Monday counts
        ("2026-06-10", "2026-06-08", 0),
    ],
)
def test_working_days_between_counts_the_end_not_the_start(
    start: str, end: str, count: int
) -> None:
    assert vietnam_calendar().working_days_between(D(start), D(end)) == count


def test_a_year_not_in_the_data_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarError, match="no year 2031"):
        vietnam_calendar().add_working_days(D("2031-03-02"), 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[2026]\ndays_off = ["2026-06-13"]', "not a weekday"),
        ('[2026]\nworking_weekends = ["2026-06-12"]', "not a weekend day"),
        ('[2026]\ndays_off = ["2027-01-01"]', "is not in 2026"),
        ('[2026]\ndays_off = ["13/06/2026"]', "not a yyyy-mm-dd date"),
        ("[next]\ndays_off = []", "not a year table"),
        ("", "no year"),
    ],
)
def test_bad_calendar_data_is_refused_with_the_place(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_calendar(text)


def test_days_are_vietnamese_days_and_verdicts_follow_them() -> None:
    assert vietnam_date("2026-06-09T18:30:00+00:00") == D("2026-06-10")
    assert vietnam_date("2026-06-09T18:30:00") == D("2026-06-09")  # portal times: local
    assert judge(D("2026-06-09"), D("2026-06-10")) is Timeliness.EARLY
    assert judge(D("2026-06-10"), D("2026-06-10")) is Timeliness.ON_TIME
    assert judge(D("2026-06-11"), D("2026-06-10")) is Timeliness.LATE
