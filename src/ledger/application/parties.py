"""The parties a caller may see: organizations (clients) and agencies, in log order.

Members see their organizations; consultants the clients whose engagements name them (and
the agencies that list them); an agency's admins their agency and every client that engages
it; operators all (``ledger.policy.reads``: ``sees_organization``, ``sees_agency``). A page
is a scan of the log's creation events after a position, as the campaign and
recommendation lists are: the read side holds no table of parties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from ledger.application.service import Ledger
from ledger.domain.agency import Agency
from ledger.domain.organization import Organization
from ledger.identity import Actor
from ledger.policy.reads import leads, sees_agency, sees_organization

TOPICS = [get_topic(Organization.Created), get_topic(Agency.Registered)]
SCAN = 500


@dataclass(frozen=True)
class Party:
    """One organization or agency as its reader sees it in a list."""

    kind: str  # "client" or "agency"
    aggregate: Organization | Agency
    your_roles: frozenset[str]


class Parties:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._leads: dict[UUID, bool] = {}

    def _leads_agency(self, actor: Actor, agency_id: UUID) -> bool:
        if agency_id not in self._leads:
            try:
                found: Any = self.ledger.repository.get(agency_id)
            except AggregateNotFoundError:  # an engagement may name an unregistered agency
                found = None
            self._leads[agency_id] = isinstance(found, Agency) and leads(found, actor)
        return self._leads[agency_id]

    def _visible(self, actor: Actor, aggregate: Any) -> Party | None:
        if isinstance(aggregate, Agency):
            if not sees_agency(aggregate, actor):
                return None
            return Party("agency", aggregate, aggregate.roles_of(actor.actor_id))
        org: Organization = aggregate
        agencies = {e.agency_id for e in org.state.engagements.values()}
        led = frozenset(a for a in agencies if self._leads_agency(actor, a))
        if not sees_organization(org, actor, led):
            return None
        return Party("client", org, org.roles_of(actor.actor_id))

    def page(self, actor: Actor, after: int, limit: int) -> tuple[list[Party], int | None]:
        """Up to ``limit`` parties visible to ``actor`` created after log position ``after``,
        and the position to continue from (None: the log is exhausted)."""
        found: list[Party] = []
        start = after + 1
        while True:
            batch = self.ledger.recorder.select_notifications(start, SCAN, topics=TOPICS)
            if not batch:
                return found, None
            for n in batch:
                aggregate: Any = self.ledger.repository.get(UUID(str(n.originator_id)))
                party = self._visible(actor, aggregate)
                if party is not None:
                    found.append(party)
                    if len(found) == limit:
                        return found, n.id
            start = batch[-1].id + 1
