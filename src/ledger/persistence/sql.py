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
        f"SELECT {col} AS position, originator_id, originator_version, topic, state "  # noqa: S608 - table and column names are the store's own; values are bound
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


class Snapshot:
    """One read-only transaction on the events' database: every query in it sees the store
    as it stood at the first read, so a long scan is never confused by concurrent appends.

    ``chunks`` streams a query's rows as tuples, ``size`` at a time, from a server-side
    cursor in binary format on PostgreSQL (no per-row hex decoding, no dicts) or
    ``fetchmany`` on SQLite; ``rows`` runs a small query on one reusable cursor.
    """

    def __init__(self, conn: Any, cur: Any, postgres: bool) -> None:
        self.conn, self.cur, self.postgres = conn, cur, postgres
        self.placeholder = "%s" if postgres else "?"
        self._open: list[Any] = []
        self._small: Any = None

    def _cursor(self, name: str | None = None) -> Any:
        if not self.postgres:
            return self.conn.cursor()
        from psycopg.rows import tuple_row

        if name is None:
            return self.conn.cursor(binary=True, row_factory=tuple_row)
        return self.conn.cursor(name=name, binary=True, row_factory=tuple_row)

    def chunks(self, sql: str, params: tuple[Any, ...], size: int) -> Iterator[list[Any]]:
        """The rows of ``sql`` in lists of ``size`` (the last one shorter, never empty)."""
        cur = self._cursor(f"ledger_scan_{len(self._open)}")
        self._open.append(cur)
        cur.execute(sql, params)
        while rows := cur.fetchmany(size):
            yield rows

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._small is None:
            self._small = self._cursor()
            self._open.append(self._small)
        self._small.execute(sql, params)
        return list(self._small.fetchall())

    def close(self) -> None:
        for cur in reversed(self._open):
            cur.close()
        self._open.clear()


@contextmanager
def snapshot(recorder: ApplicationRecorder) -> Iterator[Snapshot]:
    """A :class:`Snapshot` on one of the recorder's connections, rolled back at the end."""
    if isinstance(recorder, PostgresApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snap = Snapshot(cur.connection, cur, postgres=True)
            try:
                yield snap
            finally:
                snap.close()
    elif isinstance(recorder, SQLiteApplicationRecorder):
        # The library has begun a deferred transaction: in WAL mode its first read fixes
        # the snapshot every later statement on this connection sees.
        with recorder.datastore.transaction(commit=False) as cur:
            snap = Snapshot(cur.sqlite_cursor.connection, cur, postgres=False)
            try:
                yield snap
            finally:
                snap.close()
    else:
        raise TypeError(f"no SQL store behind {type(recorder).__name__}")
