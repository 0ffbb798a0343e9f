"""Assertions and small builders shared by the rule suite.

``assert_refused`` is the one way these tests check a refusal: the command must raise the
exact error expected, and the store must hold exactly the events it held before, byte for
byte, under the same last notification id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import commands as c
from ledger.domain.campaign import Campaign
from ledger.domain.recommendation import Recommendation
from ledger.errors import LedgerError
from ledger.identity import Actor
from ledger.values import (
    Channel,
    MemberRole,
    Money,
    ProposedChange,
    RecommendationKind,
    RejectionReason,
)
from tests.support import World, budget

StoreState = tuple[int, list[tuple[str, int, str, str]]]

STATUS_COMMANDS: dict[str, type[c.Execution]] = {
    "launch": c.LaunchCampaign,
    "pause": c.PauseCampaign,
    "resume": c.ResumeCampaign,
    "complete": c.CompleteCampaign,
    "cancel": c.CancelCampaign,
}
# How to bring a draft campaign to each status, through allowed transitions only.
PATH_TO: dict[str, tuple[str, ...]] = {
    "draft": (),
    "active": ("launch",),
    "paused": ("launch", "pause"),
    "completed": ("launch", "complete"),
    "cancelled": ("cancel",),
}


def store_state(world: World) -> StoreState:
    """The last notification id and every stored event, with a digest of its bytes."""
    rows = world.ledger.recorder.select_notifications(1, 1_000_000)
    events = [
        (str(n.originator_id), n.originator_version, n.topic, hashlib.sha256(n.state).hexdigest())
        for n in rows
    ]
    return world.ledger.recorder.max_notification_id() or 0, events


def assert_refused(
    world: World, actor: Actor, command: c.Command, error: type[LedgerError], **kw: Any
) -> LedgerError:
    """``command`` by ``actor`` raises exactly ``error`` and appends nothing."""
    before = store_state(world)
    with pytest.raises(error) as caught:
        world.run(actor, command, **kw)
    assert type(caught.value) is error, f"expected {error.__name__}, got {caught.value!r}"
    assert store_state(world) == before, f"refused {type(command).__name__} changed the store"
    return caught.value


def campaign(world: World, campaign_id: UUID | None = None) -> Campaign:
    found: object = world.ledger.repository.get(campaign_id or world.campaign_id)
    assert isinstance(found, Campaign)
    return found


def recommendation(world: World, rec_id: UUID) -> Recommendation:
    found: object = world.ledger.repository.get(rec_id)
    assert isinstance(found, Recommendation)
    return found


def bring_to(world: World, status: str, campaign_id: UUID | None = None) -> None:
    """Move the (draft) campaign to ``status`` as the manager; the executive launches it
    (its 5000 a month is above the manager's approval limit of 1000)."""
    for action in PATH_TO[status]:
        command = STATUS_COMMANDS[action](campaign_id=campaign_id or world.campaign_id)
        world.run(world.executive if action == "launch" else world.manager, command)
    assert campaign(world, campaign_id).state.status == status


def limit_above_the_campaign(world: World) -> None:
    """Raise the approval limit to the campaign's 5000, so a manager may launch it alone."""
    world.run(
        world.admin,
        c.ChangeOrganizationSettings(organization_id=world.org_id, approval_limit=Decimal(5000)),
    )


def grant(world: World, actor: Actor, role: str) -> None:
    world.run(
        world.admin,
        c.GrantMembership(
            organization_id=world.org_id, member_id=actor.actor_id, member_role=MemberRole(role)
        ),
    )


def actors_by_role(world: World) -> dict[str, Actor]:
    """Every kind of caller the decision-rights table distinguishes."""
    return {
        "manager": world.manager,
        "executive": world.executive,
        "auditor": world.auditor,
        "admin": world.admin,
        "integration": world.integration,
        "consultant": world.consultant,
        "outsider": world.outsider,
    }


def other_consultant(world: World, *, same_engagement: bool) -> tuple[Actor, UUID]:
    """Another consultant: added to the world's engagement, or on an engagement of its own
    covering the same channels. Returns the consultant and its engagement id."""
    other = Actor(uuid4())
    if same_engagement:
        world.run(
            world.admin,
            c.AmendEngagement(
                organization_id=world.org_id,
                engagement_id=world.engagement_id,
                consultant_ids=(world.consultant.actor_id, other.actor_id),
            ),
        )
        return other, world.engagement_id
    now = world.clock.now
    result = world.run(
        world.admin,
        c.StartEngagement(
            organization_id=world.org_id,
            agency_id=uuid4(),
            consultant_ids=(other.actor_id,),
            channels=(Channel.PPC, Channel.SEO, Channel.SOCIAL),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
        ),
    )
    assert result.resource_id is not None
    return other, result.resource_id


def recommend_command(
    world: World,
    *,
    engagement_id: UUID | None = None,
    campaign_id: UUID | None = None,
    amount: str = "5500",
    expires_at: datetime | None = None,
) -> c.Recommend:
    """A budget recommendation on the world's campaign, as a consultant would send it."""
    return c.Recommend(
        organization_id=world.org_id,
        engagement_id=engagement_id or world.engagement_id,
        campaign_id=campaign_id or world.campaign_id,
        kind=RecommendationKind.ADJUST_BUDGET,
        change=ProposedChange(budget=budget(amount)),
        rationale="CPA is falling on PPC",
        evidence=("report-2026-02",),
        expected_impact="+12% conversions",
        expires_at=expires_at or world.clock.now + timedelta(days=14),
    )


def amend_command(
    world: World, rec_id: UUID, revision: int = 1, amount: str = "5600"
) -> c.AmendRecommendation:
    return c.AmendRecommendation(
        recommendation_id=rec_id,
        revision=revision,
        change=ProposedChange(budget=budget(amount)),
        rationale="CPA fell further",
        evidence=("report-2026-03",),
        expected_impact="+15% conversions",
        expires_at=world.clock.now + timedelta(days=14),
    )


def decision(kind: str, rec_id: UUID, revision: int = 1, amount: str = "5300") -> c.Decision:
    """One decision command of each kind on ``rec_id``."""
    if kind == "approve":
        return c.Approve(recommendation_id=rec_id, revision=revision)
    if kind == "approve_with_changes":
        return c.ApproveWithChanges(
            recommendation_id=rec_id,
            revision=revision,
            approved_change=ProposedChange(budget=budget(amount)),
            note="a smaller step first",
        )
    if kind == "reject":
        return c.Reject(
            recommendation_id=rec_id,
            revision=revision,
            reason_code=RejectionReason.BUDGET_CONSTRAINTS,
            reason_text="no budget left this quarter",
        )
    if kind == "escalate":
        return c.Escalate(recommendation_id=rec_id, revision=revision, note="for leadership")
    raise ValueError(kind)


DECISIONS = ("approve", "approve_with_changes", "reject", "escalate")
STATUS_AFTER = {
    "approve": "approved",
    "approve_with_changes": "approved_with_changes",
    "reject": "rejected",
    "escalate": "awaiting_executive",
}


def performance(world: World, spend: str = "120.50") -> c.RecordPerformance:
    start = world.clock.now - timedelta(days=1)
    return c.RecordPerformance(
        campaign_id=world.campaign_id,
        period_start=start,
        period_end=start + timedelta(days=1),
        spend=Money(amount=Decimal(spend), currency="EUR"),
        impressions=10_000,
        clicks=250,
        conversions=12,
        revenue=Money(amount=Decimal("900.00"), currency="EUR"),
    )


REC_STATUSES = (
    "pending",
    "approved",
    "approved_with_changes",
    "rejected",
    "withdrawn",
    "awaiting_executive",
    "expired",
    "implemented",
)


def recommendation_in(world: World, status: str) -> UUID:
    """A budget recommendation (5000 -> 5500) on the world's campaign, brought to ``status``
    through the ledger's own commands."""
    rec_id = world.recommend()
    if status in STATUS_AFTER.values():
        world.run(world.manager, decision(_decision_for(status), rec_id))
    elif status == "withdrawn":
        world.run(
            world.consultant,
            c.WithdrawRecommendation(recommendation_id=rec_id, revision=1, reason="superseded"),
        )
    elif status == "expired":
        world.clock.advance(timedelta(days=15))
        world.run(world.manager, c.ExpireRecommendation(recommendation_id=rec_id))
    elif status == "implemented":
        world.approve(rec_id)
        world.run(
            world.manager,
            c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("5500"), implements=rec_id),
        )
    assert recommendation(world, rec_id).state.status == status
    return rec_id


def _decision_for(status: str) -> str:
    return {v: k for k, v in STATUS_AFTER.items()}[status]
