"""The I/O-free tier's store: aggregates in a dict, handlers run on it directly.

:class:`InMemorySource` is an ``AggregateSource`` (``ledger.handlers.context``): ``get``
hands out a copy, as the repository hands out an aggregate rebuilt from its events, so a
handler that fails half-way leaves nothing behind. :class:`Rules` runs a command the way
the ledger's pipeline does before its save: the registered handler, a ``Context`` on this
source, then the events of the outcome's aggregates, which are "appended" to ``appended``
in order. No database, no ``Ledger`` application, no threads.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from ledger import commands as c
from ledger.domain.base import LedgerAggregate
from ledger.handlers.context import Context, Outcome
from ledger.handlers.registry import HANDLERS
from ledger.identity import Actor


class InMemorySource:
    """Aggregates by id; ``get`` returns a copy, ``commit`` keeps the new state."""

    def __init__(self) -> None:
        self._aggregates: dict[UUID, LedgerAggregate] = {}

    def get(self, aggregate_id: UUID) -> Any:
        try:
            return copy.deepcopy(self._aggregates[aggregate_id])
        except KeyError:
            raise AggregateNotFoundError(aggregate_id) from None

    def commit(self, *aggregates: LedgerAggregate) -> list[LedgerAggregate.Event]:
        """Keep each aggregate's new state; its pending events, in order."""
        events: list[LedgerAggregate.Event] = []
        for aggregate in aggregates:
            events.extend(aggregate.collect_events())  # type: ignore[arg-type] # the library types them as its protocol
            self._aggregates[aggregate.id] = copy.deepcopy(aggregate)
        return events


@dataclass
class Rules:
    """Given commands, when a command, then an outcome or a refusal: handlers on a dict."""

    now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    source: InMemorySource = field(default_factory=InMemorySource)
    appended: list[LedgerAggregate.Event] = field(default_factory=list)

    def run(self, actor: Actor, command: c.Command) -> Outcome:
        """Run ``command`` as ``actor``; a refusal raises and appends nothing."""
        self.now += timedelta(milliseconds=1)
        ctx = Context(self.source, actor, self.now, correlation_id=str(uuid4()))
        outcome = HANDLERS[type(command)](ctx, command)
        self.appended.extend(self.source.commit(outcome.primary, *outcome.others))
        return outcome

    def topics(self) -> list[str]:
        """The appended events' class names, in order (``Recommendation.Approved``...)."""
        return [type(e).__qualname__ for e in self.appended]
