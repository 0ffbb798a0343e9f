"""One valid command per command class, in a world brought to where it would be accepted.

The decision-rights tests issue each one as every role: the roles the policy's table allows
must be accepted, every other caller refused. A command class without a scenario here makes
those tests fail, so a new command cannot escape the table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

from ledger import commands as c
from ledger.identity import Actor
from ledger.values import (
    AgencyRole,
    Channel,
    KpiTarget,
    MemberRole,
    ProposedChange,
    RecommendationKind,
)
from tests.ledger.checks import (
    actors_by_role,
    bring_to,
    decision,
    limit_above_the_campaign,
    performance,
)
from tests.support import World, budget

Scenario = Callable[[World], c.Command]
ROLES = (
    "manager",
    "executive",
    "auditor",
    "admin",
    "integration",
    "consultant",
    "agency_admin",
    "operator",
    "system",
    "outsider",
)


def callers(world: World) -> dict[str, Actor]:
    """Every caller the table distinguishes, the platform's two included."""
    system = Actor(uuid4(), system=True)
    return {
        **actors_by_role(world),
        "agency_admin": world.agency_admin,
        "operator": world.operator,
        "system": system,
    }


def _expired(world: World) -> c.Command:
    rec_id = world.recommend(days=1)
    world.clock.advance(timedelta(days=2))
    return c.ExpireRecommendation(recommendation_id=rec_id)


def _implemented(world: World) -> c.Command:
    rec_id = world.recommend(kind="strategy")
    world.approve(rec_id)
    return c.MarkImplemented(recommendation_id=rec_id, note="workshop held")


def _status(cls: type[c.Execution], status: str) -> Scenario:
    def make(world: World) -> c.Command:
        bring_to(world, status)
        return cls(campaign_id=world.campaign_id)

    return make


def _launch(world: World) -> c.Command:
    """A draft within the manager's approval limit, so the limit does not decide."""
    limit_above_the_campaign(world)
    return c.LaunchCampaign(campaign_id=world.campaign_id)


def _active_performance(world: World) -> c.Command:
    bring_to(world, "active")
    return performance(world)


def _engagement_end(world: World) -> c.Command:
    return c.EndEngagement(
        organization_id=world.org_id, engagement_id=world.engagement_id, reason="done"
    )


SCENARIOS: dict[type[c.Command], Scenario] = {
    c.CreateOrganization: lambda w: c.CreateOrganization(
        name="Client B", default_currency="EUR", approval_limit=Decimal(1000)
    ),
    c.ChangeOrganizationSettings: lambda w: c.ChangeOrganizationSettings(
        organization_id=w.org_id, name="Client A2"
    ),
    c.GrantMembership: lambda w: c.GrantMembership(
        organization_id=w.org_id, member_id=uuid4(), member_role=MemberRole.AUDITOR
    ),
    c.RevokeMembership: lambda w: c.RevokeMembership(
        organization_id=w.org_id,
        member_id=w.auditor.actor_id,
        member_role=MemberRole.AUDITOR,
        reason="left",
    ),
    c.StartEngagement: lambda w: c.StartEngagement(
        organization_id=w.org_id,
        agency_id=uuid4(),
        consultant_ids=(uuid4(),),
        channels=(Channel.SEO,),
        starts_at=w.clock.now,
        ends_at=w.clock.now + timedelta(days=30),
    ),
    c.AmendEngagement: lambda w: c.AmendEngagement(
        organization_id=w.org_id, engagement_id=w.engagement_id, channels=(Channel.SEO,)
    ),
    c.EndEngagement: _engagement_end,
    c.RegisterAgency: lambda w: c.RegisterAgency(name="Agency South"),
    c.AddAgencyMember: lambda w: c.AddAgencyMember(
        agency_id=w.agency(), member_id=uuid4(), member_role=AgencyRole.CONSULTANT
    ),
    c.RemoveAgencyMember: lambda w: c.RemoveAgencyMember(
        agency_id=w.agency(),
        member_id=w.consultant.actor_id,
        member_role=AgencyRole.CONSULTANT,
        reason="left the agency",
    ),
    c.PlanCampaign: lambda w: c.PlanCampaign(
        organization_id=w.org_id,
        name="Autumn",
        objective="Leads",
        channels=(Channel.SEO,),
        budget=budget("800"),
    ),
    c.LaunchCampaign: _launch,
    c.PauseCampaign: _status(c.PauseCampaign, "active"),
    c.ResumeCampaign: _status(c.ResumeCampaign, "paused"),
    c.CompleteCampaign: _status(c.CompleteCampaign, "active"),
    c.CancelCampaign: _status(c.CancelCampaign, "draft"),
    c.AdjustBudget: lambda w: c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("5500")),
    c.SetKpiTargets: lambda w: c.SetKpiTargets(
        campaign_id=w.campaign_id,
        kpi_targets=(KpiTarget(metric="cpa", target=Decimal("12.50"), unit="EUR"),),
    ),
    c.ChangeChannels: lambda w: c.ChangeChannels(
        campaign_id=w.campaign_id, channels=(Channel.SEO,)
    ),
    c.RecordPerformance: _active_performance,
    c.Recommend: lambda w: c.Recommend(
        organization_id=w.org_id,
        engagement_id=w.engagement_id,
        campaign_id=w.campaign_id,
        kind=RecommendationKind.ADJUST_BUDGET,
        change=ProposedChange(budget=budget("5500")),
        rationale="CPA is falling",
        evidence=(),
        expected_impact="more leads",
        expires_at=w.clock.now + timedelta(days=14),
    ),
    c.AmendRecommendation: lambda w: c.AmendRecommendation(
        recommendation_id=w.recommend(),
        revision=1,
        change=ProposedChange(budget=budget("5600")),
        rationale="CPA fell further",
        evidence=(),
        expected_impact="more leads",
        expires_at=w.clock.now + timedelta(days=14),
    ),
    c.WithdrawRecommendation: lambda w: c.WithdrawRecommendation(
        recommendation_id=w.recommend(), revision=1, reason="superseded"
    ),
    c.Approve: lambda w: decision("approve", w.recommend()),
    c.ApproveWithChanges: lambda w: decision("approve_with_changes", w.recommend()),
    c.Reject: lambda w: decision("reject", w.recommend()),
    c.Escalate: lambda w: decision("escalate", w.recommend()),
    c.ExpireRecommendation: _expired,
    c.MarkImplemented: _implemented,
}
