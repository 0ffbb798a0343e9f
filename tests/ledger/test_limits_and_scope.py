"""The approval limit in comparable terms, budgets in one currency, and proposals within an
engagement's scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import commands as c
from ledger.errors import EngagementRequired, InvalidCommand, RoleRequired
from ledger.policy.limits import increase
from ledger.values import Channel, ProposedChange, RecommendationKind
from tests.ledger.checks import assert_refused, campaign, recommendation
from tests.support import World, budget


def test_budgets_compare_per_month_whatever_their_period() -> None:
    """800 a day raises 500 a month by about 23,833 a month; lifetime changes count in full."""
    assert increase(budget("500"), budget("800", "daily")) == pytest.approx(
        Decimal(800) * 365 / 12 - 500
    )
    assert increase(budget("500", "lifetime"), budget("600")) == Decimal(600)
    assert increase(budget("700", "weekly"), budget("700", "weekly")) == 0


def test_a_daily_budget_above_the_limit_per_month_awaits_an_executive(world: World) -> None:
    """Given 5000 a month, when a manager approves 800 a day (+19,333 a month), it awaits
    leadership, even though 800 is below the limit of 1000."""
    rec = world.recommend(change=ProposedChange(budget=budget("800", "daily")))
    world.approve(rec)
    assert recommendation(world, rec).state.status == "awaiting_executive"


def test_a_manager_may_not_raise_a_budget_above_the_limit_without_an_executive(
    world: World,
) -> None:
    """On a launched campaign, a manager's own budget increase above the approval limit is
    refused and appends nothing; an executive's is recorded."""
    world.launch()
    command = c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("6500"))
    assert_refused(world, world.manager, command, RoleRequired)
    world.run(world.executive, command)
    assert campaign(world).state.budget["amount"] == "6500"


def test_a_manager_carries_out_an_increase_an_executive_approved(world: World) -> None:
    """Given an executive's approval of 5000 -> 7000, the manager's execution citing it is
    recorded: the increase was authorised above the manager."""
    rec = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.approve(rec, actor=world.executive)
    world.run(
        world.manager,
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("7000"), implements=rec),
    )
    assert recommendation(world, rec).state.status == "implemented"


def test_a_deviation_far_above_the_approval_still_needs_an_executive(world: World) -> None:
    """Given an approval of 5500, executing 9000 with a deviation reason is refused for a
    manager: 3500 above what was authorised is beyond the limit."""
    world.launch()
    rec = world.recommend()
    world.approve(rec)
    command = c.AdjustBudget(
        campaign_id=world.campaign_id,
        budget=budget("9000"),
        implements=rec,
        deviation_reason="bigger push",
    )
    assert_refused(world, world.manager, command, RoleRequired)


def test_a_campaign_budget_is_in_the_organizations_currency(world: World) -> None:
    """Planning in another currency than the organization's is refused, and so is moving
    a budget to another currency."""
    plan = c.PlanCampaign(
        organization_id=world.org_id,
        name="KWD",
        objective="x",
        channels=(Channel.PPC,),
        budget=budget("100", currency="KWD"),
    )
    assert_refused(world, world.manager, plan, InvalidCommand)
    move = c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("5000", currency="USD"))
    assert_refused(world, world.manager, move, InvalidCommand)


def test_a_consultant_cannot_propose_channels_outside_its_engagement(world: World) -> None:
    """Given an engagement on ppc, seo and social, proposing email is outside its scope."""
    proposal = c.Recommend(
        organization_id=world.org_id,
        engagement_id=world.engagement_id,
        campaign_id=world.campaign_id,
        kind=RecommendationKind.CHANGE_CHANNELS,
        change=ProposedChange(channels=(Channel.PPC, Channel.EMAIL)),
        rationale="reach",
        expected_impact="more",
        expires_at=world.clock.now.replace(year=2099),
    )
    assert_refused(world, world.consultant, proposal, EngagementRequired)
