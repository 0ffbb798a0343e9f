"""Plain SQL next to the library's recorder, on the recorder's own connections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder


@contextmanager
def cursor(recorder: ApplicationRecorder, *, commit: bool = False) -> Iterator[Any]:
    """A cursor in a transaction on the events' database (rolled back unless ``commit``)."""
    if isinstance(recorder, (SQLiteApplicationRecorder, PostgresApplicationRecorder)):
        with recorder.datastore.transaction(commit=commit) as cur:
            yield cur
    else:
        raise TypeError(f"no SQL store behind {type(recorder).__name__}")


def events_table(recorder: ApplicationRecorder) -> str:
    if isinstance(recorder, PostgresApplicationRecorder):
        return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    if isinstance(recorder, SQLiteApplicationRecorder):
        return recorder.events_table_name
    raise TypeError(f"no SQL store behind {type(recorder).__name__}")


def position_column(recorder: ApplicationRecorder) -> str:
    return "notification_id" if isinstance(recorder, PostgresApplicationRecorder) else "rowid"


def stream_events(
    recorder: ApplicationRecorder, batch: int = 5000, stop: int | None = None
) -> Iterator[tuple[int, Any, int, str, bytes]]:
    """Every stored event in log order as (position, aggregate id, version, topic, payload),
    read in keyset batches so memory stays flat; up to position ``stop`` when given."""
    table, col = events_table(recorder), position_column(recorder)
    ph = "%s" if isinstance(recorder, PostgresApplicationRecorder) else "?"
    bound = f"AND {col} <= {int(stop)} " if stop is not None else ""
    sql = (
        f"SELECT {col} AS position, originator_id, originator_version, topic, state "  # noqa: S608
        f"FROM {table} WHERE {col} > {ph} {bound}ORDER BY {col} LIMIT {int(batch)}"
    )
    last = 0
    while True:
        with cursor(recorder) as cur:
            cur.execute(sql, (last,))
            rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            yield int(r[0]), r[1], int(r[2]), r[3], as_bytes(r[4])
        last = int(rows[-1]["position"] if isinstance(rows[-1], dict) else rows[-1][0])


def as_bytes(value: Any) -> bytes:
    """Stored payload bytes (a tampered row may hold text instead of a blob)."""
    return value.encode() if isinstance(value, str) else bytes(value)
