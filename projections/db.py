"""A thin connection layer for the read tables, in the same database as the events.

SQLite: the ledger's own file (``ledger.persistence.store.sqlite_path``), WAL, one connection
per user at a time (a small LIFO pool). PostgreSQL: psycopg 3 with ``psycopg_pool``, every
connection's ``search_path`` set to the schema named by the URL's ``?schema=``, so table names
are written unqualified and the same SQL runs on both.

The dialect differences live here and nowhere else:

- SQL is written with ``?`` placeholders; :meth:`Tx.sql` turns them into ``%s`` for psycopg.
- Table slots ``{audit}`` are filled from the generation's physical names (see ``catalog``).
- ``INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x`` is spelled the same on both.
- :attr:`Tx.for_share` / :attr:`Tx.for_update` are row-lock suffixes on PostgreSQL and empty
  on SQLite, whose writers are serialised by ``BEGIN IMMEDIATE`` instead.
- Column types are ``TEXT`` and ``BIGINT`` only: money is a decimal string, time an ISO 8601
  UTC string of fixed width (so text order is time order), booleans are 0/1.
- Set-wise statements (:meth:`Tx.select_in`, :meth:`Tx.insert_rows`, :meth:`Tx.upsert_rows`,
  :meth:`Tx.delete_in`) cost one round trip for thousands of rows on PostgreSQL: array
  parameters (``= ANY``, binary ``unnest``) and ``COPY`` for inserts; on SQLite, which runs
  in-process, they are chunked ``IN (...)`` lists and ``executemany``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ledger.persistence.store import backend, pg_params, postgres, sqlite_path
from ledger.settings import Settings
from projections.errors import ProjectionNotReady

Row = dict[str, Any]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgres"]
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
BUSY_TIMEOUT_S = 10.0
SQLITE_CHUNK = 500  # values per ``IN (...)`` list: far under SQLite's variable limit
COPY_FROM = 16  # rows from which an insert goes through COPY (below: one INSERT statement)


@dataclass(frozen=True)
class Target:
    """Where the read tables live."""

    dialect: Dialect
    path: Path | None = None
    connect_kwargs: Mapping[str, Any] = field(default_factory=dict)
    schema: str = ""


def target_of(settings: Settings) -> Target:
    kind = backend(settings)
    if kind == "sqlite":
        return Target("sqlite", path=sqlite_path(settings))
    if kind != "postgres":
        raise ProjectionNotReady("the read side needs SQLite or PostgreSQL", backend=kind)
    schema = postgres(settings).schema
    if schema and not IDENTIFIER.match(schema):
        raise ProjectionNotReady("the schema name must be a plain identifier", schema=schema)
    kwargs = pg_params(settings, search_path=True)
    return Target("postgres", connect_kwargs=kwargs, schema=schema)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


class Tx:
    """One transaction: ``?`` placeholders, ``{slot}`` table names, rows as dicts."""

    def __init__(self, conn: Any, dialect: Dialect, names: Mapping[str, str] | None = None):
        self._conn = conn
        self.dialect = dialect
        self.names: Mapping[str, str] = names or {}
        pg = dialect == "postgres"
        self.for_share = " FOR SHARE" if pg else ""
        self.for_update = " FOR UPDATE" if pg else ""

    def with_names(self, names: Mapping[str, str]) -> Tx:
        return Tx(self._conn, self.dialect, {**self.names, **names})

    def sql(self, template: str) -> str:
        text = template.format_map(self.names) if "{" in template else template
        if self.dialect == "postgres":
            assert "%" not in text, "a literal % would be read as a psycopg placeholder"
            text = text.replace("?", "%s")
        return text

    def execute(self, template: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cur = self._conn.execute(self.sql(template), tuple(params))
        return int(cur.rowcount)

    def executemany(self, template: str, rows: Sequence[Params]) -> None:
        if rows:
            cur = self._conn.cursor()
            cur.executemany(self.sql(template), [tuple(r) for r in rows])

    def one(self, template: str, params: Params = ()) -> Row | None:
        row: Row | None = self._conn.execute(self.sql(template), tuple(params)).fetchone()
        return row

    def all(self, template: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self._conn.execute(self.sql(template), tuple(params)).fetchall()
        return rows

    def columns(self, table: str) -> tuple[str, ...]:
        """The column names of ``table``, in table order (none: no such table)."""
        if self.dialect == "postgres":
            query = (
                "SELECT column_name AS name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position"
            )
        else:
            query = "SELECT name FROM pragma_table_info(?) ORDER BY cid"
        return tuple(str(r["name"]) for r in self.all(query, (table,)))

    def scalar(self, template: str, params: Params = ()) -> Any:
        row = self.one(template, params)
        return None if row is None else next(iter(row.values()))

    # Set-wise statements: a table slot, column names and types, many rows at once

    def select_in(self, slot: str, column: str, values: Collection[Any]) -> list[Row]:
        """Every row of table ``slot`` whose ``column`` is one of ``values``."""
        if not values:
            return []
        head = "SELECT * FROM {" + slot + "} WHERE " + column  # noqa: S608 - slots and columns are constants of this package; values are bound
        if self.dialect == "postgres":
            return self.all(head + " = ANY(?)", (list(values),))
        rows: list[Row] = []
        items = list(values)
        for i in range(0, len(items), SQLITE_CHUNK):
            chunk = items[i : i + SQLITE_CHUNK]
            rows += self.all(head + " IN (" + ", ".join("?" * len(chunk)) + ")", chunk)
        return rows

    def delete_in(self, slot: str, column: str, values: Collection[Any]) -> None:
        """Delete the rows of ``slot`` whose ``column`` is one of ``values``."""
        if not values:
            return
        head = "DELETE FROM {" + slot + "} WHERE " + column  # noqa: S608 - slots and columns are constants of this package; values are bound
        if self.dialect == "postgres":
            self.execute(head + " = ANY(?)", (list(values),))
            return
        self.executemany(head + " = ?", [(v,) for v in values])

    def insert_rows(
        self, slot: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert ``rows`` (values in the order of ``columns``, a name -> SQL type map):
        ``COPY`` on PostgreSQL, the fastest way in (a taken key fails as an INSERT would)."""
        if not rows:
            return
        head = "{" + slot + "} (" + ", ".join(columns) + ")"
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        if self.dialect == "sqlite":
            self.executemany("INSERT INTO " + head + " VALUES " + marks, rows)  # noqa: S608 - slots and columns are constants of this package; values are bound
            return
        if len(rows) < COPY_FROM:  # a live batch of a few events: COPY costs more than it saves
            values = ", ".join([marks] * len(rows))
            self.execute("INSERT INTO " + head + " VALUES " + values, [v for r in rows for v in r])  # noqa: S608 - slots and columns are constants of this package; values are bound
            return
        with self._conn.cursor().copy(self.sql("COPY " + head + " FROM STDIN")) as copy:
            for row in rows:
                copy.write_row(row)

    def upsert_rows(
        self,
        slot: str,
        columns: Mapping[str, str],
        key: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows``, or overwrite every column of the row with the same ``key``."""
        if not rows:
            return
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        head = "INSERT INTO {" + slot + "} (" + ", ".join(columns) + ") "
        tail = " ON CONFLICT (" + ", ".join(key) + ") DO UPDATE SET " + sets
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            self.executemany(head + "VALUES (" + marks + ")" + tail, rows)
            return
        # One statement, one array per column, sent in binary (no text quoting of each
        # value): ``unnest`` zips them back into rows.
        arrays = ", ".join(f"%b::{kind}[]" for kind in columns.values())
        text = self.sql(head) + "SELECT * FROM unnest(" + arrays + ")" + self.sql(tail)  # noqa: S608 - slots and columns are constants of this package; values are bound
        self._conn.execute(text, [list(column) for column in zip(*rows, strict=True)])


class Session:
    """One connection used by one thread at a time: a runner's, or one lent by the pool."""

    def __init__(self, conn: Any, dialect: Dialect, release: Callable[[Session], None]):
        self.conn = conn
        self.dialect = dialect
        self._release = release

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        """A transaction; on SQLite a writer takes the write lock first (``BEGIN IMMEDIATE``)
        so that it never has to upgrade a read snapshot and fail with SQLITE_BUSY."""
        if self.dialect == "postgres":
            with self.conn.transaction():
                yield Tx(self.conn, self.dialect)
            return
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Tx(self.conn, self.dialect)
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def close(self) -> None:
        self._release(self)


class Database:
    """The read tables' database: dedicated sessions for runners, a pool for queries."""

    def __init__(self, target: Target, *, pool_size: int = 4) -> None:
        self.target = target
        self.dialect: Dialect = target.dialect
        self._idle: list[Session] = []
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self._pool: ConnectionPool[Any] | None = None
        if self.dialect == "postgres":
            self._pool = ConnectionPool(
                kwargs={**target.connect_kwargs, "autocommit": True, "row_factory": dict_row},
                min_size=1,
                max_size=pool_size,
                open=True,
                name="ledger-read-side",
            )

    @classmethod
    def from_settings(cls, settings: Settings, *, pool_size: int = 4) -> Database:
        return cls(target_of(settings), pool_size=pool_size)

    # Connections

    def connect(self) -> Any:
        """A new raw connection (autocommit; transactions are explicit)."""
        if self.dialect == "postgres":
            return psycopg.connect(
                **self.target.connect_kwargs, autocommit=True, row_factory=dict_row
            )
        assert self.target.path is not None
        conn = sqlite3.connect(
            self.target.path,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = _dict_row
        conn.execute("PRAGMA journal_mode=WAL")
        # The tracking row rides in the same transaction as the view rows, so a commit lost
        # to a power cut is replayed, never half-applied: NORMAL is safe for the read side.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def session(self) -> Session:
        """A dedicated connection, closed by ``Session.close``."""
        return Session(self.connect(), self.dialect, lambda s: s.conn.close())

    @contextmanager
    def borrow(self) -> Iterator[Session]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield Session(conn, self.dialect, lambda s: None)
            return
        with self._lock:
            session = self._idle.pop() if self._idle else None
        if session is None:
            session = Session(self.connect(), self.dialect, self._give_back)
        try:
            yield session
        finally:
            session.close()

    def _give_back(self, session: Session) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(session)
                return
        session.conn.close()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        with self.borrow() as session, session.transaction(write=write) as tx:
            yield tx

    def stream(
        self,
        template: str,
        params: Params,
        *,
        names: Mapping[str, str] | None = None,
        size: int = 2000,
    ) -> Iterator[Row]:
        """Rows of one query, fetched ``size`` at a time in one read transaction: a
        server-side (named) cursor on PostgreSQL, ``fetchmany`` on SQLite."""
        with self.borrow() as session, session.transaction() as tx:
            text = tx.with_names(names or {}).sql(template)
            if self.dialect == "postgres":
                with session.conn.cursor(name="ledger_stream") as cur:
                    cur.itersize = size
                    cur.execute(text, tuple(params))
                    yield from cur
                return
            cur = session.conn.execute(text, tuple(params))
            try:
                while rows := cur.fetchmany(size):
                    yield from rows
            finally:
                cur.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            session.conn.close()
