"""The event source: the ledger's notification log, read in batches after a position.

The runner depends on :class:`EventSource` only. :class:`LogSource` reads
``recorder.select_notifications(after, limit, inclusive_of_start=False)`` and decodes each
record with the ledger's own mapper, so projections see typed events. How it waits for new
events is the pluggable part: :class:`ListenWaiter` blocks on ``LISTEN <events table>`` on
PostgreSQL (the library NOTIFYs that channel on every append), :class:`PollWaiter` sleeps
a short interval on SQLite, which has no notifications. Both wake at once on ``nudge()``, which
the API may call after a command it served in-process.

Why reading "after the last position" never skips an event: on PostgreSQL every append takes
``LOCK TABLE ... IN EXCLUSIVE MODE`` before drawing notification ids and holds it to commit,
so ids become visible in id order; on SQLite the single writer lock does the same. Ids may
have gaps (a rolled-back append burns a sequence value); a reader only ever asks for ids
above the last one it applied, so a gap is simply never filled and costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from ledger.domain.base import LedgerAggregate
from projections.db import Database
from projections.errors import UnexpectedEvent


@dataclass(frozen=True)
class Positioned:
    """A decoded event and its position (notification id) in the log."""

    position: int
    event: LedgerAggregate.Event

    @cached_property
    def aggregate_id(self) -> UUID:
        value = self.event.originator_id
        return value if isinstance(value, UUID) else UUID(str(value))

    @cached_property
    def aggregate_key(self) -> str:
        """The aggregate id as the read tables store it (text), worked out once."""
        return str(self.aggregate_id)

    @property
    def version(self) -> int:
        return int(self.event.originator_version)

    @cached_property
    def type_name(self) -> str:
        return type(self.event).__qualname__


class EventSource(Protocol):
    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        """Up to ``limit`` events with a position above ``after``, in log order."""

    def head(self) -> int:
        """The highest position in the log (0 when empty)."""

    def wait(self, timeout: float) -> None:
        """Return when new events may be there, or after ``timeout`` seconds."""

    def nudge(self) -> None:
        """Wake a ``wait`` early."""

    def close(self) -> None: ...


class Waiter(Protocol):
    def wait(self, timeout: float) -> None: ...

    def nudge(self) -> None: ...

    def close(self) -> None: ...


class PollWaiter:
    """Sleep at most ``interval`` seconds: the SQLite way."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._nudged = threading.Event()

    def wait(self, timeout: float) -> None:
        self._nudged.wait(min(timeout, self.interval))
        self._nudged.clear()

    def nudge(self) -> None:
        self._nudged.set()

    def close(self) -> None:
        self._nudged.set()


class ListenWaiter:
    """Block on ``LISTEN channel`` on a connection of its own, in short slices so that a
    nudge or a close is seen quickly. A lost connection is reopened on the next wait."""

    def __init__(self, connect: Callable[[], Any], channel: str, slice_s: float = 0.1) -> None:
        self._connect = connect
        self._channel = channel
        self._slice = slice_s
        self._conn: Any = None
        self._nudged = threading.Event()
        self._listen()

    def _listen(self) -> None:
        conn = self._connect()
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self._conn = conn

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            if self._conn is None:
                self._listen()
            while not self._nudged.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # stop_after=1: a later wait returns at once for notifications still queued,
                # which costs one empty read; a timeout of 0 would mean "no timeout" to psycopg.
                timeout = max(min(self._slice, remaining), 0.005)
                for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                    return
        except psycopg.OperationalError:
            self._drop()
            time.sleep(min(self._slice, max(deadline - time.monotonic(), 0)))
        finally:
            self._nudged.clear()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def nudge(self) -> None:
        self._nudged.set()

    def close(self) -> None:
        self._nudged.set()
        self._drop()


class LogSource:
    """The ledger's notification log, decoded. A full batch is final (no id below the last
    one can still appear), so the last full batch is cached: several runners at the same
    position decode it once."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID], waiter: Waiter):
        self._recorder = recorder
        self._mapper = mapper
        self._waiter = waiter
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int], list[Positioned]] | None = None

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        key = (after, limit)
        with self._lock:
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
        records = self._recorder.select_notifications(after, limit, inclusive_of_start=False)
        batch = [self._decode(n.id, n) for n in records]
        if len(batch) == limit:
            with self._lock:
                self._cached = (key, batch)
        return batch

    def _decode(self, position: int, record: Any) -> Positioned:
        event = self._mapper.to_domain_event(record)
        if not isinstance(event, LedgerAggregate.Event):
            raise UnexpectedEvent(
                "the log holds an event that is not a ledger event",
                position=position,
                topic=record.topic,
            )
        return Positioned(position, event)

    def head(self) -> int:
        return int(self._recorder.max_notification_id() or 0)

    def wait(self, timeout: float) -> None:
        self._waiter.wait(timeout)

    def nudge(self) -> None:
        self._waiter.nudge()

    def close(self) -> None:
        self._waiter.close()


def open_source(app: Application[UUID], db: Database, *, poll_interval: float = 0.1) -> LogSource:
    """The log of ``app``: woken by LISTEN on PostgreSQL, polling on SQLite."""
    recorder = app.recorder
    waiter: Waiter
    if isinstance(recorder, PostgresApplicationRecorder) and db.dialect == "postgres":
        waiter = ListenWaiter(db.connect, recorder.channel_name)
    else:
        waiter = PollWaiter(poll_interval)
    return LogSource(recorder, app.mapper, waiter)
