"""The ledger's recorders: the library's, plus the Merkle log written in the append's own
transaction (see ``ledger.integrity.merkle_log``), and, on PostgreSQL, a retry policy that
fails fast.

An append may carry ``expect_versions`` ({aggregate id: version}): the versions of the
aggregates its commands read without writing them (the group committer's read set, ADR 0010).
They are compared with the store inside the append's transaction, after the append lock is
taken, and any difference raises :class:`StaleRead` (an ``IntegrityError``): nothing is
written, as for a clash on the unique (aggregate, version) key.

The library retries a failed read or append ten times, 0.2 s apart: behind a stopped
database a request would hang for seconds before the caller hears anything. Here a call is
retried once, at once (the pool drops a connection that died with the server, so the retry
gets another or a new one), and then the error goes up and becomes 503 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from ledger.integrity.merkle_log import MerkleTables, Record
from ledger.persistence import retry

F = TypeVar("F", bound=Callable[..., Any])
TRANSIENT = (InterfaceError, OperationalError)


def past_dead_connections(func: F) -> F:
    """Run ``func`` past connections that died unseen (``ledger.persistence.retry``), as
    many times as the recorder's pool holds connections."""
    inner = getattr(func, "__wrapped__", func)

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        tries = 1 + _pool_size(args[0] if args else None)
        return retry.past_dead_connections(
            lambda: inner(*args, **kwargs), tries=tries, transient=TRANSIENT
        )

    return call  # type: ignore[return-value]


def _pool_size(recorder: Any) -> int:
    """How many connections the recorder's pool may hold (1 when it has no pool)."""
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    size = getattr(pool, "max_size", None) or getattr(pool, "pool_size", None) or 1
    return min(int(size), 32)


class StaleRead(IntegrityError):
    """Aggregates a batch read have moved on in the store since they were read."""

    def __init__(self, stale: Sequence[UUID]) -> None:
        super().__init__(f"{len(stale)} aggregate(s) read by the batch moved on: {stale[:5]}")
        self.stale = list(stale)


def check_reads(
    expected: Mapping[UUID, int], versions: Callable[[list[UUID]], Mapping[UUID, int]]
) -> None:
    """Raise :class:`StaleRead` unless every aggregate named is still at the version given;
    ``versions`` reads the current ones (inside the caller's transaction)."""
    if not expected:
        return
    found = versions(list(expected))
    stale = [i for i, v in expected.items() if found.get(i) != v]
    if stale:
        raise StaleRead(stale)


def sqlite_versions(c: Any, table: str, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Current version of each aggregate named, read through an SQLite cursor."""
    found: dict[UUID, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        c.execute(
            f"SELECT originator_id, MAX(originator_version) FROM {table} "  # noqa: S608 - table and column names are the store's own; values are bound
            f"WHERE originator_id IN ({marks}) GROUP BY originator_id",
            [i.hex for i in chunk],
        )
        found.update((UUID(str(r[0])), int(r[1])) for r in c.fetchall())
    return found


def postgres_versions(curs: Any, table: str, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Current version of each aggregate named, read through a psycopg cursor."""
    curs.execute(
        f"SELECT originator_id, MAX(originator_version) AS v FROM {table} "  # noqa: S608 - table and column names are the store's own; values are bound
        "WHERE originator_id = ANY(%s) GROUP BY originator_id",
        (list(ids),),
    )
    return {UUID(str(r["originator_id"])): int(r["v"]) for r in curs.fetchall()}


def records(ids: Sequence[int] | None, stored: Sequence[StoredEvent]) -> list[Record]:
    assert ids is not None
    assert len(ids) == len(stored)
    return [
        (pos, UUID(str(s.originator_id)), s.originator_version, s.topic, s.state)
        for pos, s in zip(ids, stored, strict=True)
    ]


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def __init__(
        self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"
    ) -> None:
        self.merkle = MerkleTables("?")
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.merkle.create_statements()]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        # after the insert: this transaction holds the write lock now
        check_reads(kwargs.get("expect_versions") or {}, lambda ids: self.versions(c, ids))
        self.merkle.append(c, records(ids, stored_events))
        return ids

    def versions(self, c: Any, ids: Sequence[UUID]) -> dict[UUID, int]:
        return sqlite_versions(c, self.events_table_name, ids)

    def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        with self.datastore.transaction(commit=False) as c:
            return self.versions(c, ids)


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.merkle = MerkleTables("%s", prefix=f'"{datastore.schema}".', blob="BYTEA")
        self.sql_create_statements.extend(SQL(s).format() for s in self.merkle.create_statements())

    def create_table(self) -> None:
        """Create the tables, unless another role owns them already: a service role that
        may only read and append (see ``ledger.integrity.protection``) cannot run DDL, not even
        ``CREATE ... IF NOT EXISTS``, so it uses the tables the owner created."""
        if self._owned_by_another_role():
            self.datastore.register_type_adapters()
            return
        super().create_table()

    def _owned_by_another_role(self) -> bool:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT pg_get_userbyid(c.relowner) <> current_user AS other "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s",
                (self.datastore.schema, self.events_table_name),
            )
            row = curs.fetchone()
        return bool(row and row["other"])

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        # under the append lock: nobody can move these until we commit
        check_reads(kwargs.get("expect_versions") or {}, lambda ids: self.versions(curs, ids))
        self.merkle.append(curs, records(ids, stored_events))
        return ids

    def versions(self, curs: Any, ids: Sequence[UUID]) -> dict[UUID, int]:
        table = f'"{self.datastore.schema or "public"}"."{self.events_table_name}"'
        return postgres_versions(curs, table, ids)

    @past_dead_connections
    def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        with self.datastore.transaction(commit=False) as curs:
            return self.versions(curs, ids)

    @past_dead_connections
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's append (lock, notify, insert, ids) and the Merkle log, in one
        transaction, without pipeline mode: the Merkle appender reads inside the
        transaction, and a read waiting in a pipeline behind megabytes of unsent inserts
        can stall both ends."""
        if not stored_events:
            return []
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    @past_dead_connections
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        return PostgresApplicationRecorder.select_notifications.__wrapped__(  # type: ignore[no-any-return]
            self, start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )

    @past_dead_connections
    def max_notification_id(self) -> int | None:
        return PostgresApplicationRecorder.max_notification_id.__wrapped__(self)  # type: ignore[no-any-return]

    @past_dead_connections
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return PostgresAggregateRecorder.select_events.__wrapped__(  # type: ignore[no-any-return]
            self, originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        )
