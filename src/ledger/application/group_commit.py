"""Group commit: many commands, one transaction.

The event store takes a table lock per append, so single-command transactions cap a process
at about a thousand commands a second. Here, callers in many threads hand their commands to
one writer thread; it runs every command waiting in the queue, in arrival order, against a
batch-local view of the aggregates (each command sees the events of those before it, its own
rules checked as if alone), then saves the events of every accepted command, in command
order, with their idempotency records, in **one** ``Application.save``: one transaction, one
lock, one Merkle append. Each caller then gets exactly its own result, or its own refusal.

- A refused command changes nothing: a handler works on deep copies, which join the batch
  view only if the command is accepted.
- Reads come from a cache of this writer (optimistic concurrency, ADR 0010): the aggregates
  the last batches loaded or wrote are not read again. Every aggregate a batch read is
  checked in the batch's own transaction, under the append lock: one it wrote by the
  unique (aggregate, version) key, one it only read (an organization whose memberships
  decided a right) against the store's current version. Refusals are held back until that
  check passed, so no command is accepted or refused on state that was not current at
  commit time.
- If the check fails, or the batch's transaction fails on a conflict (another process wrote
  one of its aggregates, or an idempotency key was recorded meanwhile), nothing of it was
  written; the cache forgets what the batch read and every command of the batch is run
  alone through ``Ledger.execute``, with fresh reads, its usual bounded retry and
  idempotent replay.
- A second request with an idempotency key already in the batch is refused as in flight.
- No added latency when idle: the writer takes what is queued at the moment it is free.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.application.service import UNAVAILABLE, Ledger, fingerprint, logged, target_of
from ledger.domain.base import LedgerAggregate
from ledger.domain.idempotency import record_id
from ledger.errors import (
    IdempotencyKeyInFlight,
    InvalidCommand,
    LedgerError,
    Overloaded,
    StoreUnavailable,
)
from ledger.handlers.context import Context
from ledger.handlers.registry import HANDLERS
from ledger.identity import Actor

log = structlog.get_logger("ledger.application.group_commit")


@dataclass
class Job:
    command: c.Command
    actor: Actor
    correlation_id: str
    causation_id: str | None
    key: str | None
    future: Future[CommandResult] = field(default_factory=Future)


class Cache:
    """The writer's own aggregates, least recently used first out. Entries are never handed
    out: readers get deep copies. Never fast-forwarded: the batch's check at commit time
    finds what went stale."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[UUID, LedgerAggregate] = OrderedDict()

    def get(self, aggregate_id: UUID) -> LedgerAggregate | None:
        item = self._items.get(aggregate_id)
        if item is not None:
            self._items.move_to_end(aggregate_id)
        return item

    def put(self, aggregate: LedgerAggregate) -> None:
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, ids: Any) -> None:
        for ident in ids:
            self._items.pop(ident, None)

    def __len__(self) -> int:
        return len(self._items)


class BatchView:
    """The repository as this batch sees it: stored (or cached) state plus the batch's
    accepted events. Every ``get`` hands out a private deep copy; ``base`` keeps the version
    of every aggregate the batch read, as first read, for the check at commit time."""

    def __init__(self, ledger: Ledger, cache: Cache) -> None:
        self.ledger = ledger
        self.cache = cache
        self.base: dict[UUID, LedgerAggregate] = {}
        self.changed: dict[UUID, LedgerAggregate] = {}

    def get(self, aggregate_id: UUID, *, version: int | None = None) -> Any:
        if version is not None:
            return self.ledger.repository.get(aggregate_id, version=version)
        if aggregate_id in self.changed:
            return copy.deepcopy(self.changed[aggregate_id])
        if aggregate_id not in self.base:
            found = self.cache.get(aggregate_id)
            if found is None:
                found = self.ledger.repository.get(aggregate_id)
            self.base[aggregate_id] = found
        return copy.deepcopy(self.base[aggregate_id])

    def read_versions(self, written: set[UUID]) -> dict[UUID, int]:
        """The version each aggregate read but not written had when first read: what the
        store must still hold at commit time. (A written one is checked by the unique
        (aggregate, version) key of its events.)"""
        return {i: a.version for i, a in self.base.items() if i not in written}

    def keep(self) -> None:
        """After a successful check: remember what the batch read and wrote."""
        for aggregate in self.base.values():
            self.cache.put(aggregate)
        for aggregate in self.changed.values():
            self.cache.put(aggregate)

    def forget(self) -> None:
        self.cache.forget([*self.base, *self.changed])


@dataclass
class Accepted:
    job: Job
    events: list[Any]
    summary: dict[str, Any]
    refs: list[tuple[UUID, int, str]]


