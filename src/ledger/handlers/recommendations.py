"""Recommendations: recommend, amend, withdraw, decide, expire, mark implemented."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger import commands as c
from ledger.domain.campaign import Campaign
from ledger.domain.organization import EngagementTerms, Organization
from ledger.domain.recommendation import APPROVED, DECIDABLE, Recommendation
from ledger.errors import (
    InvalidCommand,
    InvalidTransition,
    NotFound,
    RecommendationExpired,
    RevisionConflict,
)
from ledger.handlers.context import Context, Outcome
from ledger.policy.limits import (
    commitment,
    period_start,
    raised_by,
    used_since,
    within_spend_authority,
)
from ledger.policy.rights import (
    author_only,
    executive_needed,
    limit_applies,
    on_roster,
    require_engagement,
    require_recommendation_visible,
    require_right,
    roster,
    segregation_of_duties,
    within_scope,
)
from ledger.values import (
    ACTIONABLE_KINDS,
    CampaignStatus,
    ProposedChange,
    RecommendationKind,
    RecommendationStatus,
    Role,
)

CLOSED_CAMPAIGN = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
K = RecommendationKind
S = RecommendationStatus
FIELD_OF_KIND = {
    K.ADJUST_BUDGET: "budget",
    K.SET_KPI_TARGETS: "kpi_targets",
    K.CHANGE_CHANNELS: "channels",
}


def check_change(
    kind: RecommendationKind, change: ProposedChange, campaign: Campaign | None
) -> None:
    """The proposed change carries exactly the values its kind needs."""
    given = {f for f in ("budget", "kpi_targets", "channels") if getattr(change, f) is not None}
    needed = {FIELD_OF_KIND[kind]} if kind in FIELD_OF_KIND else set()
    if given != needed:
        want = ", ".join(sorted(needed)) or "no values"
        raise InvalidCommand(
            f"a {kind.value} recommendation carries {want} in its change",
            kind=kind.value,
            given=",".join(sorted(given)) or "none",
        )
    if kind in ACTIONABLE_KINDS and campaign is None:
        raise InvalidCommand(f"a {kind.value} recommendation must name a campaign", kind=kind.value)
    if change.kpi_targets is not None:
        metrics = [t.metric for t in change.kpi_targets]
        if not metrics or len(set(metrics)) != len(metrics):
            raise InvalidCommand("KPI targets need at least one target, one per metric")
    if change.channels is not None and not change.channels:
        raise InvalidCommand("a channel change needs at least one channel")
    if change.budget is not None and campaign is not None:
        currency = campaign.state.budget["currency"]
        if change.budget.currency != currency:
            raise InvalidCommand("the budget must be in the campaign's currency", currency=currency)


def _within_scope(terms: EngagementTerms, change: ProposedChange) -> None:
    if change.channels is not None:
        within_scope(terms, frozenset(ch.value for ch in change.channels))


def _campaign_of(ctx: Context, org: Organization, campaign_id: UUID | None) -> Campaign | None:
    if campaign_id is None:
        return None
    campaign = ctx.load(Campaign, campaign_id, "campaign")
    if campaign.state.organization_id != org.id:
        raise NotFound("campaign not found", campaign_id=campaign_id)
    return campaign


def recommend(ctx: Context, cmd: c.Recommend) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    require_right(org, ctx.actor, type(cmd), "organization", org.id)
    campaign = _campaign_of(ctx, org, cmd.campaign_id)
    channels = frozenset(campaign.state.channels) if campaign else frozenset()
    terms = require_engagement(
        org,
        ctx.actor,
        cmd.engagement_id,
        at=ctx.now,
        channels=channels,
        campaign_id=cmd.campaign_id,
    )
    on_roster(roster(ctx.agency(terms.agency_id)), ctx.actor, terms)
    check_change(cmd.kind, cmd.change, campaign)
    _within_scope(terms, cmd.change)
    if campaign is not None and campaign.state.status in CLOSED_CAMPAIGN:
        raise InvalidTransition(f"the campaign is {campaign.state.status}", campaign_id=campaign.id)
    if c.utc(cmd.expires_at) <= ctx.now:
        raise InvalidCommand("expires_at must be in the future")
    rec = Recommendation._create(
        Recommendation.Recommended,
        id=uuid4(),
        campaign_id=cmd.campaign_id,
        kind=cmd.kind.value,
        change=cmd.change.to_event(),
        rationale=cmd.rationale,
        evidence=list(cmd.evidence),
        expected_impact=cmd.expected_impact,
        expires_at=c.utc(cmd.expires_at),
        **ctx.envelope(org.id, Role.CONSULTANT, cmd.engagement_id).fields(),
    )
    return Outcome(rec, created=True)


def _as_author(
    ctx: Context, cmd: c.AmendRecommendation | c.WithdrawRecommendation
) -> tuple[Recommendation, Organization, Campaign | None]:
    rec = ctx.load(Recommendation, cmd.recommendation_id, "recommendation")
    org = ctx.organization(rec.state.organization_id, "recommendation", of=rec.id)
    _require_sees_recommendation(ctx, org, rec)
    require_right(org, ctx.actor, type(cmd), "recommendation", rec.id)
    author_only(ctx.actor, rec.state.author_id, rec.id)
    _not_lapsed(ctx, rec)
    if rec.state.status != S.PENDING or cmd.revision != rec.state.current.number:
        raise RevisionConflict(
            "only the current revision of a pending recommendation can be changed",
            recommendation_id=rec.id,
            current_revision=rec.state.current.number,
            status=rec.state.status,
        )
    return rec, org, _campaign_of(ctx, org, rec.state.campaign_id)


def _require_sees_recommendation(ctx: Context, org: Organization, rec: Recommendation) -> None:
    require_recommendation_visible(org, ctx.actor, rec.state.engagement_id, rec.id)


def amend(ctx: Context, cmd: c.AmendRecommendation) -> Outcome:
    rec, org, campaign = _as_author(ctx, cmd)
    channels = frozenset(campaign.state.channels) if campaign else frozenset()
    terms = require_engagement(
        org,
        ctx.actor,
        rec.state.engagement_id,
        at=ctx.now,
        channels=channels,
        campaign_id=rec.state.campaign_id,
    )
    on_roster(roster(ctx.agency(terms.agency_id)), ctx.actor, terms)
    check_change(K(rec.state.kind), cmd.change, campaign)
    _within_scope(terms, cmd.change)
    if c.utc(cmd.expires_at) <= ctx.now:
        raise InvalidCommand("expires_at must be in the future")
    rec.record(
        Recommendation.Amended,
        ctx.envelope(org.id, Role.CONSULTANT, rec.state.engagement_id),
        revision=rec.state.current.number + 1,
        change=cmd.change.to_event(),
        rationale=cmd.rationale,
        evidence=list(cmd.evidence),
        expected_impact=cmd.expected_impact,
        expires_at=c.utc(cmd.expires_at),
    )
    return Outcome(rec)


def withdraw(ctx: Context, cmd: c.WithdrawRecommendation) -> Outcome:
    rec, org, _ = _as_author(ctx, cmd)
    rec.record(
        Recommendation.Withdrawn,
        ctx.envelope(org.id, Role.CONSULTANT, rec.state.engagement_id),
        revision=rec.state.current.number,
        reason=cmd.reason,
    )
    return Outcome(rec)


def _decider(ctx: Context, cmd: c.Decision) -> tuple[Recommendation, Organization, Role]:
    rec = ctx.load(Recommendation, cmd.recommendation_id, "recommendation")
    org = ctx.organization(rec.state.organization_id, "recommendation", of=rec.id)
    _require_sees_recommendation(ctx, org, rec)
    role = require_right(org, ctx.actor, type(cmd), "recommendation", rec.id)
    s = rec.state
    segregation_of_duties(ctx.actor, s.author_id, rec.id)
    _not_lapsed(ctx, rec)
    if s.status == S.WITHDRAWN or cmd.revision != s.current.number:
        raise RevisionConflict(
            f"the decision names revision {cmd.revision}, but the recommendation is at "
            f"revision {s.current.number} and {s.status}",
            recommendation_id=rec.id,
            current_revision=s.current.number,
            status=s.status,
        )
    if s.status not in DECIDABLE:
        raise InvalidTransition(
            f"the recommendation is already {s.status}", recommendation_id=rec.id, status=s.status
        )
    executive_needed(role, s.status == S.AWAITING_EXECUTIVE, rec.id)
    return rec, org, role


def _not_lapsed(ctx: Context, rec: Recommendation) -> None:
    """An expired recommendation, or an undecided one past its expiry (which every read
    calls expired from that instant, before the sweep records it), takes no decision,
    amendment or withdrawal: 409 ``recommendation_expired``."""
    s = rec.state
    if s.status == S.EXPIRED:
        raise RecommendationExpired("the recommendation has expired", recommendation_id=rec.id)
    if s.status in DECIDABLE and ctx.now >= s.current.expires_at:
        raise RecommendationExpired(
            "the recommendation is past its expiry: it can no longer be decided, amended "
            "or withdrawn",
            recommendation_id=rec.id,
            expires_at=s.current.expires_at.isoformat(),
        )


def _needs_executive(
    ctx: Context, rec: Recommendation, org: Organization, role: Role, change: ProposedChange
) -> bool:
    """A manager's approval of a budget increase or a launch that the manager's allowance
    left in this period cannot hold awaits leadership (ADR 0012)."""
    if not limit_applies(role) or rec.state.campaign_id is None:
        return False
    campaign = ctx.load(Campaign, rec.state.campaign_id, "campaign").state
    if change.budget is not None:
        asked = raised_by(campaign.budget, change.budget)
    elif rec.state.kind == K.LAUNCH.value:
        asked = commitment(campaign.budget)
    else:
        return False
    s = org.state
    used = used_since(campaign.commitments, period_start(ctx.now, s.limit_period, s.time_zone))
    return not within_spend_authority(s.approval_limit, used, asked)


def approve(ctx: Context, cmd: c.Approve) -> Outcome:
    rec, org, role = _decider(ctx, cmd)
    s = rec.state
    proposed = ProposedChange.from_event(s.current.change)
    # An executive's approval confirms what the manager approved (with any changes).
    change = ProposedChange.from_event(s.approved_change) if s.approved_change else proposed
    event = Recommendation.Approved if change == proposed else Recommendation.ApprovedWithChanges
    rec.record(
        event,
        ctx.envelope(org.id, role),
        revision=cmd.revision,
        approved_change=change.to_event(),
        awaiting_executive=_needs_executive(ctx, rec, org, role, change),
        note=cmd.note,
    )
    return Outcome(rec)


def approve_with_changes(ctx: Context, cmd: c.ApproveWithChanges) -> Outcome:
    rec, org, role = _decider(ctx, cmd)
    kind = K(rec.state.kind)
    if kind in FIELD_OF_KIND:
        check_change(kind, cmd.approved_change, _campaign_of(ctx, org, rec.state.campaign_id))
        if cmd.approved_change == ProposedChange.from_event(rec.state.current.change):
            raise InvalidCommand(
                "the approved values equal the proposed ones: use approve", recommendation_id=rec.id
            )
    elif cmd.approved_change != ProposedChange():
        raise InvalidCommand(
            f"a {kind.value} recommendation has no values to change; "
            "describe the changes in the note",
            recommendation_id=rec.id,
        )
    rec.record(
        Recommendation.ApprovedWithChanges,
        ctx.envelope(org.id, role),
        revision=cmd.revision,
        approved_change=cmd.approved_change.to_event(),
        awaiting_executive=_needs_executive(ctx, rec, org, role, cmd.approved_change),
        note=cmd.note,
    )
    return Outcome(rec)


def reject(ctx: Context, cmd: c.Reject) -> Outcome:
    rec, org, role = _decider(ctx, cmd)
    rec.record(
        Recommendation.Rejected,
        ctx.envelope(org.id, role),
        revision=cmd.revision,
        reason_code=cmd.reason_code.value,
        reason_text=cmd.reason_text,
    )
    return Outcome(rec)


def escalate(ctx: Context, cmd: c.Escalate) -> Outcome:
    rec, org, role = _decider(ctx, cmd)
    if rec.state.status != S.PENDING:
        raise InvalidTransition(
            "only a pending recommendation can be escalated",
            recommendation_id=rec.id,
            status=rec.state.status,
        )
    rec.record(
        Recommendation.Escalated, ctx.envelope(org.id, role), revision=cmd.revision, note=cmd.note
    )
    return Outcome(rec)


def expire(ctx: Context, cmd: c.ExpireRecommendation) -> Outcome:
    rec = ctx.load(Recommendation, cmd.recommendation_id, "recommendation")
    org = ctx.organization(rec.state.organization_id, "recommendation", of=rec.id)
    _require_sees_recommendation(ctx, org, rec)
    role = require_right(org, ctx.actor, type(cmd), "recommendation", rec.id)
    s = rec.state
    if s.status not in DECIDABLE:
        raise InvalidTransition(f"the recommendation is {s.status}", recommendation_id=rec.id)
    if ctx.now < s.current.expires_at:
        raise InvalidTransition(
            "the recommendation has not reached its expiry",
            recommendation_id=rec.id,
            expires_at=s.current.expires_at.isoformat(),
        )
    rec.record(Recommendation.Expired, ctx.envelope(org.id, role), revision=s.current.number)
    return Outcome(rec)


def mark_implemented(ctx: Context, cmd: c.MarkImplemented) -> Outcome:
    rec = ctx.load(Recommendation, cmd.recommendation_id, "recommendation")
    org = ctx.organization(rec.state.organization_id, "recommendation", of=rec.id)
    _require_sees_recommendation(ctx, org, rec)
    role = require_right(org, ctx.actor, type(cmd), "recommendation", rec.id)
    if K(rec.state.kind) in ACTIONABLE_KINDS:
        raise InvalidCommand(
            "an actionable recommendation is implemented by the execution that cites it",
            recommendation_id=rec.id,
            kind=rec.state.kind,
        )
    if rec.state.status not in APPROVED:
        raise InvalidTransition(
            f"the recommendation is {rec.state.status}, not approved", recommendation_id=rec.id
        )
    rec.record(
        Recommendation.Implemented,
        ctx.envelope(org.id, role),
        revision=rec.state.approved_revision,
        campaign_id=rec.state.campaign_id,
        execution=None,
        as_approved=True,
        deviation_reason=None,
        note=cmd.note,
    )
    return Outcome(rec)
