"""The ledger's PostgreSQL recorder: the library's, with a retry policy that fails fast.

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
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder

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


class FastFailPostgresRecorder(PostgresApplicationRecorder):
    @once_more
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return PostgresApplicationRecorder.insert_events.__wrapped__(  # type: ignore[no-any-return]
            self, stored_events, **kwargs
        )

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
