"""Dossier figures as officials publish them (DOMAIN.md section 6): per agency (or level of
government) and per period, how many dossiers were received, transferred on, taken over
from another agency, finished early / on time / late, and returned, with the on-time rate.

A pure fold over Dossier events, dated by the agency's own time of each act (`at`) in
Vietnamese time; finishing counts for the agency that finished, judged by the verdict the
ledger recorded then (clock pauses included).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.calendar import vietnam_date
from ledger.levels import Levels, vietnam_levels

PERIODS = ("day", "month", "year")
GROUPINGS = ("agency", "level")
COLUMNS = (
    "received",
    "transferred",
    "taken_over",
    "finished",
    "early",
    "on_time",
    "late",
    "returned",
)


def period_of(day: date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "month":
        return day.isoformat()[:7]
    return str(day.year)


@dataclass
class DossierStats:
    period: str = "month"
    by: str = "agency"
    levels: Levels = field(default_factory=vietnam_levels)
    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def _add(self, agency: str, day: date, column: str) -> None:
        key = self.levels.level_of(agency, day) if self.by == "level" else agency
        row = self.counts.setdefault((period_of(day, self.period), key), Counter())
        row[column] += 1

    def add(self, event: Any) -> None:
        name = type(event).__qualname__
        if not name.startswith("Dossier."):
            return
        at = getattr(event, "at", "") or getattr(event, "received_at", "")
        day = vietnam_date(at) if at else None
        if name == "Dossier.Received" and day is not None:
            self._add(event.receiver, day, "received")
        elif name == "Dossier.Transferred" and day is not None:
            self._add(event.from_agency, day, "transferred")
            self._add(event.to_agency, day, "taken_over")
        elif name == "Dossier.Judged":
            finished = date.fromisoformat(event.finished_on)
            self._add(event.by, finished, "finished")
            self._add(event.by, finished, event.verdict)
        elif name == "Dossier.StatusChanged" and day is not None and event.status == 10:
            self._add(event.by, day, "returned")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for (period, key), row in sorted(self.counts.items()):
            judged = row["early"] + row["on_time"] + row["late"]
            rate = (row["early"] + row["on_time"]) / judged if judged else None
            out.append(
                {
                    "period": period,
                    self.by: key,
                    **{c: row[c] for c in COLUMNS},
                    "on_time_rate": None if rate is None else round(rate, 4),
                }
            )
        return out


def dossier_stats(
    events: Iterable[Any], *, period: str = "month", by: str = "agency"
) -> DossierStats:
    stats = DossierStats(period=period, by=by)
    for event in events:
        stats.add(event)
    return stats
