"""Every command of the ledger as a resource-oriented POST under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.commanding import add_command
from ledger import commands as c

router = APIRouter(prefix="/v1")
ORG = ("organization_id",)
CAMPAIGN = ("campaign_id",)
REC = ("recommendation_id",)
ENG = ("organization_id", "engagement_id")
AGENCY = ("agency_id",)

add_command(
    router,
    "/organizations",
    c.CreateOrganization,
    path_fields=(),
    summary="Create an organization (platform operators)",
    location="/v1/organizations/{id}",
    example={"name": "Client A", "default_currency": "EUR", "approval_limit": "1000"},
)
add_command(
    router,
    "/organizations/{organization_id}/settings",
    c.ChangeOrganizationSettings,
    path_fields=ORG,
    summary="Change an organization's settings (admin)",
    example={"approval_limit": "2500"},
)
add_command(
    router,
    "/organizations/{organization_id}/memberships",
    c.GrantMembership,
    path_fields=ORG,
    summary="Grant a role (admin)",
    example={"member_id": "5f0c2b8e-2b7a-4c58-9d0c-6f4f1f3e2a11", "member_role": "manager"},
)
add_command(
    router,
    "/organizations/{organization_id}/memberships/revoke",
    c.RevokeMembership,
    path_fields=ORG,
    summary="Revoke a role (admin)",
    example={
        "member_id": "5f0c2b8e-2b7a-4c58-9d0c-6f4f1f3e2a11",
        "member_role": "manager",
        "reason": "left the company",
    },
)
add_command(
    router,
    "/organizations/{organization_id}/engagements",
    c.StartEngagement,
    path_fields=ORG,
    summary="Start an engagement with an agency",
    location="/v1/organizations/{organization_id}/engagements/{id}",
    example={
        "agency_id": "0b7e3c52-8d8f-4f0f-a3a6-6d0f4c1f9e20",
        "consultant_ids": ["9a1d7f3c-1e2b-4c3d-8e9f-0a1b2c3d4e5f"],
        "channels": ["ppc", "seo"],
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2026-12-31T00:00:00Z",
    },
)
add_command(
    router,
    "/organizations/{organization_id}/engagements/{engagement_id}/amend",
    c.AmendEngagement,
    path_fields=ENG,
    summary="Amend an engagement",
    example={"channels": ["ppc", "seo", "social"]},
)
add_command(
    router,
    "/organizations/{organization_id}/engagements/{engagement_id}/end",
    c.EndEngagement,
    path_fields=ENG,
    summary="End an engagement",
    example={"reason": "contract finished"},
)
add_command(
    router,
    "/agencies",
    c.RegisterAgency,
    path_fields=(),
    summary="Register an agency (platform operators)",
    location="/v1/agencies/{id}",
    example={"name": "Agency North"},
)
add_command(
    router,
    "/agencies/{agency_id}/members",
    c.AddAgencyMember,
    path_fields=AGENCY,
    summary="Add an agency admin or a consultant to the agency's roster (agency admin)",
    example={"member_id": "9a1d7f3c-1e2b-4c3d-8e9f-0a1b2c3d4e5f", "member_role": "consultant"},
)
add_command(
    router,
    "/agencies/{agency_id}/members/remove",
    c.RemoveAgencyMember,
    path_fields=AGENCY,
    summary="Remove someone from the agency's roster: it no longer acts for any client "
    "(agency admin)",
    example={
        "member_id": "9a1d7f3c-1e2b-4c3d-8e9f-0a1b2c3d4e5f",
        "member_role": "consultant",
        "reason": "left the agency",
    },
)
add_command(
    router,
    "/organizations/{organization_id}/campaigns",
    c.PlanCampaign,
    path_fields=ORG,
    summary="Plan a campaign (manager)",
    location="/v1/campaigns/{id}",
    example={
        "name": "Spring sale",
        "objective": "Grow online sales",
        "channels": ["ppc", "social"],
        "budget": {"amount": "5000", "currency": "EUR", "period": "monthly"},
        "kpi_targets": [{"metric": "roas", "target": "4", "unit": "ratio"}],
    },
)

for action, cls in [
    ("launch", c.LaunchCampaign),
    ("pause", c.PauseCampaign),
    ("resume", c.ResumeCampaign),
    ("complete", c.CompleteCampaign),
    ("cancel", c.CancelCampaign),
]:
    add_command(
        router,
        f"/campaigns/{{campaign_id}}/{action}",
        cls,
        path_fields=CAMPAIGN,
        summary=f"{action.capitalize()} a campaign (manager or executive)",
        example={"note": "as planned"},
    )
add_command(
    router,
    "/campaigns/{campaign_id}/budget",
    c.AdjustBudget,
    path_fields=CAMPAIGN,
    summary="Adjust a campaign's budget (manager or executive)",
    example={
        "budget": {"amount": "5500", "currency": "EUR", "period": "monthly"},
        "implements": "3c8a1f8e-6a57-4f4e-9b8a-2f1e0d9c8b7a",
    },
)
add_command(
    router,
    "/campaigns/{campaign_id}/kpi-targets",
    c.SetKpiTargets,
    path_fields=CAMPAIGN,
    summary="Set KPI targets (manager)",
    example={"kpi_targets": [{"metric": "cpa", "target": "12.50", "unit": "EUR"}]},
)
add_command(
    router,
    "/campaigns/{campaign_id}/channels",
    c.ChangeChannels,
    path_fields=CAMPAIGN,
    summary="Change a campaign's channels (manager or executive)",
    example={"channels": ["ppc", "social", "email"]},
)
add_command(
    router,
    "/campaigns/{campaign_id}/performance",
    c.RecordPerformance,
    path_fields=CAMPAIGN,
    summary="Record performance for a period",
    example={
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-03-08T00:00:00Z",
        "spend": {"amount": "1200.00", "currency": "EUR"},
        "impressions": 120000,
        "clicks": 2400,
        "conversions": 96,
        "revenue": {"amount": "4800.00", "currency": "EUR"},
    },
)

add_command(
    router,
    "/organizations/{organization_id}/recommendations",
    c.Recommend,
    path_fields=ORG,
    summary="Recommend a change (consultant with an active engagement)",
    location="/v1/recommendations/{id}",
    example={
        "engagement_id": "6e1f0c3a-2b4d-4e6f-8a9b-0c1d2e3f4a5b",
        "campaign_id": "7d2e1f0a-3b4c-4d5e-8f9a-0b1c2d3e4f5a",
        "kind": "adjust_budget",
        "change": {"budget": {"amount": "5500", "currency": "EUR", "period": "monthly"}},
        "rationale": "CPA fell 18% on PPC",
        "evidence": ["report-2026-02"],
        "expected_impact": "+12% conversions",
        "expires_at": "2026-12-31T00:00:00Z",
    },
)
add_command(
    router,
    "/recommendations/{recommendation_id}/amend",
    c.AmendRecommendation,
    path_fields=REC,
    summary="Amend a pending recommendation (its author)",
    example={
        "revision": 1,
        "change": {"budget": {"amount": "5400", "currency": "EUR", "period": "monthly"}},
        "rationale": "CPA fell 18% on PPC",
        "expected_impact": "+10% conversions",
        "expires_at": "2026-12-31T00:00:00Z",
    },
)
add_command(
    router,
    "/recommendations/{recommendation_id}/withdraw",
    c.WithdrawRecommendation,
    path_fields=REC,
    summary="Withdraw a pending recommendation (its author)",
    example={"revision": 1, "reason": "superseded"},
)
add_command(
    router,
    "/recommendations/{recommendation_id}/approve",
    c.Approve,
    path_fields=REC,
    summary="Approve a revision (manager or executive, never its author)",
    example={"revision": 1, "note": "go"},
)
add_command(
    router,
    "/recommendations/{recommendation_id}/approve-with-changes",
    c.ApproveWithChanges,
    path_fields=REC,
    summary="Approve a revision with changes",
    example={
        "revision": 1,
        "approved_change": {"budget": {"amount": "5250", "currency": "EUR", "period": "monthly"}},
        "note": "half the increase for now",
    },
)
add_command(
    router,
    "/recommendations/{recommendation_id}/reject",
    c.Reject,
    path_fields=REC,
    summary="Reject a revision with a reason code and text",
    example={
        "revision": 1,
        "reason_code": "budget_constraints",
        "reason_text": "Q2 budget is frozen",
    },
)
add_command(
    router,
    "/recommendations/{recommendation_id}/escalate",
    c.Escalate,
    path_fields=REC,
    summary="Escalate a revision to leadership (manager)",
    example={"revision": 1, "note": "above my remit"},
)
add_command(
    router,
    "/recommendations/{recommendation_id}/expire",
    c.ExpireRecommendation,
    path_fields=REC,
    summary="Record that a recommendation passed its expiry",
)
add_command(
    router,
    "/recommendations/{recommendation_id}/mark-implemented",
    c.MarkImplemented,
    path_fields=REC,
    summary="Record that an approved advisory recommendation was done",
    example={"note": "workshop held on 12 March"},
)
