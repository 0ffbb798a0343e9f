"""The application service: one entry point that takes a command and the acting identity.

``Ledger.execute`` admits the command, replays it if its idempotency key was recorded,
then decides it (``ledger.application.decide``: load what it needs, check the decision
rights and rules) and saves every changed aggregate (and the idempotency record, if a key
was given) in one transaction. It returns what changed: ids, new versions and the log
position. A refused command raises a :class:`~ledger.errors.LedgerError` and appends nothing.

Retry policy: a command without an expected version that loses a race on a concurrent
write is re-run from scratch (reload, re-check every rule) up to ``max_retries`` times; a
command with an expected version is never retried: it fails with a VersionConflict naming
the current version.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import Environment, EnvType

from ledger import commands as c
from ledger.application.decide import Submission, admit, decide, target_of
from ledger.application.failures import UNAVAILABLE, unreachable
from ledger.application.idempotency import Idempotency, Positions
from ledger.application.logline import logged
from ledger.application.results import CommandResult
from ledger.errors import ConcurrencyExhausted, LedgerError, VersionConflict
from ledger.identity import Actor
from ledger.persistence.store import APP_NAME, backend, ddl_lock, eventsourcing_env, prepare
from ledger.settings import Settings

MAX_BACKOFF = 0.05  # seconds: the longest jittered pause between two attempts


class Ledger(Application[UUID]):
    name = APP_NAME

    def __init__(
        self, settings: Settings | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.backend = backend(self.settings)
        env = eventsourcing_env(self.settings)
        prepare(self.settings)
        with ddl_lock(self.settings):
            super().__init__(env=env)
        self._tune_pool()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.idempotency = Idempotency(self.repository, self.recorder)

    def _tune_pool(self) -> None:
        """Fail fast when PostgreSQL is away: a short wait for a pooled connection and a
        connect timeout on each new connection."""
        datastore = getattr(self.recorder, "datastore", None)
        pool = getattr(datastore, "pool", None)
        if self.backend == "postgres" and pool is not None:
            pool.timeout = self.settings.pg_pool_timeout
            pool.kwargs["connect_timeout"] = self.settings.pg_connect_timeout
            pool.reconnect_timeout = 2.0  # give up and retry afresh: no backoff past 2 s

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the ledger's own settings configure persistence, never stray variables."""
        return Environment(name, dict(env or {}))

    # Commands

    def execute(
        self,
        command: c.Command,
        actor: Actor,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        submission = Submission(
            command, actor, correlation_id or str(uuid4()), causation_id, idempotency_key
        )
        return logged(
            command,
            actor,
            submission.correlation_id,
            idempotency_key,
            lambda: self.run(submission),
        )

    def run(self, submission: Submission) -> CommandResult:
        """The command pipeline without its log line: admit, replay a recorded key, decide
        and save, with the bounded retry of a lost race. (The group committer's fallback
        for a batch that lost a race runs each command through it.)"""
        handler = admit(submission.command)
        actor, key, print_ = submission.actor, submission.key, submission.fingerprint
        with self.idempotency.guard(actor, key):
            replay = self.idempotency.replay(actor, key, print_)
            if replay is not None:
                return replay
            for attempt in range(self.settings.max_retries):
                try:
                    decided = decide(handler, submission, self.repository, self.clock())
                    return decided.result(positions_in(self.save(*decided.events)))
                except IntegrityError:
                    replay = self.idempotency.replay(actor, key, print_)
                    if replay is not None:
                        return replay
                    if submission.command.expected_version is not None:
                        raise self._version_conflict(submission.command) from None
                    if attempt + 1 < self.settings.max_retries:
                        pause = min(0.002 * 2**attempt, MAX_BACKOFF)
                        time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter
                except LedgerError:
                    replay = self.idempotency.replay(actor, key, print_)
                    if replay is not None:
                        return replay
                    raise
                except UNAVAILABLE as e:
                    raise unreachable(e) from None
        raise ConcurrencyExhausted(
            "the command lost the race to concurrent writes on every attempt; retry later",
            attempts=self.settings.max_retries,
        )

    def _version_conflict(self, command: c.Command) -> VersionConflict:
        target = target_of(command)
        current = self.repository.get(target).version if target else None
        return VersionConflict(
            "the aggregate has moved on from the expected version",
            aggregate_id=target,
            expected_version=command.expected_version,
            current_version=current,
        )


def positions_in(recordings: Sequence[Recording[UUID]]) -> Positions:
    """The log position of each event saved, by (aggregate id, version)."""
    return {
        (r.notification.originator_id, r.notification.originator_version): r.notification.id
        for r in recordings
    }
