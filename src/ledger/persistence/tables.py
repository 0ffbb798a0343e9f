"""Tables of our own beside the event store, in the same database: one seam for SQLite
files, SQLite in memory (``memory://`` and ``sqlite:///:memory:``, tests only) and
PostgreSQL, with every statement run past connections that died unseen
(``ledger.persistence.retry``). What lives here is not evidence (no Merkle leaf covers it):
the name directory (``ledger.persistence.names``) keeps its tables through it.

Statements are written once with ``?`` placeholders and ``{t}``-style table names;
:meth:`SideTables.sql` turns them into the backend's (``%s``, the URL's schema on
PostgreSQL). The SQLite/PostgreSQL differences:

- placeholders, and the table's schema prefix on PostgreSQL;
- a transaction is ``BEGIN IMMEDIATE`` on SQLite (writers queue on the file lock), a psycopg
  transaction on PostgreSQL;
- ``memory://`` and an in-memory SQLite URL share one connection under a lock.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from psycopg import OperationalError

from ledger.persistence.retry import past_dead_connections
from ledger.persistence.store import SqliteDatabase, database, ddl_lock, pg_params, postgres
from ledger.settings import Settings

T = TypeVar("T")


class SideTables:
    """Connections to the events' database for tables of our own, named in ``tables``."""

    def __init__(self, settings: Settings, tables: tuple[str, ...]) -> None:
        self.settings = settings
        db = database(settings)
        self.postgres = db.backend == "postgres"
        self._names: dict[str, str] = {t: t for t in tables}
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if self.postgres:
            from psycopg.conninfo import make_conninfo
            from psycopg_pool import ConnectionPool

            schema = postgres(settings).schema or "public"
            self._names = {t: f'"{schema}".{t}' for t in tables}
            self._pool = ConnectionPool(
                make_conninfo(**pg_params(settings)),
                min_size=1,
                max_size=4,
                open=True,
                timeout=settings.pg_pool_timeout,
                reconnect_timeout=2.0,
                kwargs={"autocommit": True},
            )
        elif isinstance(db, SqliteDatabase) and not db.in_memory:
            self._path = str(db.path)
            self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        else:
            self._shared = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )

    def sql(self, statement: str) -> str:
        """``statement`` for this backend: its ``{table}`` names and placeholders."""
        text = statement.format(**self._names)
        return text.replace("?", "%s") if self.postgres else text

    def create(self, *statements: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements once, serialised across processes."""
        with ddl_lock(self.settings):
            self.run(lambda cur: [cur.execute(self.sql(s)) for s in statements])

    def close(self) -> None:
        if self.postgres:
            self._pool.close()
        elif self._shared is not None:
            self._shared.close()
        else:
            while not self._idle.empty():
                self._idle.get_nowait().close()

    @contextmanager
    def _sqlite(self) -> Iterator[sqlite3.Cursor]:
        if self._shared is not None:
            with self._lock:
                yield from self._in_transaction(self._shared)
            return
        try:
            lite = self._idle.get_nowait()
        except queue.Empty:
            lite = sqlite3.connect(
                self._path, timeout=10, isolation_level=None, check_same_thread=False
            )
        try:
            yield from self._in_transaction(lite)
        except BaseException:
            lite.close()
            raise
        self._idle.put(lite)

    @staticmethod
    def _in_transaction(lite: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        cur = lite.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            lite.rollback()
            raise
        lite.commit()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        if not self.postgres:
            with self._sqlite() as cur:
                yield cur
            return
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def run(self, work: Callable[[Any], T]) -> T:
        """``work`` on a cursor in one transaction (committed when it returns); on
        PostgreSQL, run again past pooled connections that died unseen."""
        tries = self._pool.max_size + 1 if self.postgres else 1

        def once() -> T:
            with self._transaction() as cur:
                return work(cur)

        return past_dead_connections(once, tries=tries, transient=(OperationalError,))
