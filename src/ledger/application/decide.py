"""The decide step every command goes through, alone or in a group-committed batch.

``admit`` checks the command can be run at all (a handler exists; a command that creates
expects no version). ``decide`` runs its handler against an aggregate source (the
repository, or a batch's view of it) and returns what to save: the command's events, in
order, then its idempotency record's, with the outcome kept for replays. Nothing is saved
here: the caller appends ``Decided.events`` in one transaction and turns the positions the
store gave them into the result (``Decided.result``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import cast
from uuid import UUID

from ledger import commands as c
from ledger.application.idempotency import CommandOutcome, OutcomeEvent, Positions, record_events
from ledger.application.results import CommandResult
from ledger.domain.base import LedgerAggregate
from ledger.domain.idempotency import record_id
from ledger.errors import InvalidCommand
from ledger.handlers.context import AggregateSource, Context, Handler, Outcome
from ledger.handlers.registry import HANDLERS
from ledger.identity import Actor

TARGET_FIELDS = ("recommendation_id", "campaign_id", "organization_id")


def fingerprint(command: c.Command) -> str:
    """What an idempotency key is bound to: the command's type and its canonical JSON."""
    body = f"{type(command).__name__}\n{command.model_dump_json()}"
    return hashlib.sha256(body.encode()).hexdigest()


def target_of(command: c.Command) -> UUID | None:
    """The aggregate a command's expected version refers to."""
    for name in TARGET_FIELDS:
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            return value
    return None


@dataclass(frozen=True)
class Submission:
    """A command as submitted: who sent it, its correlation and its idempotency key."""

    command: c.Command
    actor: Actor
    correlation_id: str
    causation_id: str | None = None
    key: str | None = None

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.command)

    @property
    def record_id(self) -> UUID | None:
        """The id of the idempotency record of this submission, if it has a key."""
        return record_id(self.actor.actor_id, self.key) if self.key is not None else None


@dataclass(frozen=True)
class Decided:
    """An accepted command, not yet saved: the aggregates its handler changed (their
    events already collected), the events to append, and the outcome to answer with."""

    submission: Submission
    changed: tuple[LedgerAggregate, ...]
    events: list[LedgerAggregate.Event]
    outcome: CommandOutcome

    def result(self, positions: Positions) -> CommandResult:
        """The result once saved, from the positions the store gave the events."""
        return self.outcome.result(positions, replayed=False)


def admit(command: c.Command) -> Handler:
    """The handler of the command, or InvalidCommand when it cannot be run at all."""
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise InvalidCommand("unknown command", command=type(command).__name__)
    if command.creates and command.expected_version is not None:
        raise InvalidCommand("a command that creates cannot expect a version")
    return handler


def decide(
    handler: Handler, submission: Submission, source: AggregateSource, now: datetime
) -> Decided:
    """Run the command's rules and handler; raise its refusal, or return what to save."""
    command = submission.command
    ctx = Context(
        source,
        submission.actor,
        now,
        submission.correlation_id,
        submission.causation_id,
        expect_id=target_of(command),
        expect_version=command.expected_version,
    )
    outcome = handler(ctx, command)
    changed = (outcome.primary, *outcome.others)
    events = [cast(LedgerAggregate.Event, e) for a in changed for e in a.collect_events()]
    kept = outcome_of(command, outcome, events)
    if submission.key is not None:
        events += record_events(
            kept, submission.key, submission.actor, submission.fingerprint, events[0]
        )
    return Decided(submission, changed, events, kept)


def outcome_of(
    command: c.Command, outcome: Outcome, events: list[LedgerAggregate.Event]
) -> CommandOutcome:
    return CommandOutcome(
        command=type(command).__name__,
        aggregate_type=type(outcome.primary).__name__,
        aggregate_id=outcome.primary.id,
        version=outcome.primary.version,
        created=outcome.created,
        resource_id=outcome.resource_id,
        events=tuple(
            OutcomeEvent(e.originator_id, e.originator_version, type(e).__qualname__)
            for e in events
        ),
    )
