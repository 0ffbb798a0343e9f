"""The organization (tenant): settings, memberships and the engagements it contracted.

Memberships and engagements live in this one aggregate because every command checks them:
one load answers "which roles does this actor hold here, and through which engagement may
it act?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate


@dataclass
class EngagementTerms:
    """An agency's contract with the organization, as it stands now."""

    engagement_id: UUID
    agency_id: UUID
    consultant_ids: frozenset[UUID]
    channels: frozenset[str]
    campaign_ids: frozenset[UUID] | None
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None

    def is_active(self, at: datetime) -> bool:
        return self.ended_at is None and self.starts_at <= at < self.ends_at

    def covers(self, channels: frozenset[str], campaign_id: UUID | None) -> bool:
        """True when the scope covers every channel given and the campaign, if scoped."""
        if self.campaign_ids is not None and campaign_id not in self.campaign_ids:
            return False
        return channels <= self.channels


@dataclass
class OrganizationState:
    name: str = ""
    default_currency: str = ""
    approval_limit: Decimal = Decimal(0)
    limit_period: str = "calendar_month"
    time_zone: str = "UTC"
    memberships: dict[UUID, set[str]] = field(default_factory=dict)
    engagements: dict[UUID, EngagementTerms] = field(default_factory=dict)


class Organization(LedgerAggregate):
    state: OrganizationState = field(init=False)

    class Created(LedgerAggregate.Created):
        name: str
        default_currency: str
        approval_limit: Decimal

        def apply(self, aggregate: Any) -> None:
            aggregate.state = OrganizationState(
                name=self.name,
                default_currency=self.default_currency,
                approval_limit=self.approval_limit,
            )

    class SettingsChanged(LedgerAggregate.Event):
        settings_from: dict[str, Any]
        settings_to: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            s: OrganizationState = aggregate.state
            s.name = self.settings_to["name"]
            s.default_currency = self.settings_to["default_currency"]
            s.approval_limit = Decimal(self.settings_to["approval_limit"])
            # Added by ADR 0012; settings changed before it keep the defaults.
            s.limit_period = self.settings_to.get("limit_period", s.limit_period)
            s.time_zone = self.settings_to.get("time_zone", s.time_zone)

    class MembershipGranted(LedgerAggregate.Event):
        member_id: UUID
        member_role: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.memberships.setdefault(self.member_id, set()).add(self.member_role)

    class MembershipRevoked(LedgerAggregate.Event):
        member_id: UUID
        member_role: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.memberships.get(self.member_id, set()).discard(self.member_role)

    class EngagementStarted(LedgerAggregate.Event):
        """The envelope's ``engagement_id`` names the engagement started."""

        agency_id: UUID
        consultant_ids: list[UUID]
        channels: list[str]
        campaign_ids: list[UUID] | None
        starts_at: datetime
        ends_at: datetime

        def apply(self, aggregate: Any) -> None:
            assert self.engagement_id is not None
            aggregate.state.engagements[self.engagement_id] = EngagementTerms(
                engagement_id=self.engagement_id,
                agency_id=self.agency_id,
                consultant_ids=frozenset(self.consultant_ids),
                channels=frozenset(self.channels),
                campaign_ids=None if self.campaign_ids is None else frozenset(self.campaign_ids),
                starts_at=self.starts_at,
                ends_at=self.ends_at,
            )

    class EngagementAmended(LedgerAggregate.Event):
        terms_from: dict[str, Any]
        terms_to: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            terms: EngagementTerms = aggregate.state.engagements[self.engagement_id]
            to = self.terms_to
            terms.consultant_ids = frozenset(UUID(c) for c in to["consultant_ids"])
            terms.channels = frozenset(to["channels"])
            ids = to["campaign_ids"]
            terms.campaign_ids = None if ids is None else frozenset(UUID(c) for c in ids)
            terms.ends_at = datetime.fromisoformat(to["ends_at"])

    class EngagementEnded(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.engagements[self.engagement_id].ended_at = self.timestamp

    def roles_of(self, actor_id: UUID) -> frozenset[str]:
        return frozenset(self.state.memberships.get(actor_id, set()))

    def engagements_of(self, actor_id: UUID) -> list[EngagementTerms]:
        return [e for e in self.state.engagements.values() if actor_id in e.consultant_ids]
