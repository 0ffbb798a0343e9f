"""A story that records every kind of event the ledger has, once or more, through the
ledger's own commands; and the ids a test needs to find its rows again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from ledger import commands as c
from ledger.values import (
    Channel,
    KpiTarget,
    MemberRole,
    Money,
    ProposedChange,
    RejectionReason,
)
from tests.support import World, budget


@dataclass
class Story:
    implemented: UUID  # amended, approved, carried out as approved
    rejected: UUID
    deviated: UUID  # above the limit: executive approval, carried out with a deviation
    escalated: UUID  # escalated, still awaiting an executive
    advisory: UUID  # approved with changes, marked implemented
    withdrawn: UUID
    expired: UUID
    not_implemented: UUID  # approved, never carried out
    cancelled_campaign: UUID


def money(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def tell(w: World) -> Story:
    m, cid = w.manager, w.campaign_id
    w.run(
        w.admin,
        c.ChangeOrganizationSettings(organization_id=w.org_id, approval_limit=Decimal("2000")),
    )
    w.run(
        w.admin,
        c.RevokeMembership(
            organization_id=w.org_id,
            member_id=w.auditor.actor_id,
            member_role=MemberRole.AUDITOR,
            reason="left the company",
        ),
    )
    w.run(
        w.admin,
        c.AmendEngagement(
            organization_id=w.org_id,
            engagement_id=w.engagement_id,
            channels=(Channel.PPC, Channel.SEO, Channel.SOCIAL, Channel.EMAIL),
        ),
    )
    w.run(
        m,
        c.SetKpiTargets(
            campaign_id=cid,
            kpi_targets=(
                KpiTarget(metric="cpa", target=Decimal("20"), unit="EUR"),
                KpiTarget(metric="ctr", target=Decimal("2"), unit="%"),
            ),
        ),
    )
    w.launch()
    start = w.clock.now - timedelta(days=1)
    first = w.run(
        w.integration,
        c.RecordPerformance(
            campaign_id=cid,
            period_start=start,
            period_end=w.clock.now,
            spend=money("100"),
            impressions=10_000,
            clicks=100,
            conversions=4,
            revenue=money("400"),
        ),
    )
    w.run(
        m,
        c.RecordPerformance(
            campaign_id=cid,
            period_start=start,
            period_end=w.clock.now,
            spend=money("120"),
            impressions=10_000,
            clicks=150,
            conversions=5,
            revenue=money("500"),
            corrects_version=first.version,
        ),
    )

    implemented = w.recommend(change=ProposedChange(budget=budget("5500")))
    w.run(
        w.consultant,
        c.AmendRecommendation(
            recommendation_id=implemented,
            revision=1,
            change=ProposedChange(budget=budget("5600")),
            rationale="a little more",
            expected_impact="+14% conversions",
            expires_at=w.clock.now + timedelta(days=14),
        ),
    )
    w.approve(implemented, revision=2)
    w.run(m, c.AdjustBudget(campaign_id=cid, budget=budget("5600"), implements=implemented))

    rejected = w.recommend(kind="pause")
    w.run(
        m,
        c.Reject(
            recommendation_id=rejected,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="peak season",
        ),
    )

    deviated = w.recommend(change=ProposedChange(budget=budget("9000")))
    w.approve(deviated)  # above the limit: awaits the executive
    w.approve(deviated, actor=w.executive)
    w.run(
        m,
        c.AdjustBudget(
            campaign_id=cid,
            budget=budget("8000"),
            implements=deviated,
            deviation_reason="supplier capacity",
        ),
    )

    escalated = w.recommend(
        kind="change_channels",
        change=ProposedChange(channels=(Channel.PPC, Channel.SOCIAL, Channel.EMAIL)),
    )
    w.run(m, c.Escalate(recommendation_id=escalated, revision=1, note="strategic"))

    advisory = w.recommend(kind="strategy")
    w.run(
        m,
        c.ApproveWithChanges(
            recommendation_id=advisory,
            revision=1,
            approved_change=ProposedChange(),
            note="only for Q2",
        ),
    )
    w.run(m, c.MarkImplemented(recommendation_id=advisory, note="done in the Q2 plan"))

    withdrawn = w.recommend(kind="pause")
    w.run(
        w.consultant,
        c.WithdrawRecommendation(recommendation_id=withdrawn, revision=1, reason="superseded"),
    )
    expired = w.recommend(kind="resume", days=1)
    not_implemented = w.recommend(
        kind="set_kpi_targets",
        change=ProposedChange(
            kpi_targets=(KpiTarget(metric="roas", target=Decimal("3"), unit="x"),)
        ),
    )
    w.approve(not_implemented)
    w.clock.advance(timedelta(days=2))
    w.run(m, c.ExpireRecommendation(recommendation_id=expired))

    w.run(m, c.PauseCampaign(campaign_id=cid))
    w.run(m, c.ResumeCampaign(campaign_id=cid, note="back on"))
    w.run(m, c.ChangeChannels(campaign_id=cid, channels=(Channel.PPC,)))
    w.run(m, c.CompleteCampaign(campaign_id=cid), idempotency_key="complete-spring")
    other = w.plan()
    w.run(m, c.CancelCampaign(campaign_id=other))
    w.run(
        w.admin,
        c.EndEngagement(
            organization_id=w.org_id, engagement_id=w.engagement_id, reason="contract over"
        ),
    )
    return Story(
        implemented,
        rejected,
        deviated,
        escalated,
        advisory,
        withdrawn,
        expired,
        not_implemented,
        other,
    )
