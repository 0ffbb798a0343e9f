"""Campaign planning, executions and performance records."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import uuid4

from ledger import commands as c
from ledger.application.results import event_id
from ledger.domain.base import LedgerAggregate
from ledger.domain.campaign import OPEN_STATUSES, STATUS_EVENTS, TRANSITIONS, Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import APPROVED, Recommendation, RecommendationState
from ledger.errors import (
    ExecutionMismatch,
    InvalidCommand,
    InvalidTransition,
    NotFound,
)
from ledger.handlers.context import Context, Outcome
from ledger.policy.limits import (
    MANAGER_ALLOWANCE,
    Ask,
    budget_change_asks,
    launch_asks,
    require_spend_authority,
)
from ledger.policy.rights import require_right
from ledger.values import Budget, CampaignStatus, ProposedChange, Role


def plan_campaign(ctx: Context, cmd: c.PlanCampaign) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    if cmd.budget.currency != org.state.default_currency:
        raise InvalidCommand(
            "a campaign's budget is in its organization's currency",
            currency=org.state.default_currency,
        )
    campaign = Campaign._create(
        Campaign.Planned,
        id=uuid4(),
        name=cmd.name,
        objective=cmd.objective,
        channels=sorted({ch.value for ch in cmd.channels}),
        budget=cmd.budget.to_event(),
        kpi_targets=[t.to_event() for t in cmd.kpi_targets],
        **ctx.envelope(org.id, role).fields(),
    )
    return Outcome(campaign, created=True)


def load_campaign(
    ctx: Context, cmd: c.Execution | c.RecordPerformance
) -> tuple[Campaign, Organization, Role]:
    campaign = ctx.load(Campaign, cmd.campaign_id, "campaign")
    org = ctx.organization(campaign.state.organization_id, "campaign", of=campaign.id)
    role = require_right(org, ctx.actor, type(cmd), "campaign", campaign.id)
    return campaign, org, role


def _cited(ctx: Context, campaign: Campaign, cmd: c.Execution) -> Recommendation | None:
    if cmd.implements is None:
        if cmd.deviation_reason is not None:
            raise InvalidCommand(
                "a deviation reason needs a cited recommendation", campaign_id=campaign.id
            )
        return None
    rec = ctx.load(Recommendation, cmd.implements, "recommendation")
    if rec.state.organization_id != campaign.state.organization_id:
        raise NotFound("recommendation not found", recommendation_id=cmd.implements)
    if rec.state.campaign_id != campaign.id:
        raise InvalidCommand(
            "the cited recommendation is for another campaign",
            recommendation_id=rec.id,
            campaign_id=campaign.id,
        )
    if rec.state.kind != (cmd.kind.value if cmd.kind else None):
        raise InvalidCommand(
            f"a {rec.state.kind} recommendation cannot be carried out by this execution",
            recommendation_id=rec.id,
        )
    if rec.state.status not in APPROVED:
        raise InvalidTransition(
            f"only an approved recommendation can be carried out; it is {rec.state.status}",
            recommendation_id=rec.id,
        )
    return rec


def _matches(cmd: c.Execution, approved: ProposedChange) -> bool:
    if isinstance(cmd, c.AdjustBudget):
        return approved.budget == cmd.budget
    if isinstance(cmd, c.SetKpiTargets):
        key = lambda t: t.metric  # noqa: E731 - a sort key, named for readability
        return sorted(approved.kpi_targets or (), key=key) == sorted(cmd.kpi_targets, key=key)
    if isinstance(cmd, c.ChangeChannels):
        return set(approved.channels or ()) == set(cmd.channels)
    return True  # launch, pause, resume carry no values


def execute(
    ctx: Context,
    cmd: c.Execution,
    loaded: tuple[Campaign, Organization, Role],
    event_class: type[Campaign.Executed],
    **values: Any,
) -> Outcome:
    """Record an execution; when it cites a recommendation, mark that implemented too."""
    campaign, org, role = loaded
    rec = _cited(ctx, campaign, cmd)
    env = ctx.envelope(org.id, role)
    implements = None
    as_approved = True
    if rec is not None:
        approved = ProposedChange.from_event(rec.state.approved_change)
        as_approved = _matches(cmd, approved)
        if not as_approved and cmd.deviation_reason is None:
            raise ExecutionMismatch(
                "the execution differs from the approved values; state a deviation reason "
                "to record it as a deviation",
                recommendation_id=rec.id,
                approved=approved.model_dump_json(exclude_none=True),
            )
        if as_approved and cmd.deviation_reason is not None:
            raise InvalidCommand(
                "the execution matches the approval: there is no deviation",
                recommendation_id=rec.id,
            )
        implements = {"recommendation_id": str(rec.id), "revision": rec.state.approved_revision}
    campaign.record(
        event_class,
        env,
        implements=implements,
        deviation_reason=cmd.deviation_reason,
        note=cmd.note,
        **values,
    )
    others: list[LedgerAggregate] = []
    if rec is not None:
        # The execution's event caused this one (unless the caller named a cause already).
        cause = env.causation_id or str(event_id(campaign.id, campaign.version))
        caused = dataclasses.replace(env, causation_id=cause)
        rec.record(
            Recommendation.Implemented,
            caused,
            revision=rec.state.approved_revision,
            campaign_id=campaign.id,
            execution={
                "campaign_id": str(campaign.id),
                "version": campaign.version,
                "type": event_class.__name__,
            },
            as_approved=as_approved,
            deviation_reason=cmd.deviation_reason,
            note=cmd.note,
        )
        others.append(rec)
    return Outcome(campaign, others)


def change_status(ctx: Context, cmd: c.Execution) -> Outcome:
    loaded = load_campaign(ctx, cmd)
    campaign = loaded[0]
    allowed_from, status_to = TRANSITIONS[cmd.action]
    status = campaign.state.status
    if status not in allowed_from:
        raise InvalidTransition(
            f"cannot {cmd.action} a campaign that is {status}", campaign_id=campaign.id
        )
    if cmd.action != "launch":
        return execute(
            ctx, cmd, loaded, STATUS_EVENTS[cmd.action], status_from=status, status_to=status_to
        )
    ask = launch_asks(campaign.state, loaded[2], _cited_state(ctx, cmd))
    before = list(campaign.state.commitments)
    outcome = execute(
        ctx, cmd, loaded, Campaign.Launched, status_from=status, status_to=status_to, **ask.fields()
    )
    _within_allowance(ctx, loaded[1], campaign, ask, before)  # after the match check
    return outcome


def _require_open(campaign: Campaign, what: str) -> None:
    if campaign.state.status not in OPEN_STATUSES:
        raise InvalidTransition(
            f"cannot change {what} of a {campaign.state.status} campaign", campaign_id=campaign.id
        )


def adjust_budget(ctx: Context, cmd: c.AdjustBudget) -> Outcome:
    loaded = load_campaign(ctx, cmd)
    campaign, org, role = loaded
    _require_open(campaign, "the budget")
    if cmd.budget == Budget.from_event(campaign.state.budget):
        raise InvalidCommand("the budget given is the budget in force", campaign_id=campaign.id)
    if cmd.budget.currency != campaign.state.budget["currency"]:
        raise InvalidCommand(
            "the budget must stay in the campaign's currency",
            currency=campaign.state.budget["currency"],
        )
    ask = budget_change_asks(campaign.state, role, _cited_state(ctx, cmd), cmd.budget)
    before = list(campaign.state.commitments)
    outcome = execute(
        ctx,
        cmd,
        loaded,
        Campaign.BudgetAdjusted,
        budget_from=campaign.state.budget,
        budget_to=cmd.budget.to_event(),
        **ask.fields(),
    )
    _within_allowance(ctx, org, campaign, ask, before)  # after the match check, named first
    return outcome


def _cited_state(ctx: Context, cmd: c.Execution) -> RecommendationState | None:
    if cmd.implements is None:
        return None
    return ctx.load(Recommendation, cmd.implements, "recommendation").state


def _within_allowance(
    ctx: Context, org: Organization, campaign: Campaign, ask: Ask, before: list[dict[str, Any]]
) -> None:
    """Refuse when the manager's allowance of this period, as it stood ``before`` the
    execution was recorded, cannot hold what is asked (ADR 0012)."""
    if ask.authority == MANAGER_ALLOWANCE:
        require_spend_authority(org.state, before, ask.used, ctx.now, campaign.id)


def set_kpi_targets(ctx: Context, cmd: c.SetKpiTargets) -> Outcome:
    loaded = load_campaign(ctx, cmd)
    campaign = loaded[0]
    _require_open(campaign, "the KPI targets")
    metrics = [t.metric for t in cmd.kpi_targets]
    if len(set(metrics)) != len(metrics):
        raise InvalidCommand("each metric may have one target", campaign_id=campaign.id)
    return execute(
        ctx,
        cmd,
        loaded,
        Campaign.KpiTargetsSet,
        targets_from=campaign.state.kpi_targets,
        targets_to=[t.to_event() for t in cmd.kpi_targets],
    )


def change_channels(ctx: Context, cmd: c.ChangeChannels) -> Outcome:
    loaded = load_campaign(ctx, cmd)
    campaign = loaded[0]
    _require_open(campaign, "the channels")
    channels = sorted({ch.value for ch in cmd.channels})
    if channels == sorted(campaign.state.channels):
        raise InvalidCommand(
            "the channels given are the channels in force", campaign_id=campaign.id
        )
    return execute(
        ctx,
        cmd,
        loaded,
        Campaign.ChannelsChanged,
        channels_from=campaign.state.channels,
        channels_to=channels,
    )


def record_performance(ctx: Context, cmd: c.RecordPerformance) -> Outcome:
    campaign, org, role = load_campaign(ctx, cmd)
    if campaign.state.status == CampaignStatus.DRAFT:
        raise InvalidTransition(
            "a draft campaign has no performance to record", campaign_id=campaign.id
        )
    if cmd.corrects_version is not None and not any(
        p["version"] == cmd.corrects_version for p in campaign.state.performance
    ):
        raise InvalidCommand(
            "corrects_version names no performance record of this campaign",
            campaign_id=campaign.id,
            corrects_version=cmd.corrects_version,
        )
    campaign.record(
        Campaign.PerformanceRecorded,
        ctx.envelope(org.id, role),
        period_start=c.utc(cmd.period_start).isoformat(),
        period_end=c.utc(cmd.period_end).isoformat(),
        spend=cmd.spend.to_event(),
        impressions=cmd.impressions,
        clicks=cmd.clicks,
        conversions=cmd.conversions,
        revenue=cmd.revenue.to_event(),
        corrects_version=cmd.corrects_version,
    )
    return Outcome(campaign)
