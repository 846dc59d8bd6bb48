"""Ledger positions (notification ids) of one aggregate's events.

eventsourcing gives positions when events are saved, and in the notification log, but not
per aggregate; trace and duplicate handling need "where is version v of aggregate X in the
global order". Both backends keep that in the events table, so we ask it directly, read-only.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder


def positions_of(recorder: ApplicationRecorder, originator_id: UUID) -> dict[int, int]:
    """Map originator_version -> notification id for every stored event of one aggregate."""
    datastore: Any = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if datastore is None or table is None:
        raise TypeError(f"cannot read positions from {type(recorder).__name__}")
    module = type(recorder).__module__
    if module.endswith("sqlite"):
        sql = f"SELECT rowid AS position, originator_version FROM {table} WHERE originator_id=?"
        key: object = originator_id.hex
    elif module.endswith("postgres"):
        schema = getattr(datastore, "schema", "public")
        sql = (
            f'SELECT notification_id AS position, originator_version FROM "{schema}"."{table}" '
            "WHERE originator_id=%s"
        )
        key = originator_id
    else:
        raise TypeError(f"cannot read positions from {type(recorder).__name__}")
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(sql, (key,))
        rows = cursor.fetchall()
    return {int(row["originator_version"]): int(row["position"]) for row in rows}
