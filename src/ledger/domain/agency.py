"""The agency: a party of its own, with the roster of the people who act for it (ADR 0016).

A platform operator registers an agency; its ``agency_admin``s (and operators) keep the
roster: who leads the agency, and which consultants may act for it. The roster grants
nothing at any client: a consultant acts for a client only through an engagement the client
started naming it, and only while the agency still lists it. Every event's envelope names
the agency itself as its ``organization_id``: the agency is its own tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate


@dataclass
class AgencyState:
    name: str = ""
    members: dict[UUID, set[str]] = field(default_factory=dict)


class Agency(LedgerAggregate):
    state: AgencyState = field(init=False)

    class Registered(LedgerAggregate.Created):
        name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state = AgencyState(name=self.name)

    class MemberAdded(LedgerAggregate.Event):
        member_id: UUID
        member_role: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.members.setdefault(self.member_id, set()).add(self.member_role)

    class MemberRemoved(LedgerAggregate.Event):
        member_id: UUID
        member_role: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.members.get(self.member_id, set()).discard(self.member_role)

    def roles_of(self, actor_id: UUID) -> frozenset[str]:
        return frozenset(self.state.members.get(actor_id, set()))

    def holding(self, role: str) -> frozenset[UUID]:
        """The members who hold ``role`` now."""
        return frozenset(m for m, roles in self.state.members.items() if role in roles)
