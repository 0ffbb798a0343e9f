"""Commands: what a caller asks the ledger to do, in the imperative.

Frozen, strict pydantic models that forbid unknown fields. The envelope (actor, role,
party, organization, time) is never part of a command: the ledger derives it from the
acting identity. ``expected_version`` is set by the caller's precondition (HTTP If-Match),
never by a request body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from ledger.values import (
    AgencyRole,
    Amount,
    Budget,
    Channel,
    Currency,
    EvidenceItem,
    KpiTarget,
    LimitPeriod,
    MemberRole,
    Money,
    Name,
    Note,
    ProposedChange,
    Reason,
    RecommendationKind,
    RejectionReason,
    Text,
    TimeZone,
)

Evidence = Annotated[tuple[EvidenceItem, ...], Field(max_length=50)]
Channels = Annotated[tuple[Channel, ...], Field(min_length=1, max_length=10)]
Version = Annotated[int, Field(ge=1, le=10**12)]
Count = Annotated[int, Field(ge=0, le=10**15)]


class Command(BaseModel):
    """Base of every command."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    creates: ClassVar[bool] = False
    expected_version: Version | None = None


# Organizations, memberships, engagements


class CreateOrganization(Command):
    creates = True
    name: Name
    default_currency: Currency
    approval_limit: Amount


class ChangeOrganizationSettings(Command):
    organization_id: UUID
    name: Name | None = None
    default_currency: Currency | None = None
    approval_limit: Amount | None = None
    limit_period: LimitPeriod | None = None
    time_zone: TimeZone | None = None


class GrantMembership(Command):
    organization_id: UUID
    member_id: UUID
    member_role: MemberRole


class RevokeMembership(Command):
    organization_id: UUID
    member_id: UUID
    member_role: MemberRole
    reason: Reason


class StartEngagement(Command):
    creates = True
    organization_id: UUID
    agency_id: UUID
    consultant_ids: Annotated[tuple[UUID, ...], Field(min_length=1, max_length=100)]
    channels: Channels
    campaign_ids: Annotated[tuple[UUID, ...], Field(max_length=1000)] | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _period(self) -> StartEngagement:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AmendEngagement(Command):
    organization_id: UUID
    engagement_id: UUID
    consultant_ids: Annotated[tuple[UUID, ...], Field(min_length=1, max_length=100)] | None = None
    channels: Channels | None = None
    campaign_ids: Annotated[tuple[UUID, ...], Field(max_length=1000)] | None = None
    ends_at: AwareDatetime | None = None


class EndEngagement(Command):
    organization_id: UUID
    engagement_id: UUID
    reason: Reason


# Agencies (ADR 0016)


class RegisterAgency(Command):
    creates = True
    name: Name


class AddAgencyMember(Command):
    agency_id: UUID
    member_id: UUID
    member_role: AgencyRole


class RemoveAgencyMember(Command):
    agency_id: UUID
    member_id: UUID
    member_role: AgencyRole
    reason: Reason


# Campaigns


class PlanCampaign(Command):
    creates = True
    organization_id: UUID
    name: Name
    objective: Text
    channels: Channels
    budget: Budget
    kpi_targets: Annotated[tuple[KpiTarget, ...], Field(max_length=50)] = ()


class Execution(Command):
    """A manager's action on a campaign; it may cite the recommendation it carries out."""

    action: ClassVar[str] = ""
    kind: ClassVar[RecommendationKind | None] = None
    campaign_id: UUID
    implements: UUID | None = None
    deviation_reason: Reason | None = None
    note: Note | None = None


class LaunchCampaign(Execution):
    action = "launch"
    kind = RecommendationKind.LAUNCH


class PauseCampaign(Execution):
    action = "pause"
    kind = RecommendationKind.PAUSE


class ResumeCampaign(Execution):
    action = "resume"
    kind = RecommendationKind.RESUME


class CompleteCampaign(Execution):
    action = "complete"


class CancelCampaign(Execution):
    action = "cancel"


class AdjustBudget(Execution):
    kind = RecommendationKind.ADJUST_BUDGET
    budget: Budget


class SetKpiTargets(Execution):
    kind = RecommendationKind.SET_KPI_TARGETS
    kpi_targets: Annotated[tuple[KpiTarget, ...], Field(min_length=1, max_length=50)]


class ChangeChannels(Execution):
    kind = RecommendationKind.CHANGE_CHANNELS
    channels: Channels


class RecordPerformance(Command):
    campaign_id: UUID
    period_start: AwareDatetime
    period_end: AwareDatetime
    spend: Money
    impressions: Count
    clicks: Count
    conversions: Count
    revenue: Money
    corrects_version: Version | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RecordPerformance:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        if self.clicks > self.impressions:
            raise ValueError("clicks cannot exceed impressions")
        if self.spend.currency != self.revenue.currency:
            raise ValueError("spend and revenue must share one currency")
        return self


# Recommendations


class Recommend(Command):
    creates = True
    organization_id: UUID
    engagement_id: UUID
    campaign_id: UUID | None = None
    kind: RecommendationKind
    change: ProposedChange = ProposedChange()
    rationale: Text
    evidence: Evidence = ()
    expected_impact: Text
    expires_at: AwareDatetime


class AmendRecommendation(Command):
    recommendation_id: UUID
    revision: Version
    change: ProposedChange = ProposedChange()
    rationale: Text
    evidence: Evidence = ()
    expected_impact: Text
    expires_at: AwareDatetime


class WithdrawRecommendation(Command):
    recommendation_id: UUID
    revision: Version
    reason: Reason


class Decision(Command):
    recommendation_id: UUID
    revision: Version


class Approve(Decision):
    note: Note | None = None


class ApproveWithChanges(Decision):
    approved_change: ProposedChange
    note: Text


class Reject(Decision):
    reason_code: RejectionReason
    reason_text: Reason


class Escalate(Decision):
    note: Note | None = None


class ExpireRecommendation(Command):
    recommendation_id: UUID


class MarkImplemented(Command):
    """Records that an approved advisory recommendation (no direct action) was carried out."""

    recommendation_id: UUID
    note: Text


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
