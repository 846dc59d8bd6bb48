"""Levels of government as data (ledger/data/admin_levels.toml), never a fixed chain.

A dossier may go commune -> province -> ministry under today's two-level local government,
or commune -> district -> province under the older three-level one; the level of each agency
a dossier passes through is read from the data for the date of the act, so traces and
statistics say which level decided, and a future reform is a data change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from ledger.errors import LedgerError

UNKNOWN = "unknown"


class LevelsError(LedgerError, ValueError):
    """The levels data is malformed."""


@dataclass(frozen=True)
class Scheme:
    name: str
    levels: tuple[str, ...]
    top: dict[str, str]
    depth: dict[int, str]
    central_depth: dict[int, str]
    since: date | None = None
    until: date | None = None

    def covers(self, day: date) -> bool:
        started = self.since is None or day >= self.since
        return started and (self.until is None or day < self.until)

    def level_of(self, code: str) -> str:
        groups = code.split(".")
        letter = groups[-1][:1]
        top = self.top.get(letter)
        if top is None or len(groups) != 4:
            return UNKNOWN
        deep = sum(1 for g in groups[:-1] if g.strip("0"))
        if deep == 0:
            return top
        table = self.central_depth if top == self.levels[0] else self.depth
        return table.get(deep, UNKNOWN)


@dataclass(frozen=True)
class Levels:
    schemes: tuple[Scheme, ...]
    agencies: dict[str, str] = field(default_factory=dict)

    def scheme(self, day: date) -> Scheme:
        for scheme in self.schemes:
            if scheme.covers(day):
                return scheme
        raise LevelsError(f"no level scheme covers {day}")

    def level_of(self, code: str, day: date) -> str:
        """The level of government of agency `code` on `day`."""
        return self.agencies.get(code) or self.scheme(day).level_of(code)


def parse_levels(text: str) -> Levels:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LevelsError(f"levels: not valid TOML: {error}") from None
    schemes = []
    for i, item in enumerate(raw.get("schemes", [])):
        try:
            schemes.append(
                Scheme(
                    name=str(item["name"]),
                    levels=tuple(str(x) for x in item["levels"]),
                    top={str(k): str(v) for k, v in item["top"].items()},
                    depth=_depths(item["depth"]),
                    central_depth=_depths(item.get("central_depth", {})),
                    since=_date(item.get("from")),
                    until=_date(item.get("until")),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise LevelsError(f"levels: schemes[{i}]: {error}") from None
    if not schemes:
        raise LevelsError("levels: no scheme")
    agencies = {str(k): str(v) for k, v in raw.get("agencies", {}).items()}
    return Levels(tuple(schemes), agencies)


def _depths(table: dict[str, Any]) -> dict[int, str]:
    return {int(k): str(v) for k, v in table.items()}


def _date(value: object) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@cache
def vietnam_levels() -> Levels:
    source = resources.files("ledger").joinpath("data/admin_levels.toml")
    return parse_levels(source.read_text(encoding="utf-8"))
