"""The projection runner: events in batches, rows and tracking in one transaction.

One :class:`Runner` applies one projection. Each batch (up to ``batch_size`` events) is one
read-side transaction that (1) confirms the lease, (2) checks the generation it writes is
still the active one, (3) moves the tracking row from the position the batch was read after
to the batch's last position, refusing if the row is not there any more, and (4) applies
the events. A crash anywhere rolls back all four; the next start resumes from the tracking
row. ``run_until_caught_up`` serves tests and the embedded mode; :func:`catch_up` brings
several projections up together, reading and decoding each batch once; ``run_forever`` and
:class:`Worker` (a background thread driving several runners) serve the API process and the
``ledger projections run`` worker.

A batch costs a handful of statements whatever its size: the views fold its events into the
rows in memory and write them set-wise at the end (``projections.rows``), so larger batches
are faster; a batch is also the unit of rollback, so its size bounds the work a crash redoes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Protocol

import structlog
from eventsourcing.persistence import ConnectionPoolClosedError
from psycopg_pool import PoolClosed

from projections import catalog, failures
from projections.catalog import Projection
from projections.db import Database, Session
from projections.errors import GenerationChanged, LeaseNotHeld, RebuildInProgress
from projections.lease import Lease, lease_for
from projections.source import EventSource, Positioned

log = structlog.get_logger("projections.runner")

MAX_BACKOFF_S = 30.0
# A pool closed by its owner (the ledger's, or the read side's on PostgreSQL).
CLOSED = (ConnectionPoolClosedError, PoolClosed)


class Runner:
    """Applies ``projection`` from ``source``; follows the active generation unless
    ``generation`` pins one (a rebuild writes a generation that is not active yet)."""

    def __init__(
        self,
        db: Database,
        source: EventSource,
        projection: Projection,
        *,
        batch_size: int = 500,
        bulk_size: int | None = None,
        generation: int | None = None,
        owner: str | None = None,
        lease_ttl: float = 10.0,
    ) -> None:
        self.db = db
        self.source = source
        self.projection = projection
        self.batch_size = batch_size
        self.bulk_size = max(bulk_size or batch_size, batch_size)
        self._limit = batch_size  # the next read: batch_size at the head, bulk_size behind
        self.pinned = generation
        self.owner = owner or f"runner-{uuid.uuid4().hex[:12]}"
        self.lease_ttl = lease_ttl
        self.lease_name = (
            projection.name if generation is None else f"{projection.name}#g{generation}"
        )
        self._session: Session | None = None
        self._lease: Lease | None = None
        self._retry_at = 0.0
        self._failures = 0
        self.last_error: str | None = None
        self._shaped: int | None = None  # the generation found in this release's shape

    # Lifecycle

    def _open(self) -> tuple[Session, Lease]:
        if self._session is None or self._lease is None:
            session = self.db.session()
            try:
                if self.pinned is None:
                    catalog.install(session, self.projection, self.db.target.schema)
                lease = lease_for(
                    session,
                    self.lease_name,
                    self.owner,
                    schema=self.db.target.schema,
                    ttl=self.lease_ttl,
                )
            except BaseException:
                session.close()
                raise
            self._session, self._lease = session, lease
        return self._session, self._lease

    def start(self) -> bool:
        """Install the tables if needed and try to take the lease; True when held."""
        _, lease = self._open()
        return lease.acquire()

    @property
    def holds_lease(self) -> bool:
        return self._lease is not None and self._lease.held

    def close(self, *, release: bool = True) -> None:
        """Stop: give the lease back (``release=False`` leaves it to expire, as a crash)."""
        session, lease = self._session, self._lease
        self._session = self._lease = None
        if session is None:
            return
        try:
            if release and lease is not None:
                lease.release()
        finally:
            session.close()

    # Applying

    def generation(self) -> int:
        if self.pinned is not None:
            return self.pinned
        session, _ = self._open()
        with session.transaction() as tx:
            generation = catalog.active_generation(tx, self.projection.name)
        assert generation is not None
        return generation

    def position(self) -> int:
        session, _ = self._open()
        generation = self.generation()
        with session.transaction() as tx:
            return catalog.tracked(tx, self.projection.name, generation) or 0

    def step(self, limit: int | None = None) -> int:
        """Apply at most one batch; the number of events it held (0: caught up).

        Without ``limit`` the batch size adapts: ``batch_size`` events while the runner is
        at the head of the log (a live batch commits as soon as its few events are there),
        ``bulk_size`` once a batch came back full (the runner is behind: a big batch costs
        about as many statements as a small one), back to ``batch_size`` after a short one.
        """
        _, lease = self._open()
        if not lease.held:
            raise LeaseNotHeld("take the lease first (start)", projection=self.projection.name)
        for _ in range(3):
            generation = self.generation()
            if self.pinned is None and not self._in_shape(generation):
                if not self._reshape(generation):
                    return 0
                continue
            after = self.position_in(generation)
            wanted = limit or self._limit
            batch = self.source.read(after, wanted)
            if limit is None:
                self._limit = self.bulk_size if len(batch) >= wanted else self.batch_size
            if not batch:
                lease.renew()
                return 0
            try:
                self.apply_batch(batch, after=after, generation=generation)
            except GenerationChanged:
                continue
            return len(batch)
        return 0

    def _in_shape(self, generation: int) -> bool:
        if self._shaped != generation:
            session, _ = self._open()
            with session.transaction() as tx:
                if not catalog.in_shape(tx, self.projection, generation):
                    return False
            self._shaped = generation
        return True

    def _reshape(self, generation: int) -> bool:
        """The active generation's tables are not in this release's shape: rebuild the
        view into a new generation (blue/green, ``projections.rebuild``) rather than write
        rows the old tables cannot hold. Another process rebuilding it already: False
        (this runner applies nothing until the switch)."""
        from projections.rebuild import rebuild

        log.warning(
            "view shape changed in this release: rebuilding it",
            projection=self.projection.name,
            generation=generation,
        )
        try:
            result = rebuild(self.db, self.source, self.projection)
        except RebuildInProgress:
            log.info("view shape changed: another process is rebuilding it",
                     projection=self.projection.name)  # fmt: skip
            return False
        log.warning(
            "view rebuilt in its new shape",
            projection=self.projection.name,
            generation=result.generation,
            events=result.events,
            seconds=result.seconds,
        )
        return True

    def position_in(self, generation: int) -> int:
        session, _ = self._open()
        with session.transaction() as tx:
            return catalog.tracked(tx, self.projection.name, generation) or 0

    def apply_batch(
        self, batch: Sequence[Positioned], *, after: int, generation: int | None = None
    ) -> None:
        """Apply ``batch``, read after position ``after``, in one transaction with the
        tracking update; PositionNotAdvanced (and no change) when it was applied already.
        A batch an event's content makes fail is applied again event by event, so that only
        the event that fails is set aside (``projections.failures``)."""
        generation = self.generation() if generation is None else generation
        if not batch:
            return
        try:
            self._apply(batch, after, generation)
        except failures.EVENT_ERRORS as e:
            log.warning(
                "projection batch failed: applying its events one by one",
                projection=self.projection.name,
                first=batch[0].position,
                last=batch[-1].position,
                error=f"{type(e).__name__}: {e}",
            )
            self._isolate(batch, after, generation)

    def _isolate(self, batch: Sequence[Positioned], after: int, generation: int) -> None:
        for item in batch:
            try:
                self._apply([item], after, generation)
            except failures.EVENT_ERRORS as e:
                self._apply([item], after, generation, failed=e)
                log.error(
                    "projection event failed and was set aside",
                    projection=self.projection.name,
                    generation=generation,
                    position=item.position,
                    aggregate_id=item.aggregate_key,
                    event_type=type(item.event).__qualname__,
                    error=type(e).__name__,
                    message=str(e),
                )
            after = item.position

    def _apply(
        self,
        batch: Sequence[Positioned],
        after: int,
        generation: int,
        *,
        failed: BaseException | None = None,
    ) -> None:
        """One transaction: lease, generation, tracking, then the events (or, with
        ``failed``, the record that the one event of ``batch`` failed). Events of an
        aggregate with a failed event are recorded as skipped, not applied."""
        session, lease = self._open()
        name = self.projection.name
        started = time.perf_counter()
        with session.transaction(write=True) as tx:
            lease.confirm(tx)
            if self.pinned is None:
                active = catalog.active_generation(tx, name, lock=True)
                if active != generation:
                    raise GenerationChanged("the active generation switched", projection=name)
            last = batch[-1].position
            catalog.advance(tx, name, generation, after, last)
            if failed is not None:
                failures.record(tx, name, generation, batch[0], type(failed).__name__, str(failed))
                return
            held = failures.held(tx, name, generation)
            skipped = [item for item in batch if item.aggregate_key in held]
            if skipped:
                failures.record_skipped(tx, name, generation, skipped, held)
                log.warning(
                    "projection events skipped after a failed event of their aggregate",
                    projection=name,
                    positions=[item.position for item in skipped],
                )
                batch = [item for item in batch if item.aggregate_key not in held]
            if batch:
                self.projection.apply(tx.with_names(self.projection.names(generation)), batch)
        log.debug(
            "batch applied",
            projection=name,
            generation=generation,
            last=last,
            events=len(batch),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def run_until_caught_up(self) -> int:
        """Apply batches until the log has nothing more; the number of events applied."""
        if not self.start():
            raise LeaseNotHeld("another runner holds the lease", projection=self.lease_name)
        total = 0
        while applied := self.step():
            total += applied
        return total

    def run_forever(self, stop: threading.Event, *, idle_wait: float = 1.0) -> None:
        Worker([self], self.source, idle_wait=idle_wait).run(stop)

    # One turn of a background loop

    def tick(self) -> bool:
        """Take the lease if free, apply one batch; True when events were applied. A
        failure is logged, the connection dropped (and with it a PostgreSQL lease), and the
        runner backs off exponentially before trying again."""
        now = time.monotonic()
        if now < self._retry_at:
            return False
        try:
            if not self.holds_lease and not self.start():
                self._retry_at = now + min(self.lease_ttl / 3, 1.0)
                return False
            applied = self.step()
        except LeaseNotHeld:
            log.info("lease lost", projection=self.lease_name, owner=self.owner)
            return False
        except CLOSED:
            raise  # the store was closed under the loop: it never reopens (Worker.run ends)
        except Exception as e:  # a background loop must outlive a bad event or a dead database
            self._failures += 1
            self.last_error = f"{type(e).__name__}: {e}"
            delay = min(0.1 * 2**self._failures, MAX_BACKOFF_S)
            self._retry_at = now + delay
            log.error(
                "projection batch failed",
                projection=self.projection.name,
                error=self.last_error,
                retry_in_s=round(delay, 2),
            )
            self.close(release=False)
            return False
        self._failures = 0
        self.last_error = None
        return applied > 0


def catch_up(runners: Sequence[Runner]) -> int:
    """Bring several runners to the end of the log together, in this thread; the number of
    events applied, summed over runners. They advance batch by batch side by side, each
    reading ``bulk_size`` events, so a batch is read and decoded once (the source keeps the
    last full batch) and applied by each runner in its own transaction. Raises
    LeaseNotHeld if a lease is taken."""
    for runner in runners:
        if not runner.start():
            raise LeaseNotHeld("another runner holds the lease", projection=runner.lease_name)
    total = 0
    while True:
        applied = [runner.step(limit=runner.bulk_size) for runner in runners]
        if not any(applied):
            return total
        total += sum(applied)


class Periodic(Protocol):
    def tick(self) -> int:
        """Do the work if it is due; how much was done (0: nothing)."""


class Worker:
    """Drives several runners in one thread: each gets a batch in turn, then the periodic
    tasks (the expiry sweep) get their turn; when none had work, the thread waits on the
    source (LISTEN or a short poll)."""

    def __init__(
        self,
        runners: Sequence[Runner],
        source: EventSource,
        *,
        idle_wait: float = 1.0,
        periodic: Sequence[Periodic] = (),
    ) -> None:
        self.runners = list(runners)
        self.source = source
        self.idle_wait = idle_wait
        self.periodic = list(periodic)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set, or the store is closed under the loop (its owner closed
        the ledger or the read side without stopping the worker first): a closed pool never
        reopens, so retrying would only spin until the process ends."""
        try:
            while not stop.is_set():
                worked = False
                for runner in self.runners:
                    worked = runner.tick() or worked
                for task in self.periodic:
                    worked = task.tick() > 0 or worked
                if not worked and not stop.is_set():
                    self.source.wait(self.idle_wait)
        except CLOSED:
            return
        finally:
            for runner in self.runners:
                runner.close()

    def start(self) -> None:
        """Run in a daemon thread until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name="projections", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.source.nudge()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
