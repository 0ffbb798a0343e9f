"""One group-committed batch: decide every command, commit once, settle each answer.

The steps of a batch, run by the writer thread of
:class:`~ledger.application.group_commit.GroupCommitter` (which owns the queue, the thread
and the futures) and testable without either: ``Batch(ledger, cache).run(submissions)``
returns one answer per submission, a result or the exception its caller gets.

- decide: each command in arrival order, through the one ``decide`` step, against a
  :class:`BatchView` (stored or cached state plus the events of the accepted commands
  before it); a refusal changes nothing, the aggregates of an accepted one join the view.
- commit: the events of every accepted command in one ``Application.save`` that also checks
  the versions of what the batch only read (or, with refusals only, the same check alone).
- settle: each accepted command gets its result; each refusal is answered, or replaced by
  the replay of a twin recorded meanwhile under the same key. A batch whose check or
  transaction failed on a conflict wrote nothing: its cache entries are forgotten and every
  command is run alone through ``Ledger.run`` (``stale`` is then True).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.application.decide import Decided, Submission, admit, decide
from ledger.application.failures import UNAVAILABLE, unreachable
from ledger.application.idempotency import Positions, in_flight_refusal
from ledger.application.results import CommandResult
from ledger.application.service import Ledger, positions_in
from ledger.domain.base import LedgerAggregate
from ledger.errors import IdempotencyKeyInFlight, LedgerError, StoreUnavailable
from ledger.persistence.recorders import check_reads

Answer = CommandResult | BaseException
"""What one caller of a batch gets: its result, or the exception to raise."""


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


class Batch:
    """The decide-commit-settle steps of one batch (see the module docstring)."""

    def __init__(self, ledger: Ledger, cache: Cache) -> None:
        self.ledger = ledger
        self.view = BatchView(ledger, cache)
        self.keys: set[UUID] = set()  # idempotency records of this batch's keys
        self.stale = False  # True when the batch was re-run one by one after a conflict

    def run(self, submissions: Sequence[Submission]) -> list[Answer]:
        accepted: dict[int, Decided] = {}
        refused: dict[int, LedgerError] = {}
        for n, submission in enumerate(submissions):
            try:
                accepted[n] = self.decide_one(submission)
            except StoreUnavailable as e:
                return [unreachable(e)] * len(submissions)
            except LedgerError as e:
                refused[n] = e
            except UNAVAILABLE as e:
                # The store is away: tell every waiting caller now rather than let each
                # wait the pool's timeout in turn.
                return [unreachable(e)] * len(submissions)
        try:
            positions = self.commit(list(accepted.values()), bool(refused))
        except IntegrityError:
            # Another process moved an aggregate this batch read or wrote, or recorded one
            # of its idempotency keys: nothing was written; run each command afresh.
            self.view.forget()
            self.stale = True
            return [self.alone(s) for s in submissions]
        except UNAVAILABLE as e:
            return [unreachable(e)] * len(submissions)
        self.view.keep()
        answers: list[Answer] = []
        for n, submission in enumerate(submissions):
            if n in accepted:
                answers.append(accepted[n].result(positions))
            else:
                answers.append(self.refuse_or_replay(submission, refused[n]))
        return answers

    def decide_one(self, submission: Submission) -> Decided:
        """Decide one command against the batch's view; its aggregates join the view."""
        handler = admit(submission.command)
        ident = submission.record_id
        if ident is not None and submission.key is not None:
            # A key recorded before is found at commit time (its record's version 1 exists:
            # the batch fails on the unique key and each command is replayed or re-run).
            if ident in self.keys or self.ledger.idempotency.in_flight(ident):
                raise in_flight_refusal(submission.key)
            self.keys.add(ident)
        decided = decide(handler, submission, self.view, self.ledger.clock())
        for aggregate in decided.changed:
            self.view.changed[aggregate.id] = aggregate
        return decided

    def commit(self, accepted: list[Decided], refusals: bool) -> Positions:
        """Append the accepted commands' events in one transaction, checking what the batch
        only read; the positions given. Raises IntegrityError when anything moved on."""
        written = {e.originator_id for d in accepted for e in d.events}
        expect = self.view.read_versions(written)
        if accepted:
            events = [e for d in accepted for e in d.events]
            return positions_in(self.ledger.save(*events, expect_versions=expect))
        if expect and refusals:
            recorder: Any = self.ledger.recorder  # one of ours: it reads current versions
            check_reads(expect, recorder.current_versions)
        return {}

    def refuse_or_replay(self, submission: Submission, error: LedgerError) -> Answer:
        """The refusal, unless a twin of this request (same key) was recorded by another
        process meanwhile: then its result is the answer."""
        if submission.key is None or isinstance(error, IdempotencyKeyInFlight):
            return error
        try:
            replay = self.ledger.idempotency.replay(
                submission.actor, submission.key, submission.fingerprint
            )
        except LedgerError as other:
            return other
        return replay if replay is not None else error

    def alone(self, submission: Submission) -> Answer:
        """Run one command on its own (unlogged: its caller writes its one log line)."""
        try:
            return self.ledger.run(submission)
        except Exception as e:
            return e
