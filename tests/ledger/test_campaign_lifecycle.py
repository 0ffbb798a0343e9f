"""The campaign's status machine, and when its budget, KPI targets and channels may change.

DOMAIN.md: draft (planned) -> active (launched) <-> paused -> completed | cancelled; a draft
may be cancelled. Budget and KPI targets change only while draft, active or paused, each
change an event that records the values before and after.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger import commands as c
from ledger.errors import InvalidCommand, InvalidTransition
from ledger.values import Channel, KpiTarget
from tests.ledger.checks import (
    PATH_TO,
    STATUS_COMMANDS,
    assert_refused,
    bring_to,
    campaign,
    limit_above_the_campaign,
    performance,
)
from tests.support import World, budget

# Written from DOMAIN.md, not from the code under test.
ALLOWED = {
    ("draft", "launch"): "active",
    ("draft", "cancel"): "cancelled",
    ("active", "pause"): "paused",
    ("active", "complete"): "completed",
    ("active", "cancel"): "cancelled",
    ("paused", "resume"): "active",
    ("paused", "complete"): "completed",
    ("paused", "cancel"): "cancelled",
}
FORBIDDEN = [(s, a) for s in PATH_TO for a in STATUS_COMMANDS if (s, a) not in ALLOWED]
OPEN = ("draft", "active", "paused")
CLOSED = ("completed", "cancelled")


def changes(world: World) -> list[c.Execution]:
    """One budget, one KPI-target and one channel change, each different from the plan."""
    return [
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("5900")),
        c.SetKpiTargets(
            campaign_id=world.campaign_id,
            kpi_targets=(KpiTarget(metric="roas", target=Decimal("3.5"), unit="ratio"),),
        ),
        c.ChangeChannels(campaign_id=world.campaign_id, channels=(Channel.EMAIL,)),
    ]


def test_the_forbidden_list_covers_every_other_status_and_action() -> None:
    """Given 5 statuses and 5 actions, the allowed and forbidden pairs make up all 25."""
    assert len(ALLOWED) + len(FORBIDDEN) == len(PATH_TO) * len(STATUS_COMMANDS) == 25


@pytest.mark.parametrize(("status", "action"), list(ALLOWED), ids=[f"{s}-{a}" for s, a in ALLOWED])
def test_an_allowed_transition_moves_the_campaign_to_its_next_status(
    world: World, status: str, action: str
) -> None:
    """Given a campaign in the status, when the manager acts, it reaches the next status."""
    bring_to(world, status)
    limit_above_the_campaign(world)
    before = campaign(world).version
    result = world.run(world.manager, STATUS_COMMANDS[action](campaign_id=world.campaign_id))
    after = campaign(world)
    assert after.state.status == ALLOWED[(status, action)]
    assert result.version == after.version == before + 1


@pytest.mark.parametrize(("status", "action"), FORBIDDEN, ids=[f"{s}-{a}" for s, a in FORBIDDEN])
def test_a_forbidden_transition_is_refused_and_writes_nothing(
    world: World, status: str, action: str
) -> None:
    """Given a campaign in the status, when the manager acts against the machine, refused."""
    bring_to(world, status)
    command = STATUS_COMMANDS[action](campaign_id=world.campaign_id)
    assert_refused(world, world.manager, command, InvalidTransition)
    assert campaign(world).state.status == status


@pytest.mark.parametrize("status", OPEN)
def test_budget_kpi_targets_and_channels_change_while_draft_active_or_paused(
    world: World, status: str
) -> None:
    """Given an open campaign, when the manager changes each value, each is one new event."""
    bring_to(world, status)
    for command in changes(world):
        before = campaign(world).version
        result = world.run(world.manager, command)
        assert [e.version for e in result.events] == [before + 1]
    state = campaign(world).state
    assert state.budget["amount"] == "5900"
    assert state.kpi_targets == [{"metric": "roas", "target": "3.5", "unit": "ratio"}]
    assert state.channels == ["email"]
    assert state.status == status


@pytest.mark.parametrize("status", CLOSED)
def test_budget_kpi_targets_and_channels_are_frozen_once_completed_or_cancelled(
    world: World, status: str
) -> None:
    """Given a completed/cancelled campaign, when its values change, each is refused."""
    bring_to(world, status)
    for command in changes(world):
        assert_refused(world, world.manager, command, InvalidTransition)


def test_a_budget_change_records_the_budget_before_and_after(world: World) -> None:
    """Given a budget of 5000, when it is set to 5900, the event names both amounts."""
    world.run(world.manager, changes(world)[0])
    (stored,) = [
        n
        for n in world.ledger.recorder.select_notifications(1, 1000)
        if n.topic.endswith("Campaign.BudgetAdjusted")
    ]
    adjusted: Any = world.ledger.mapper.to_domain_event(stored)  # a Campaign.BudgetAdjusted
    assert adjusted.budget_from == {"amount": "5000", "currency": "EUR", "period": "monthly"}
    assert adjusted.budget_to == {"amount": "5900", "currency": "EUR", "period": "monthly"}


@pytest.mark.parametrize("amount", ["5000", "5000.00"])
def test_setting_the_budget_in_force_is_refused_as_a_change_of_nothing(
    world: World, amount: str
) -> None:
    """Given a budget of 5000, when it is set to 5000 (or 5000.00), nothing is recorded."""
    command = c.AdjustBudget(campaign_id=world.campaign_id, budget=budget(amount))
    assert_refused(world, world.manager, command, InvalidCommand)


def test_a_draft_campaign_has_no_performance_to_record(world: World) -> None:
    """Given a draft campaign, when results are recorded for it, then it is refused."""
    assert_refused(world, world.manager, performance(world), InvalidTransition)
