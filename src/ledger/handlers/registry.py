"""Which handler serves which command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import commands as c
from ledger.handlers import agencies, campaigns, organizations, recommendations
from ledger.handlers.context import Context, Outcome

HANDLERS: dict[type[c.Command], Callable[[Context, Any], Outcome]] = {
    c.CreateOrganization: organizations.create_organization,
    c.ChangeOrganizationSettings: organizations.change_settings,
    c.GrantMembership: organizations.grant_membership,
    c.RevokeMembership: organizations.revoke_membership,
    c.StartEngagement: organizations.start_engagement,
    c.AmendEngagement: organizations.amend_engagement,
    c.EndEngagement: organizations.end_engagement,
    c.RegisterAgency: agencies.register_agency,
    c.AddAgencyMember: agencies.add_member,
    c.RemoveAgencyMember: agencies.remove_member,
    c.PlanCampaign: campaigns.plan_campaign,
    c.LaunchCampaign: campaigns.change_status,
    c.PauseCampaign: campaigns.change_status,
    c.ResumeCampaign: campaigns.change_status,
    c.CompleteCampaign: campaigns.change_status,
    c.CancelCampaign: campaigns.change_status,
    c.AdjustBudget: campaigns.adjust_budget,
    c.SetKpiTargets: campaigns.set_kpi_targets,
    c.ChangeChannels: campaigns.change_channels,
    c.RecordPerformance: campaigns.record_performance,
    c.Recommend: recommendations.recommend,
    c.AmendRecommendation: recommendations.amend,
    c.WithdrawRecommendation: recommendations.withdraw,
    c.Approve: recommendations.approve,
    c.ApproveWithChanges: recommendations.approve_with_changes,
    c.Reject: recommendations.reject,
    c.Escalate: recommendations.escalate,
    c.ExpireRecommendation: recommendations.expire,
    c.MarkImplemented: recommendations.mark_implemented,
}
