"""Ledger positions (notification ids) of one aggregate's events.

eventsourcing gives positions when events are saved, and in the notification log, but not
per aggregate; trace, replay and duplicate handling need "where is version v of aggregate X
in the global order". Both backends keep that in the events table, so we ask it directly,
read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification


def _select(recorder: ApplicationRecorder, columns: str) -> tuple[Any, str, str]:
    """The datastore, a statement selecting `columns` plus the position for one
    originator, and the placeholder style, for the backend `recorder` uses."""
    datastore: Any = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if datastore is None or table is None:
        raise TypeError(f"cannot read positions from {type(recorder).__name__}")
    module = type(recorder).__module__
    if module.endswith("sqlite"):
        return datastore, f"SELECT rowid AS position, {columns} FROM {table} ", "?"
    if module.endswith("postgres"):
        schema = getattr(datastore, "schema", "public")
        return (
            datastore,
            f'SELECT notification_id AS position, {columns} FROM "{schema}"."{table}" ',
            "%s",
        )
    raise TypeError(f"cannot read positions from {type(recorder).__name__}")


def _key(recorder: ApplicationRecorder, originator_id: UUID) -> object:
    return originator_id.hex if type(recorder).__module__.endswith("sqlite") else originator_id


def positions_of(recorder: ApplicationRecorder, originator_id: UUID) -> dict[int, int]:
    """Map originator_version -> notification id for every stored event of one aggregate."""
    datastore, sql, mark = _select(recorder, "originator_version")
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(sql + f"WHERE originator_id={mark}", (_key(recorder, originator_id),))
        rows = cursor.fetchall()
    return {int(row["originator_version"]): int(row["position"]) for row in rows}


def stored_of(recorder: ApplicationRecorder, originator_id: UUID) -> list[Notification]:
    """Every stored event of one aggregate with its position, in version order."""
    datastore, sql, mark = _select(recorder, "originator_version, topic, state")
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(
            sql + f"WHERE originator_id={mark} ORDER BY originator_version",
            (_key(recorder, originator_id),),
        )
        rows = cursor.fetchall()
    return [
        Notification(
            id=int(row["position"]),
            originator_id=originator_id,
            originator_version=int(row["originator_version"]),
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        for row in rows
    ]


def existing(recorder: ApplicationRecorder, originator_ids: Iterable[UUID]) -> set[UUID]:
    """Which of `originator_ids` have any stored event: one query for a whole batch, so
    that new aggregates (most of a batch) cost no read each."""
    ids = list(dict.fromkeys(originator_ids))
    if not ids:
        return set()
    datastore, sql, mark = _select(recorder, "originator_id")
    sqlite = type(recorder).__module__.endswith("sqlite")
    found: set[UUID] = set()
    with datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            if sqlite:
                marks = ",".join(mark for _ in chunk)
                cursor.execute(
                    sql + f"WHERE originator_id IN ({marks}) AND originator_version=1",
                    [i.hex for i in chunk],
                )
            else:
                cursor.execute(
                    sql + f"WHERE originator_id = ANY({mark}) AND originator_version=1", (chunk,)
                )
            found.update(UUID(str(row["originator_id"])) for row in cursor.fetchall())
    return found
