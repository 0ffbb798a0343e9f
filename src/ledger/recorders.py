"""The ledger's recorders: the library's, plus the Merkle log written in the append's own
transaction (see ``ledger.merkle_log``), and, on PostgreSQL, a retry policy that fails fast.

The library retries a failed read or append ten times, 0.2 s apart: behind a stopped
database a request would hang for seconds before the caller hears anything. Here a call is
retried once, at once (a pooled connection that died with the server is replaced by the
pool's pre-ping), and then the error goes up and becomes 503 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
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

from ledger.merkle_log import MerkleTables, Record

F = TypeVar("F", bound=Callable[..., Any])
TRANSIENT = (InterfaceError, OperationalError)


def once_more(func: F) -> F:
    """Call ``func``; on a transient error, call it once more, then give up."""
    inner = getattr(func, "__wrapped__", func)

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except TRANSIENT as e:
            if "couldn't get a connection" in str(e).lower():
                raise  # the pool already waited its timeout: the server is down
            return inner(*args, **kwargs)

    return call  # type: ignore[return-value]


def records(ids: Sequence[int] | None, stored: Sequence[StoredEvent]) -> list[Record]:
    assert ids is not None
    assert len(ids) == len(stored)
    return [
        (pos, UUID(str(s.originator_id)), s.originator_version, s.topic, s.state)
        for pos, s in zip(ids, stored, strict=True)
    ]


class MerkleSQLiteRecorder(SQLiteApplicationRecorder):
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
        self.merkle.append(c, records(ids, stored_events))
        return ids


class FastFailPostgresRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.merkle = MerkleTables("%s", prefix=f'"{datastore.schema}".', blob="BYTEA")
        self.sql_create_statements.extend(SQL(s).format() for s in self.merkle.create_statements())

    def create_table(self) -> None:
        """Create the tables, unless another role owns them already: a service role that
        may only read and append (see ``ledger.protection``) cannot run DDL, not even
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
        self.merkle.append(curs, records(ids, stored_events))
        return ids

    @once_more
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

    @once_more
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

    @once_more
    def max_notification_id(self) -> int | None:
        return PostgresApplicationRecorder.max_notification_id.__wrapped__(self)  # type: ignore[no-any-return]

    @once_more
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
