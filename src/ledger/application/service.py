"""The application service: one entry point that takes a command and the acting identity.

``Ledger.execute`` loads what the command needs, checks the decision rights and rules,
and saves every changed aggregate (and the idempotency record, if a key was given) in one
transaction. It returns what changed: ids, new versions and the log position. A refused
command raises a :class:`~ledger.errors.LedgerError` and appends nothing.

Retry policy: a command without an expected version that loses a race on a concurrent
write is re-run from scratch (reload, re-check every rule) up to ``max_retries`` times; a
command with an expected version is never retried: it fails with a VersionConflict naming
the current version.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from eventsourcing.utils import Environment, EnvType

from ledger import commands as c
from ledger.application.results import CommandResult, EventRef
from ledger.domain.base import LedgerAggregate
from ledger.domain.idempotency import CommandRecord, record_id
from ledger.errors import (
    ConcurrencyExhausted,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidCommand,
    LedgerError,
    StoreUnavailable,
    VersionConflict,
)
from ledger.handlers.context import Context, Outcome
from ledger.handlers.registry import HANDLERS
from ledger.identity import Actor
from ledger.persistence.positions import positions_of
from ledger.persistence.recorders import check_reads
from ledger.persistence.store import APP_NAME, backend, ddl_lock, eventsourcing_env, prepare
from ledger.settings import Settings

log = structlog.get_logger("ledger.command")

TARGET_FIELDS = ("recommendation_id", "campaign_id", "organization_id")
UNAVAILABLE = (OperationalError, InterfaceError)
MAX_BACKOFF = 0.05  # seconds: the longest jittered pause between two attempts


def fingerprint(command: c.Command) -> str:
    body = f"{type(command).__name__}\n{command.model_dump_json()}"
    return hashlib.sha256(body.encode()).hexdigest()


def target_of(command: c.Command) -> UUID | None:
    for name in TARGET_FIELDS:
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            return value
    return None


def logged(
    command: c.Command,
    actor: Actor,
    correlation_id: str,
    key: str | None,
    run: Callable[[], CommandResult],
) -> CommandResult:
    """Run a command and write its one canonical log line (accepted, replayed or refused)."""
    started = time.perf_counter()
    bound = log.bind(
        command=type(command).__name__,
        actor_id=str(actor.actor_id),
        correlation_id=correlation_id,
        idempotency_key=key,
    )
    try:
        result = run()
    except LedgerError as e:
        bound.info(
            "command refused",
            outcome="refused",
            code=e.code,
            reason=str(e),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        raise
    bound.info(
        "command accepted",
        outcome="replayed" if result.replayed else "accepted",
        aggregate_id=str(result.aggregate_id),
        version=result.version,
        position=result.position,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return result


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
        self._in_flight: set[UUID] = set()
        self._in_flight_lock = threading.Lock()

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
        correlation_id = correlation_id or str(uuid4())
        return logged(
            command,
            actor,
            correlation_id,
            idempotency_key,
            lambda: self._execute(command, actor, correlation_id, causation_id, idempotency_key),
        )

    def _execute(
        self,
        command: c.Command,
        actor: Actor,
        correlation_id: str,
        causation_id: str | None,
        key: str | None,
    ) -> CommandResult:
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise InvalidCommand("unknown command", command=type(command).__name__)
        if command.creates and command.expected_version is not None:
            raise InvalidCommand("a command that creates cannot expect a version")
        print_ = fingerprint(command)
        with self._guard(actor, key):
            replay = self.replay(actor, key, print_)
            if replay is not None:
                return replay
            for attempt in range(self.settings.max_retries):
                ctx = Context(
                    self.repository,
                    actor,
                    self.clock(),
                    correlation_id,
                    causation_id,
                    expect_id=target_of(command),
                    expect_version=command.expected_version,
                )
                try:
                    outcome = handler(ctx, command)
                    return self._save(command, outcome, actor, key, print_)
                except IntegrityError:
                    replay = self.replay(actor, key, print_)
                    if replay is not None:
                        return replay
                    if command.expected_version is not None:
                        raise self._version_conflict(command) from None
                    if attempt + 1 < self.settings.max_retries:
                        pause = min(0.002 * 2**attempt, MAX_BACKOFF)
                        time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter
                except LedgerError:
                    replay = self.replay(actor, key, print_)
                    if replay is not None:
                        return replay
                    raise
                except UNAVAILABLE as e:
                    raise StoreUnavailable(
                        "the event store is unreachable", error=type(e).__name__
                    ) from None
        raise ConcurrencyExhausted(
            "the command lost the race to concurrent writes on every attempt; retry later",
            attempts=self.settings.max_retries,
        )

    def check_versions(self, expected: Mapping[UUID, int]) -> None:
        """Raise :class:`~ledger.persistence.recorders.StaleRead` unless every
        aggregate named is still at the version given (the check a batch of refusals makes
        without appending)."""
        check_reads(expected, self.recorder.current_versions)  # type: ignore[attr-defined]

    def _version_conflict(self, command: c.Command) -> VersionConflict:
        target = target_of(command)
        current = self.repository.get(target).version if target else None
        return VersionConflict(
            "the aggregate has moved on from the expected version",
            aggregate_id=target,
            expected_version=command.expected_version,
            current_version=current,
        )

    def _save(
        self, command: c.Command, outcome: Outcome, actor: Actor, key: str | None, print_: str
    ) -> CommandResult:
        events, summary, refs = self.prepare(command, outcome, actor, key, print_)
        recordings = self.save(*events)
        positions = {
            (r.notification.originator_id, r.notification.originator_version): r.notification.id
            for r in recordings
        }
        return self.result_of(summary, refs, positions)

    def result_of(
        self,
        summary: dict[str, Any],
        refs: list[tuple[UUID, int, str]],
        positions: Mapping[tuple[Any, int], int],
    ) -> CommandResult:
        """The result of a saved command, from the positions its events were given."""
        events = [EventRef(a, v, t, positions[(a, v)]) for a, v, t in refs]
        return self._result(summary, events, replayed=False)

    def prepare(
        self, command: c.Command, outcome: Outcome, actor: Actor, key: str | None, print_: str
    ) -> tuple[list[Any], dict[str, Any], list[tuple[UUID, int, str]]]:
        """The events to save for an accepted command (its own, then its idempotency
        record's), the summary kept for replays, and references to its own events."""
        aggregates: list[LedgerAggregate] = [outcome.primary, *outcome.others]
        pending = [cast(LedgerAggregate.Event, e) for a in aggregates for e in a.pending_events]
        refs = [(e.originator_id, e.originator_version, type(e).__qualname__) for e in pending]
        summary = {
            "command": type(command).__name__,
            "aggregate_type": type(outcome.primary).__name__,
            "aggregate_id": str(outcome.primary.id),
            "version": outcome.primary.version,
            "created": outcome.created,
            "resource_id": str(outcome.resource_id) if outcome.resource_id else None,
            "events": [{"aggregate_id": str(a), "version": v, "type": t} for a, v, t in refs],
        }
        if key is not None:
            first = pending[0]
            record = CommandRecord._create(
                CommandRecord.Recorded,
                id=record_id(actor.actor_id, key),
                idempotency_key=key,
                command_type=type(command).__name__,
                fingerprint=print_,
                outcome=summary,
                actor_id=first.actor_id,
                role=first.role,
                party=first.party,
                organization_id=first.organization_id,
                engagement_id=first.engagement_id,
                correlation_id=first.correlation_id,
                causation_id=first.causation_id,
                timestamp=first.timestamp,
            )
            pending.extend(cast(LedgerAggregate.Event, e) for e in record.collect_events())
        return list(pending), summary, refs

    @staticmethod
    def _result(
        summary: dict[str, Any], events: list[EventRef], *, replayed: bool
    ) -> CommandResult:
        return CommandResult(
            command=summary["command"],
            aggregate_type=summary["aggregate_type"],
            aggregate_id=UUID(summary["aggregate_id"]),
            version=summary["version"],
            position=max(e.position for e in events),
            events=events,
            created=summary["created"],
            resource_id=UUID(summary["resource_id"]) if summary["resource_id"] else None,
            replayed=replayed,
        )

    # Idempotency

    @contextmanager
    def _guard(self, actor: Actor, key: str | None) -> Iterator[None]:
        """Refuse a second request with the same key while the first runs in this process."""
        if key is None:
            yield
            return
        ident = record_id(actor.actor_id, key)
        with self._in_flight_lock:
            if ident in self._in_flight:
                raise IdempotencyKeyInFlight(
                    "a request with this idempotency key is still being processed",
                    idempotency_key=key,
                )
            self._in_flight.add(ident)
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(ident)

    def in_flight(self, record: UUID) -> bool:
        """True while a request with this idempotency record id runs in this process."""
        with self._in_flight_lock:
            return record in self._in_flight

    def replay(self, actor: Actor, key: str | None, print_: str) -> CommandResult | None:
        """The stored result of the command recorded under this key, or None."""
        if key is None:
            return None
        try:
            record: object = self.repository.get(record_id(actor.actor_id, key))
        except AggregateNotFoundError:
            return None
        except UNAVAILABLE as e:
            raise StoreUnavailable(
                "the event store is unreachable", error=type(e).__name__
            ) from None
        assert isinstance(record, CommandRecord)
        if record.fingerprint != print_:
            raise IdempotencyKeyReused(
                "this idempotency key was used with a different request",
                idempotency_key=key,
                first_command=record.command_type,
            )
        summary = record.outcome
        refs = [(UUID(e["aggregate_id"]), e["version"], e["type"]) for e in summary["events"]]
        found = positions_of(self.recorder, [(a, v) for a, v, _ in refs])
        events = [EventRef(a, v, t, found[(a, v)]) for a, v, t in refs]
        return self._result(summary, events, replayed=True)
