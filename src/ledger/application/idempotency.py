"""Idempotency: the in-flight guard, the replay of a recorded command, the command record.

An accepted command sent with an ``Idempotency-Key`` is saved together with a
:class:`~ledger.domain.idempotency.CommandRecord` keyed by (actor, key) (that aggregate and
its stored topic stay in ``ledger.domain``). Its ``outcome`` is a
:class:`CommandOutcome`, stored as the plain JSON object ``as_dict`` gives, so that a retry
is answered with the first result (``replay``) instead of being run twice. Within one
process a second request with a key still running is refused at once (``guard``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import ApplicationRecorder

from ledger.application.failures import UNAVAILABLE, unreachable
from ledger.application.results import CommandResult, EventRef
from ledger.domain.base import LedgerAggregate
from ledger.domain.idempotency import CommandRecord, record_id
from ledger.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from ledger.handlers.context import AggregateSource
from ledger.identity import Actor
from ledger.persistence.positions import positions_of

Positions = Mapping[tuple[Any, int], int]
"""The log position of each stored event, by (aggregate id, version)."""


@dataclass(frozen=True)
class OutcomeEvent:
    """One event an accepted command appended, as its record names it."""

    aggregate_id: UUID
    version: int
    type: str


@dataclass(frozen=True)
class CommandOutcome:
    """What an accepted command changed, as kept in its record for replays.

    ``as_dict`` is the stored shape: its keys, their order and their JSON types are part of
    the stored bytes of ``CommandRecord.Recorded`` and never change."""

    command: str
    aggregate_type: str
    aggregate_id: UUID
    version: int
    created: bool
    resource_id: UUID | None
    events: tuple[OutcomeEvent, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": str(self.aggregate_id),
            "version": self.version,
            "created": self.created,
            "resource_id": str(self.resource_id) if self.resource_id else None,
            "events": [
                {"aggregate_id": str(e.aggregate_id), "version": e.version, "type": e.type}
                for e in self.events
            ],
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> CommandOutcome:
        resource = stored["resource_id"]
        return cls(
            command=stored["command"],
            aggregate_type=stored["aggregate_type"],
            aggregate_id=UUID(stored["aggregate_id"]),
            version=stored["version"],
            created=stored["created"],
            resource_id=UUID(resource) if resource else None,
            events=tuple(
                OutcomeEvent(UUID(e["aggregate_id"]), e["version"], e["type"])
                for e in stored["events"]
            ),
        )

    def result(self, positions: Positions, *, replayed: bool) -> CommandResult:
        """The command's result, given the log position of each of its events."""
        events = [
            EventRef(e.aggregate_id, e.version, e.type, positions[(e.aggregate_id, e.version)])
            for e in self.events
        ]
        return CommandResult(
            command=self.command,
            aggregate_type=self.aggregate_type,
            aggregate_id=self.aggregate_id,
            version=self.version,
            position=max(e.position for e in events),
            events=events,
            created=self.created,
            resource_id=self.resource_id,
            replayed=replayed,
        )


def record_events(
    outcome: CommandOutcome,
    key: str,
    actor: Actor,
    fingerprint: str,
    first: LedgerAggregate.Event,
) -> list[LedgerAggregate.Event]:
    """The event of the record of an accepted command, with the envelope of its first
    event, to save in the same transaction as the command's own events."""
    record = CommandRecord._create(
        CommandRecord.Recorded,
        id=record_id(actor.actor_id, key),
        idempotency_key=key,
        command_type=outcome.command,
        fingerprint=fingerprint,
        outcome=outcome.as_dict(),
        actor_id=first.actor_id,
        role=first.role,
        party=first.party,
        organization_id=first.organization_id,
        engagement_id=first.engagement_id,
        correlation_id=first.correlation_id,
        causation_id=first.causation_id,
        timestamp=first.timestamp,
    )
    return [cast(LedgerAggregate.Event, e) for e in record.collect_events()]


class Idempotency:
    """This process's keys in flight, and the replay of commands recorded under a key."""

    def __init__(self, repository: AggregateSource, recorder: ApplicationRecorder) -> None:
        self.repository = repository
        self.recorder = recorder
        self._in_flight: set[UUID] = set()
        self._lock = threading.Lock()

    @contextmanager
    def guard(self, actor: Actor, key: str | None) -> Iterator[None]:
        """Refuse a second request with the same key while the first runs in this process."""
        if key is None:
            yield
            return
        ident = record_id(actor.actor_id, key)
        with self._lock:
            if ident in self._in_flight:
                raise in_flight_refusal(key)
            self._in_flight.add(ident)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.discard(ident)

    def in_flight(self, record: UUID) -> bool:
        """True while a request with this idempotency record id runs in this process."""
        with self._lock:
            return record in self._in_flight

    def replay(self, actor: Actor, key: str | None, fingerprint: str) -> CommandResult | None:
        """The stored result of the command recorded under this key, or None; a key used
        for a different request is refused."""
        if key is None:
            return None
        try:
            record: object = self.repository.get(record_id(actor.actor_id, key))
        except AggregateNotFoundError:
            return None
        except UNAVAILABLE as e:
            raise unreachable(e) from None
        assert isinstance(record, CommandRecord)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "this idempotency key was used with a different request",
                idempotency_key=key,
                first_command=record.command_type,
            )
        outcome = CommandOutcome.from_dict(record.outcome)
        refs: Sequence[tuple[UUID, int]] = [(e.aggregate_id, e.version) for e in outcome.events]
        return outcome.result(positions_of(self.recorder, refs), replayed=True)


def in_flight_refusal(key: str) -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(
        "a request with this idempotency key is still being processed", idempotency_key=key
    )
