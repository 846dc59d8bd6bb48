"""Working days in Vietnam: weekends, public holidays and make-up days, as data per year.

Administrative deadlines (NĐ 61/2018, NĐ 118/2025) count working days of the receiving
agency, in Asia/Ho_Chi_Minh dates. The holidays are not computed (the lunar new year and the
swapped days are decided each year by the government): they are read from
`ledger/data/holidays_vn.toml`, and a date in a year that file does not cover is refused
rather than guessed.

Pure functions over dates; the ledger computes due dates with them when a command is
applied and stores the result in the event, so replaying old events never depends on
today's calendar file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from ledger.errors import LedgerError

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SATURDAY = 5


class CalendarError(LedgerError, ValueError):
    """The calendar data is malformed, or does not cover the date asked about."""


class Timeliness(StrEnum):
    """How a dossier's result came compared with its due date (trước hạn / đúng hạn / quá hạn)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


@dataclass(frozen=True)
class WorkingCalendar:
    years: frozenset[int]
    days_off: frozenset[date]
    working_weekends: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarError(
                f"the holiday calendar has no year {day.year} (it covers "
                f"{', '.join(map(str, sorted(self.years)))})"
            )
        if day.weekday() >= SATURDAY:
            return day in self.working_weekends
        return day not in self.days_off

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the day of receipt does not count)."""
        if days < 0:
            raise CalendarError(f"working days must not be negative, not {days}")
        day = start
        while days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (0 when end is not after start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def parse_calendar(text: str, source: str = "<calendar>") -> WorkingCalendar:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CalendarError(f"{source}: not valid TOML: {error}") from None
    years: set[int] = set()
    days_off: set[date] = set()
    weekends: set[date] = set()
    for key, table in raw.items():
        if not key.isdigit() or not isinstance(table, dict):
            raise CalendarError(f"{source}: [{key}] is not a year table")
        year = int(key)
        years.add(year)
        for name, target, weekend in (
            ("days_off", days_off, False),
            ("working_weekends", weekends, True),
        ):
            for text_day in table.get(name, []):
                day = _day(text_day, f"{source}: [{key}].{name}")
                if day.year != year:
                    raise CalendarError(f"{source}: [{key}].{name}: {day} is not in {year}")
                if (day.weekday() >= SATURDAY) != weekend:
                    kind = "a weekend day" if weekend else "a weekday"
                    raise CalendarError(f"{source}: [{key}].{name}: {day} is not {kind}")
                target.add(day)
    if not years:
        raise CalendarError(f"{source}: no year")
    return WorkingCalendar(frozenset(years), frozenset(days_off), frozenset(weekends))


def _day(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(f"{where}: {value!r} is not a yyyy-mm-dd date") from None


@cache
def vietnam_calendar() -> WorkingCalendar:
    """The calendar shipped with the ledger (ledger/data/holidays_vn.toml)."""
    source = resources.files("ledger").joinpath("data/holidays_vn.toml")
    return parse_calendar(source.read_text(encoding="utf-8"), "holidays_vn.toml")


def vietnam_date(instant: str) -> date:
    """The Vietnamese calendar date of an ISO 8601 instant (one without offset is taken as
    Vietnamese time, as the national portal writes its times)."""
    try:
        parsed = datetime.fromisoformat(instant)
    except ValueError:
        raise CalendarError(f"{instant!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        return parsed.date()
    return parsed.astimezone(VIETNAM_TZ).date()


def judge(done_on: date, due_on: date) -> Timeliness:
    """Early before the due date, on time on it, late after it."""
    if done_on < due_on:
        return Timeliness.EARLY
    if done_on == due_on:
        return Timeliness.ON_TIME
    return Timeliness.LATE
