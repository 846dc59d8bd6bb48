"""Ledger statistics: how many events of each type, for each member, on each day.

One fact per event: its type (`Document.Sent`), the member it concerns (the one who acted:
sender, reporter, recipient of a routing or delivery, requester, the member a registry
change is about) and the day the hub received it, in Vietnamese time, because the people
reading these figures count days in Hà Nội, not in UTC. `scan` computes them from the events
alone; the statistics projection (`ledger.projections`) keeps the same rows incrementally,
and tests hold the two equal.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.application import Ledger
from ledger.replay import VIETNAM, Progress, pages, received_at

# Which field names the member an event concerns, first match wins. Every event class in
# the ledger has one of them (tests check that, so a new event cannot be counted as "-").
MEMBER_FIELDS = (
    "sender",
    "reporter",
    "recipient",
    "by_member",
    "claimed_sender",
    "requester",
    "answered_by",
    "from_agency",
    "by",
    "receiver",
    "code",
)
UNKNOWN_MEMBER = "-"


@dataclass(frozen=True, order=True)
class Fact:
    day: str
    member: str
    event_type: str


def fact_of(event: Any) -> Fact:
    member = UNKNOWN_MEMBER
    for name in MEMBER_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, str) and value:
            member = value
            break
    return Fact(_vietnam_day(event), member, type(event).__qualname__)


def _vietnam_day(event: Any) -> str:
    """The day in Hà Nội the hub received the message. Vietnam's offset is whole hours, so
    the day is the same for every instant of one UTC hour: a receive time in the hub's own
    form (`2026-11-24T23:40:12.123+00:00`) is looked up by its hour, a view of every event
    otherwise parsing a timestamp apiece; any other form is parsed."""
    raw = getattr(event, "received_at", None)
    if isinstance(raw, str) and len(raw) > 13 and raw[13] == ":" and raw.endswith("+00:00"):
        return _day_of_utc_hour(raw[:13])
    return received_at(event).astimezone(VIETNAM).date().isoformat()


@functools.lru_cache(maxsize=4096)
def _day_of_utc_hour(hour: str) -> str:
    instant = datetime.fromisoformat(hour + ":00:00+00:00")
    return instant.astimezone(VIETNAM).date().isoformat()


@dataclass
class Stats:
    """Counts per (day, member, event type), and the views the CLI prints."""

    counts: Counter[Fact] = field(default_factory=Counter)

    def add(self, events: Iterable[Any]) -> None:
        self.counts.update(fact_of(e) for e in events)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _by(self, key: Callable[[Fact], str]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for fact, count in self.counts.items():
            out[key(fact)] += count
        return dict(sorted(out.items()))

    def by_type(self) -> dict[str, int]:
        return self._by(lambda f: f.event_type)

    def by_member(self) -> dict[str, int]:
        return self._by(lambda f: f.member)

    def by_day(self) -> dict[str, int]:
        return self._by(lambda f: f.day)

    def rows(self) -> list[tuple[str, str, str, int]]:
        return [(f.day, f.member, f.event_type, n) for f, n in sorted(self.counts.items())]


def scan(events: Iterable[Any]) -> Stats:
    """Statistics from domain events (e.g. every event of the notification log)."""
    stats = Stats()
    stats.add(events)
    return stats


def scan_ledger(ledger: Ledger, progress: Progress | None = None) -> Stats:
    """Statistics of the whole ledger, read from the events (slow, always right)."""
    stats = Stats()
    total = ledger.size()
    for page in pages(ledger):
        stats.add(event for _, event in page)
        if progress is not None:
            progress(page[-1][0], total)
    return stats
