"""The approval limit bounds what a manager commits without an executive over its period
(ADR 0012): steps under the limit cannot add up beyond it, a launch counts the whole
budget, and a deviation above an executive's approval counts its excess."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ledger import commands as c
from ledger.errors import InvalidCommand, RoleRequired
from ledger.policy.limits import commitment, period_start
from ledger.values import LimitPeriod, ProposedChange
from tests.ledger.checks import assert_refused, campaign
from tests.ledger.test_executions import stored
from tests.support import World, budget


def raise_to(world: World, amount: str, **kw: object) -> c.AdjustBudget:
    return c.AdjustBudget(campaign_id=world.campaign_id, budget=budget(amount), **kw)  # type: ignore[arg-type]


def test_steps_under_the_limit_cannot_add_up_beyond_it_in_one_month(world: World) -> None:
    """Given a launched 5000 and a limit of 1000, +1000 passes, a second +1000 is refused
    naming the limit, the period, what was used and what was asked; nothing is appended."""
    world.launch()
    world.run(world.manager, raise_to(world, "6000"))
    refused = assert_refused(world, world.manager, raise_to(world, "7000"), RoleRequired)
    assert refused.context["approval_limit"] == "1000"
    assert refused.context["limit_period"] == "calendar_month"
    assert refused.context["period_start"] == "2026-03-01T00:00:00+00:00"
    assert (refused.context["used"], refused.context["asked"]) == ("1000", "1000")
    assert "1000" in refused.detail
    assert "calendar_month" in refused.detail
    assert_refused(world, world.manager, raise_to(world, "6999"), RoleRequired)


def test_the_second_step_passes_when_an_executive_approved_it(world: World) -> None:
    """Given +1000 used, the second +1000 carried out under an executive's approval passes
    and is recorded as executive-authorised, taking nothing from the allowance."""
    world.launch()
    first = world.run(world.manager, raise_to(world, "6000"))
    rec = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.approve(rec, actor=world.executive)
    second = world.run(world.manager, raise_to(world, "7000", implements=rec))
    assert stored(world, world.campaign_id, first.version).authority == "manager_allowance"
    event = stored(world, world.campaign_id, second.version)
    assert (event.authority, event.allowance_used) == ("executive", "0")
    assert_refused(world, world.manager, raise_to(world, "7999"), RoleRequired)


def test_a_managers_approval_beyond_the_allowance_left_awaits_an_executive(
    world: World,
) -> None:
    """Given +1000 used this month, a manager's approval of a further +500 awaits an
    executive, although +500 alone is within the limit."""
    world.launch()
    world.run(world.manager, raise_to(world, "6000"))
    rec = world.recommend(change=ProposedChange(budget=budget("6500")))
    world.approve(rec)
    assert world.ledger.repository.get(rec).state.status == "awaiting_executive"


def test_the_next_calendar_month_resets_the_allowance(world: World) -> None:
    """Given the allowance used up in March, the same step passes in April."""
    world.launch()
    world.run(world.manager, raise_to(world, "6000"))
    assert_refused(world, world.manager, raise_to(world, "7000"), RoleRequired)
    world.clock.advance(timedelta(days=31))
    world.run(world.manager, raise_to(world, "7000"))
    assert campaign(world).state.budget["amount"] == "7000"


def test_a_manager_cannot_launch_a_campaign_above_the_limit_alone(world: World) -> None:
    """Given a 50,000 EUR draft (planning it is fine), a manager's launch is refused; an
    executive's is recorded as executive-authorised."""
    big = world.plan(amount="50000")
    launch = c.LaunchCampaign(campaign_id=big)
    refused = assert_refused(world, world.manager, launch, RoleRequired)
    assert refused.context["asked"] == "50000"
    result = world.run(world.executive, launch)
    assert stored(world, big, result.version).authority == "executive"


def test_a_launch_an_executive_approved_may_be_carried_out_by_a_manager(world: World) -> None:
    """Given a 50,000 draft and a launch recommendation an executive approved, the manager's
    launch citing it is executive-authorised; a manager's approval alone awaits leadership."""
    big = world.plan(amount="50000")
    by_manager = world.recommend(kind="launch", campaign_id=big)
    world.approve(by_manager)
    assert world.ledger.repository.get(by_manager).state.status == "awaiting_executive"
    rec = world.recommend(kind="launch", campaign_id=big)
    world.approve(rec, actor=world.executive)
    result = world.run(world.manager, c.LaunchCampaign(campaign_id=big, implements=rec))
    event = stored(world, big, result.version)
    assert (event.authority, event.allowance_used) == ("executive", "0")