class GroupCommitter:
    def __init__(
        self,
        ledger: Ledger,
        max_batch: int = 64,
        max_waiting: int = 1024,
        cache_size: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        self.cache = Cache(cache_size or ledger.settings.aggregate_cache_size)
        self.stale_batches = 0  # batches re-run one by one after the check at commit time
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def execute(
        self,
        command: c.Command,
        actor: Actor,
        *,
        correlation_id: str,
        causation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        job = Job(command, actor, correlation_id, causation_id, idempotency_key)

        def run() -> CommandResult:
            if self._queue.qsize() >= self.max_waiting:
                raise Overloaded(
                    "too many commands are waiting in this process", waiting=self.max_waiting
                )
            self._queue.put(job)
            return job.future.result()

        return logged(command, actor, correlation_id, idempotency_key, run)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            try:
                self._process(batch)
            except Exception as e:
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(e)

    def _process(self, batch: list[Job]) -> None:
        view = BatchView(self.ledger, self.cache)
        accepted: list[Accepted] = []
        refused: list[tuple[Job, LedgerError]] = []
        keys: set[UUID] = set()
        for n, job in enumerate(batch):
            try:
                item = self._run_one(job, view, keys)
            except LedgerError as e:
                if isinstance(e, StoreUnavailable):
                    self._unreachable(batch[n:], e)
                    return
                refused.append((job, e))
                continue
            except UNAVAILABLE as e:
                # The store is away: tell every waiting caller now rather than let each
                # wait the pool's timeout in turn.
                self._unreachable(batch[n:], e)
                return
            accepted.append(item)
        written = {e.originator_id for a in accepted for e in a.events}
        expect = view.read_versions(written)
        try:
            if accepted:
                recordings = self.ledger.save(
                    *[e for a in accepted for e in a.events], expect_versions=expect
                )
            else:
                recordings = []
                if expect and refused:
                    self.ledger.check_versions(expect)
        except IntegrityError:
            # Another process moved an aggregate this batch read or wrote, or recorded one
            # of its idempotency keys: nothing was written; run each command afresh.
            view.forget()
            self.stale_batches += 1
            self._one_by_one([job for job in batch if not job.future.done()])
            return
        except UNAVAILABLE as e:
            self._unreachable([a.job for a in accepted] + [job for job, _ in refused], e)
            return
        view.keep()
        positions = {
            (r.notification.originator_id, r.notification.originator_version): r.notification.id
            for r in recordings
        }
        for a in accepted:
            a.job.future.set_result(self.ledger.result_of(a.summary, a.refs, positions))
        for job, error in refused:
            # A twin of this request (same key) may have been recorded by another process
            # meanwhile: then its result is the answer, not this refusal.
            self._refuse_or_replay(job, error)

    @staticmethod
    def _unreachable(jobs: list[Job], error: Exception) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(
                    StoreUnavailable("the event store is unreachable", error=type(error).__name__)
                )

    def _refuse_or_replay(self, job: Job, error: LedgerError) -> None:
        replay = None
        if job.key is not None and not isinstance(error, IdempotencyKeyInFlight):
            try:
                replay = self.ledger.replay(job.actor, job.key, fingerprint(job.command))
            except LedgerError as other:
                error = other
        if replay is not None:
            job.future.set_result(replay)
        else:
            job.future.set_exception(error)

    def _run_one(self, job: Job, view: BatchView, keys: set[UUID]) -> Accepted:
        command, actor = job.command, job.actor
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise InvalidCommand("unknown command", command=type(command).__name__)
        if command.creates and command.expected_version is not None:
            raise InvalidCommand("a command that creates cannot expect a version")
        print_ = fingerprint(command)
        if job.key is not None:
            # A key recorded before is found at commit time (its record's version 1 exists:
            # the batch fails on the unique key and each command is replayed or re-run).
            ident = record_id(actor.actor_id, job.key)
            if ident in keys or self.ledger.in_flight(ident):
                raise IdempotencyKeyInFlight(
                    "a request with this idempotency key is still being processed",
                    idempotency_key=job.key,
                )
            keys.add(ident)
        ctx = Context(
            view,
            actor,
            self.ledger.clock(),
            job.correlation_id,
            job.causation_id,
            expect_id=target_of(command),
            expect_version=command.expected_version,
        )
        outcome = handler(ctx, command)
        events, summary, refs = self.ledger.prepare(command, outcome, actor, job.key, print_)
        for aggregate in (outcome.primary, *outcome.others):
            aggregate.collect_events()
            view.changed[aggregate.id] = aggregate
        return Accepted(job, events, summary, refs)

    def _one_by_one(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:  # unlogged: the caller's ``logged`` writes the one line of this command
                result = self.ledger._execute(
                    job.command, job.actor, job.correlation_id, job.causation_id, job.key
                )
            except Exception as e:
                job.future.set_exception(e)
            else:
                job.future.set_result(result)
