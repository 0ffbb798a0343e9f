"""The event base every ledger event extends, with its envelope.

Each event records who acted (``actor_id``), in which role and for which party, for which
organization, through which engagement (when a consultant acted), and the correlation and
causation ids that tie it to the request that caused it. ``timestamp`` is the server's UTC
time of recording. No personal data is ever stored: actors are ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Envelope:
    """Who acted, for whom and why; stamped on every event of one command."""

    actor_id: UUID
    role: str
    party: str
    organization_id: UUID
    correlation_id: str
    engagement_id: UUID | None = None
    causation_id: str | None = None
    at: datetime | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "role": self.role,
            "party": self.party,
            "organization_id": self.organization_id,
            "engagement_id": self.engagement_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "timestamp": self.at,
        }


class LedgerAggregate(Aggregate):
    """An aggregate whose events all carry the envelope."""

    class Event(Aggregate.Event):
        actor_id: UUID
        role: str
        party: str
        organization_id: UUID
        engagement_id: UUID | None
        correlation_id: str
        causation_id: str | None

    class Created(Event, Aggregate.Created):
        pass

    def record(self, event_class: type[Aggregate.Event], envelope: Envelope, **kw: Any) -> None:
        """Trigger ``event_class`` stamped with ``envelope``."""
        self.trigger_event(event_class, **envelope.fields(), **kw)
