"""Decision rights over campaigns: who plans, sets KPI targets, executes and reports.

DOMAIN.md, as ADR 0013 decided it: plan — manager; set KPI targets, launch, pause,
resume, complete, cancel, adjust budget — manager or executive, never a consultant;
record performance — manager, executive or the organization's API client
(``integration``). Every other member is refused
with RoleRequired, and an actor foreign to the organization gets NotFound.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import commands as c
from ledger.errors import LedgerError, NotFound, RoleRequired
from ledger.values import Channel, KpiTarget
from tests.ledger.checks import (
    STATUS_COMMANDS,
    actors_by_role,
    assert_refused,
    bring_to,
    campaign,
    limit_above_the_campaign,
    performance,
)
from tests.support import World, budget

# The status each action starts from in these tests, and the status it leads to.
ACTION_PATH = {
    "launch": ("draft", "active"),
    "pause": ("active", "paused"),
    "resume": ("paused", "active"),
    "complete": ("active", "completed"),
    "cancel": ("draft", "cancelled"),
}


def refusal_for(role: str) -> type[LedgerError]:
    """An outsider learns nothing (NotFound); a member without the right gets RoleRequired."""
    return NotFound if role == "outsider" else RoleRequired


def targets(world: World) -> c.SetKpiTargets:
    return c.SetKpiTargets(
        campaign_id=world.campaign_id,
        kpi_targets=(KpiTarget(metric="cpa", target=Decimal("12.50"), unit="EUR"),),
    )


def test_only_a_manager_may_plan_a_campaign(world: World) -> None:
    """Given every role, when each plans a campaign, then only the manager's is recorded."""
    command = c.PlanCampaign(
        organization_id=world.org_id,
        name="Summer",
        objective="Leads",
        channels=(Channel.SEO,),
        budget=budget("800"),
    )
    for role, actor in actors_by_role(world).items():
        if role != "manager":
            assert_refused(world, actor, command, refusal_for(role))
    result = world.run(world.manager, command)
    assert result.created
    assert campaign(world, result.aggregate_id).state.status == "draft"


def test_only_a_manager_or_an_executive_may_set_kpi_targets(world: World) -> None:
    """Given a draft campaign, when each role sets KPI targets, then only the manager's and
    the executive's stand (ADR 0013: leadership may do what a manager may execute)."""
    for role, actor in actors_by_role(world).items():
        if role not in ("manager", "executive"):
            assert_refused(world, actor, targets(world), refusal_for(role))
    world.run(world.executive, targets(world))
    assert campaign(world).state.kpi_targets == [
        {"metric": "cpa", "target": "12.50", "unit": "EUR"}
    ]


@pytest.mark.parametrize("role", ["manager", "executive"])
@pytest.mark.parametrize("action", list(ACTION_PATH))
def test_a_manager_or_an_executive_may_change_a_campaigns_status(
    world: World, action: str, role: str
) -> None:
    """Given a campaign where the action is allowed, when a manager/executive acts, it moves."""
    start, end = ACTION_PATH[action]
    bring_to(world, start)
    limit_above_the_campaign(world)
    world.run(actors_by_role(world)[role], STATUS_COMMANDS[action](campaign_id=world.campaign_id))
    assert campaign(world).state.status == end


@pytest.mark.parametrize("action", list(ACTION_PATH))
def test_no_consultant_or_other_member_may_change_a_campaigns_status(
    world: World, action: str
) -> None:
    """Given a campaign where the action is allowed, when a non-decider acts, it is refused."""
    start, _ = ACTION_PATH[action]
    bring_to(world, start)
    command = STATUS_COMMANDS[action](campaign_id=world.campaign_id)
    for role in ("consultant", "auditor", "admin", "integration", "outsider"):
        assert_refused(world, actors_by_role(world)[role], command, refusal_for(role))
    assert campaign(world).state.status == start


@pytest.mark.parametrize("role", ["manager", "executive"])
def test_a_manager_or_an_executive_may_adjust_the_budget(world: World, role: str) -> None:
    """Given a draft campaign at 5000, when a manager/executive sets 6000, the budget is 6000."""
    world.run(
        actors_by_role(world)[role],
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("6000")),
    )
    assert campaign(world).state.budget == {
        "amount": "6000",
        "currency": "EUR",
        "period": "monthly",
    }


def test_no_consultant_or_other_member_may_adjust_the_budget(world: World) -> None:
    """Given a campaign, when a consultant/auditor/admin/API client adjusts it, it is refused."""
    command = c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("6000"))
    for role in ("consultant", "auditor", "admin", "integration", "outsider"):
        assert_refused(world, actors_by_role(world)[role], command, refusal_for(role))
    assert campaign(world).state.budget["amount"] == "5000"


@pytest.mark.parametrize("role", ["manager", "executive"])
def test_a_manager_or_an_executive_may_change_the_channels(world: World, role: str) -> None:
    """Given a campaign on ppc/social, when a manager/executive changes it to seo, it is seo."""
    command = c.ChangeChannels(campaign_id=world.campaign_id, channels=(Channel.SEO,))
    world.run(actors_by_role(world)[role], command)
    assert campaign(world).state.channels == ["seo"]


def test_no_consultant_or_other_member_may_change_the_channels(world: World) -> None:
    """Given a campaign, when a non-decider changes its channels, then it is refused."""
    command = c.ChangeChannels(campaign_id=world.campaign_id, channels=(Channel.SEO,))
    for role in ("consultant", "auditor", "admin", "integration", "outsider"):
        assert_refused(world, actors_by_role(world)[role], command, refusal_for(role))


@pytest.mark.parametrize("role", ["manager", "executive", "integration"])
def test_a_manager_an_executive_or_the_api_client_may_record_performance(
    world: World, role: str
) -> None:
    """Given an active campaign, when a manager/executive/API client records results, they
    are kept."""
    bring_to(world, "active")
    world.run(actors_by_role(world)[role], performance(world))
    (record,) = campaign(world).state.performance
    assert record["spend"] == {"amount": "120.50", "currency": "EUR"}
    assert record["clicks"] == 250


def test_no_consultant_auditor_or_admin_may_record_performance(world: World) -> None:
    """Given an active campaign, when anyone else records results, then it is refused."""
    bring_to(world, "active")
    for role in ("consultant", "auditor", "admin", "outsider"):
        assert_refused(world, actors_by_role(world)[role], performance(world), refusal_for(role))
    assert campaign(world).state.performance == []
