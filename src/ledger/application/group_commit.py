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
  alone through ``Ledger.run``, with fresh reads, its usual bounded retry and
  idempotent replay.
- A second request with an idempotency key already in the batch is refused as in flight.
- No added latency when idle: the writer takes what is queued at the moment it is free.

This module is the plumbing (the queue, the writer thread, the callers' futures); the steps
of one batch (decide, commit, settle) are :class:`ledger.application.batch.Batch`.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ledger import commands as c
from ledger.application.batch import Batch, Cache
from ledger.application.decide import Submission
from ledger.application.logline import logged
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.errors import Overloaded
from ledger.identity import Actor


@dataclass
class Job:
    """A submission waiting for the writer, and the future its caller waits on."""

    submission: Submission
    future: Future[CommandResult] = field(default_factory=Future)


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
        job = Job(Submission(command, actor, correlation_id, causation_id, idempotency_key))

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

    def _process(self, jobs: list[Job]) -> None:
        """Run one batch and hand each caller its own answer."""
        batch = Batch(self.ledger, self.cache)
        answers = batch.run([job.submission for job in jobs])
        if batch.stale:
            self.stale_batches += 1
        for job, answer in zip(jobs, answers, strict=True):
            if isinstance(answer, BaseException):
                job.future.set_exception(answer)
            else:
                job.future.set_result(answer)
