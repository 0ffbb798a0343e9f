"""The read side of one ledger, assembled: what the API and the CLI start and ask.

    read_side = ReadSide(ledger)          # the same database as the ledger's events
    read_side.start()                     # embedded: a background thread in this process
    ...
    read_side.wait_for(result.position)   # read-your-writes, bounded
    read_side.close()                     # stop the thread, release leases, close pools

``ledger projections run`` calls :meth:`ReadSide.run_forever` instead of ``start``: several
processes may run it, the leases let one runner per projection apply at a time. Either way
the worker that holds the register's lease also runs the expiry sweep
(``projections.expiry``) every ``expiry_sweep`` seconds (``LEDGER_EXPIRY_SWEEP_SECONDS``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import TracebackType

from ledger.application.service import Ledger
from projections import catalog
from projections.catalog import Projection
from projections.db import Database
from projections.expiry import ExpirySweep
from projections.rebuild import RebuildResult, rebuild
from projections.runner import Runner, Worker, catch_up
from projections.source import open_source
from projections.status import ProjectionStatus, status, wait_for
from projections.views import ALL, named
from projections.views.register import PROJECTION as REGISTER


class ReadSide:
    def __init__(
        self,
        ledger: Ledger,
        *,
        projections: Sequence[Projection] = ALL,
        batch_size: int = 500,
        bulk_size: int = 5000,
        poll_interval: float = 0.1,
        idle_wait: float = 1.0,
        lease_ttl: float = 10.0,
        pool_size: int = 4,
        expiry_sweep: float | None = None,
    ) -> None:
        self.ledger = ledger
        self.expiry_sweep = (
            ledger.settings.expiry_sweep_seconds if expiry_sweep is None else expiry_sweep
        )
        self.projections = tuple(projections)
        self.batch_size = batch_size
        self.bulk_size = bulk_size
        self.idle_wait = idle_wait
        self.lease_ttl = lease_ttl
        self.db = Database.from_settings(ledger.settings, pool_size=pool_size)
        try:
            self.source = open_source(ledger, self.db, poll_interval=poll_interval)
        except BaseException:
            self.db.close()
            raise
        self._worker: Worker | None = None

    def install(self) -> None:
        """Create the bookkeeping and every projection's tables (idempotent)."""
        session = self.db.session()
        try:
            for p in self.projections:
                catalog.install(session, p, self.db.target.schema)
        finally:
            session.close()

    def runners(self) -> list[Runner]:
        return [
            Runner(
                self.db,
                self.source,
                p,
                batch_size=self.batch_size,
                bulk_size=self.bulk_size,
                lease_ttl=self.lease_ttl,
            )
            for p in self.projections
        ]

    def run_until_caught_up(self) -> int:
        """Apply everything in the log now, in this thread; the number of events applied
        (summed over projections). Raises LeaseNotHeld if a worker holds a lease."""
        runners = self.runners()
        try:
            return catch_up(runners)
        finally:
            for runner in runners:
                runner.close()

    def sweep(self, *, may_run: Callable[[], bool] = lambda: True) -> ExpirySweep:
        """The expiry sweep of this read side, due every ``expiry_sweep`` seconds."""
        return ExpirySweep(self.ledger, self.db, interval=self.expiry_sweep, may_run=may_run)

    def sweep_expired(self) -> int:
        """One expiry sweep now, in this thread; the number of Expired events recorded."""
        recorded = self.sweep().run()
        self.nudge()
        return recorded

    def _worker_of(self, runners: list[Runner]) -> Worker:
        """A worker driving ``runners``, and the expiry sweep while it holds the register's
        lease (no register among them: no sweep)."""
        register = [r for r in runners if r.projection.name == REGISTER.name]
        periodic = [self.sweep(may_run=lambda: register[0].holds_lease)] if register else []
        return Worker(runners, self.source, idle_wait=self.idle_wait, periodic=periodic)

    def start(self) -> Worker:
        """Run every projection in a background thread of this process."""
        if self._worker is None or not self._worker.alive:
            self.install()
            self._worker = self._worker_of(self.runners())
            self._worker.start()
        return self._worker

    def run_forever(self, stop: threading.Event) -> None:
        """Run every projection in this thread until ``stop`` is set (the worker process)."""
        self.install()
        self._worker_of(self.runners()).run(stop)

    def nudge(self) -> None:
        """Wake the runners now (call after serving a command in-process)."""
        self.source.nudge()

    def status(self) -> list[ProjectionStatus]:
        return status(self.db, self.source.head(), self.projections)

    def wait_for(self, position: int, *, timeout: float = 2.0) -> int:
        self.nudge()
        return wait_for(self.db, position, self.projections, timeout=timeout)

    def rebuild(self, name: str, *, batch_size: int = 5000) -> RebuildResult:
        return rebuild(self.db, self.source, named(name), batch_size=batch_size)

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.source.close()
            self.db.close()

    def __enter__(self) -> ReadSide:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