def test_an_executives_launch_approval_does_not_cover_a_budget_raised_after_it(
    world: World,
) -> None:
    """Given an executive-approved launch of a 5000 draft, a manager raising the draft to
    50,000 afterwards cannot launch it on that approval."""
    rec = world.recommend(kind="launch")
    world.approve(rec, actor=world.executive)
    world.run(world.manager, raise_to(world, "50000"))
    launch = c.LaunchCampaign(campaign_id=world.campaign_id, implements=rec)
    assert_refused(world, world.manager, launch, RoleRequired)


def test_the_largest_amount_is_refused_for_its_decimals_and_its_size(world: World) -> None:
    """99,999,999,999,999.9999 EUR is refused for its four decimals; with two it plans as
    a draft but a manager cannot launch it."""
    with pytest.raises(InvalidCommand) as caught:
        budget("99999999999999.9999")
    assert caught.value.context["decimals"] == 2
    with pytest.raises((InvalidCommand, ValidationError)):
        c.AdjustBudget.model_validate(
            {
                "campaign_id": str(world.campaign_id),
                "budget": {"amount": "99999999999999.9999", "currency": "EUR", "period": "monthly"},
            }
        )
    huge = world.plan(amount="99999999999999.99")
    assert_refused(world, world.manager, c.LaunchCampaign(campaign_id=huge), RoleRequired)


def test_a_deviation_above_an_executives_approval_counts_its_excess(world: World) -> None:
    """Given an executive's approval of 5000 -> 7000 on a launched campaign, executing 7900
    with a deviation reason asks 900: refused once 200 is used, accepted before, with 900
    recorded against the allowance."""
    world.launch()
    rec = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.approve(rec, actor=world.executive)
    deviate = raise_to(world, "7900", implements=rec, deviation_reason="market moved")
    world.run(world.manager, raise_to(world, "5200"))
    refused = assert_refused(world, world.manager, deviate, RoleRequired)
    assert (refused.context["used"], refused.context["asked"]) == ("200", "900")


def test_a_deviation_within_the_allowance_is_recorded_as_the_managers(world: World) -> None:
    """Given an executive's approval of 7000, executing 7900 with a reason is recorded with
    900 taken from the manager's allowance."""
    world.launch()
    rec = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.approve(rec, actor=world.executive)
    result = world.run(
        world.manager, raise_to(world, "7900", implements=rec, deviation_reason="market moved")
    )
    event = stored(world, world.campaign_id, result.version)
    assert (event.authority, event.allowance_used) == ("manager_allowance", "900")


def test_the_period_and_time_zone_are_organization_settings(world: World) -> None:
    """Given a calendar week in Asia/Tokyo, the period starts on Monday at Tokyo midnight,
    and a step refused in one week passes in the next."""
    world.run(
        world.admin,
        c.ChangeOrganizationSettings(
            organization_id=world.org_id,
            limit_period=LimitPeriod.CALENDAR_WEEK,
            time_zone="Asia/Tokyo",
        ),
    )
    world.launch()
    world.run(world.manager, raise_to(world, "6000"))
    refused = assert_refused(world, world.manager, raise_to(world, "6500"), RoleRequired)
    start = period_start(world.clock.now, "calendar_week", "Asia/Tokyo")
    assert refused.context["period_start"] == start.isoformat()
    assert start.astimezone(ZoneInfo("Asia/Tokyo")).weekday() == 0
    world.clock.advance(timedelta(days=7))
    world.run(world.manager, raise_to(world, "6500"))
    assert campaign(world).state.budget["amount"] == "6500"


def test_an_unknown_time_zone_is_refused() -> None:
    """A time zone that is not an IANA name is refused when the command is built."""
    with pytest.raises(ValidationError):
        c.ChangeOrganizationSettings.model_validate(
            {"organization_id": "6a1e1f52-0000-4000-8000-000000000000", "time_zone": "Mars/Base"}
        )


def test_commitments_compare_as_monthly_equivalents() -> None:
    """A daily budget commits its monthly equivalent; a lifetime budget commits in full."""
    assert commitment(budget("100", "daily")) == Decimal(100) * 365 / 12
    assert commitment(budget("700", "lifetime")) == Decimal(700)
