"""Executions: what a manager does to a campaign, and how it answers an approval.

DOMAIN.md: an execution that cites a recommendation must match what was approved (the
approved values, including changes made on approval); otherwise it is refused unless the
manager states a deviation reason, which is recorded. An execution without a recommendation
is recorded as manager-initiated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger import commands as c
from ledger.errors import ExecutionMismatch, InvalidCommand, InvalidTransition
from ledger.values import KpiTarget, ProposedChange
from tests.ledger.checks import (
    REC_STATUSES,
    assert_refused,
    bring_to,
    campaign,
    limit_above_the_campaign,
    recommendation,
    recommendation_in,
)
from tests.support import World, budget


def stored(world: World, aggregate_id: UUID, version: int) -> Any:
    """The stored event at (aggregate, version), as a domain event."""
    for n in world.ledger.recorder.select_notifications(1, 10_000):
        if n.originator_id == aggregate_id and n.originator_version == version:
            return world.ledger.mapper.to_domain_event(n)
    raise AssertionError(f"no event {aggregate_id} v{version}")


def adjust(world: World, amount: str, rec_id: UUID | None, **kw: Any) -> c.AdjustBudget:
    return c.AdjustBudget(
        campaign_id=world.campaign_id, budget=budget(amount), implements=rec_id, **kw
    )


@pytest.mark.parametrize("executor", ["manager", "executive"])
def test_an_execution_matching_the_approval_implements_the_recommendation(
    world: World, executor: str
) -> None:
    """Given 5500 approved, when 5500 is executed citing it, both are saved as implemented."""
    rec_id = recommendation_in(world, "approved")
    actor = world.manager if executor == "manager" else world.executive
    result = world.run(actor, adjust(world, "5500", rec_id))
    assert [(e.aggregate_id, e.type) for e in result.events] == [
        (world.campaign_id, "Campaign.BudgetAdjusted"),
        (rec_id, "Recommendation.Implemented"),
    ]
    assert campaign(world).state.budget["amount"] == "5500"
    assert recommendation(world, rec_id).state.status == "implemented"
    executed = stored(world, world.campaign_id, result.version)
    assert executed.implements == {"recommendation_id": str(rec_id), "revision": 1}
    assert executed.deviation_reason is None
    implemented = stored(world, rec_id, 3)
    assert implemented.as_approved is True
    assert implemented.execution == {
        "campaign_id": str(world.campaign_id),
        "version": result.version,
        "type": "BudgetAdjusted",
    }


def test_an_execution_must_match_the_values_changed_on_approval(world: World) -> None:
    """Given 5500 proposed but 5300 approved, executing 5500 is refused and 5300 matches."""
    rec_id = recommendation_in(world, "approved_with_changes")
    error = assert_refused(world, world.manager, adjust(world, "5500", rec_id), ExecutionMismatch)
    assert "5300" in error.context["approved"]
    world.run(world.manager, adjust(world, "5300.00", rec_id))
    assert recommendation(world, rec_id).state.status == "implemented"
    assert stored(world, rec_id, 3).as_approved is True


def test_an_execution_differing_from_the_approval_is_refused_without_a_deviation_reason(
    world: World,
) -> None:
    """Given 5500 approved, when 5400 is executed citing it with no reason, it is refused."""
    rec_id = recommendation_in(world, "approved")
    assert_refused(world, world.manager, adjust(world, "5400", rec_id), ExecutionMismatch)
    weekly = c.AdjustBudget(
        campaign_id=world.campaign_id, budget=budget("5500", period="weekly"), implements=rec_id
    )
    assert_refused(world, world.manager, weekly, ExecutionMismatch)
    assert recommendation(world, rec_id).state.status == "approved"
    assert campaign(world).state.budget["amount"] == "5000"


def test_a_deviation_reason_lets_a_differing_execution_through_and_is_recorded(
    world: World,
) -> None:
    """Given 5500 approved, when 5400 is executed with a reason, both events record it."""
    rec_id = recommendation_in(world, "approved")
    reason = "supplier invoice came in lower"
    result = world.run(world.manager, adjust(world, "5400", rec_id, deviation_reason=reason))
    assert campaign(world).state.budget["amount"] == "5400"
    executed = stored(world, world.campaign_id, result.version)
    assert executed.deviation_reason == reason
    assert executed.implements == {"recommendation_id": str(rec_id), "revision": 1}
    implemented = stored(world, rec_id, 3)
    assert (implemented.as_approved, implemented.deviation_reason) == (False, reason)
    assert recommendation(world, rec_id).state.status == "implemented"


def test_a_deviation_reason_on_an_execution_that_matches_is_refused(world: World) -> None:
    """Given 5500 approved, when 5500 is executed 'with a deviation', it is refused."""
    rec_id = recommendation_in(world, "approved")
    command = adjust(world, "5500", rec_id, deviation_reason="none really")
    assert_refused(world, world.manager, command, InvalidCommand)


def test_an_execution_without_a_recommendation_is_recorded_as_manager_initiated(
    world: World,
) -> None:
    """Given no recommendation, when the manager adjusts and launches, implements is None."""
    budget_result = world.run(world.manager, adjust(world, "4000", None))
    limit_above_the_campaign(world)
    launch_result = world.run(world.manager, c.LaunchCampaign(campaign_id=world.campaign_id))
    for version in (budget_result.version, launch_result.version):
        event = stored(world, world.campaign_id, version)
        assert event.implements is None
        assert event.deviation_reason is None
        assert event.role == "manager"
    assert [e.type for e in budget_result.events] == ["Campaign.BudgetAdjusted"]


def test_a_deviation_reason_without_a_cited_recommendation_is_refused(world: World) -> None:
    """Given no recommendation, when a deviation reason is stated, it deviates from nothing."""
    command = adjust(world, "4000", None, deviation_reason="because")
    assert_refused(world, world.manager, command, InvalidCommand)


@pytest.mark.parametrize("status", [s for s in REC_STATUSES if not s.startswith("approved")])
def test_only_an_approved_recommendation_can_be_carried_out(world: World, status: str) -> None:
    """Given a recommendation not (or no longer) approved, citing it is refused."""
    rec_id = recommendation_in(world, status)
    assert_refused(world, world.manager, adjust(world, "5600", rec_id), InvalidTransition)


def test_a_recommendation_for_another_campaign_cannot_be_cited(world: World) -> None:
    """Given an approval for campaign A, when campaign B's execution cites it, refused."""
    rec_id = recommendation_in(world, "approved")
    other = world.plan()
    command = c.AdjustBudget(campaign_id=other, budget=budget("5500"), implements=rec_id)
    assert_refused(world, world.manager, command, InvalidCommand)


@pytest.mark.parametrize(
    ("command_class", "status"),
    [(c.LaunchCampaign, "draft"), (c.CancelCampaign, "draft"), (c.CompleteCampaign, "active")],
    ids=["launch", "cancel", "complete"],
)
def test_a_recommendation_of_another_kind_cannot_be_cited(
    world: World, command_class: type[c.Execution], status: str
) -> None:
    """Given an approved budget recommendation, a status change citing it is refused."""
    rec_id = recommendation_in(world, "approved")
    bring_to(world, status)
    command = command_class(campaign_id=world.campaign_id, implements=rec_id)
    assert_refused(world, world.manager, command, InvalidCommand)


def test_a_launch_recommendation_is_carried_out_by_the_launch_that_cites_it(
    world: World,
) -> None:
    """Given an executive-approved launch recommendation, the launch citing it implements
    it."""
    rec_id = world.recommend(kind="launch")
    world.approve(rec_id, actor=world.executive)
    world.run(world.manager, c.LaunchCampaign(campaign_id=world.campaign_id, implements=rec_id))
    assert campaign(world).state.status == "active"
    assert recommendation(world, rec_id).state.status == "implemented"


def test_kpi_targets_match_the_approval_whatever_their_order(world: World) -> None:
    """Given approved targets (cpa, roas), executing (roas, cpa) matches the approval."""
    cpa = KpiTarget(metric="cpa", target=Decimal("12"), unit="EUR")
    roas = KpiTarget(metric="roas", target=Decimal("3.5"), unit="ratio")
    rec_id = world.recommend(kind="set_kpi_targets", change=ProposedChange(kpi_targets=(cpa, roas)))
    world.approve(rec_id)
    command = c.SetKpiTargets(
        campaign_id=world.campaign_id, kpi_targets=(roas, cpa), implements=rec_id
    )
    world.run(world.manager, command)
    assert recommendation(world, rec_id).state.status == "implemented"


def test_an_advisory_recommendation_is_marked_implemented_not_executed(world: World) -> None:
    """Given an approved strategy recommendation, the manager marks it implemented."""
    rec_id = world.recommend(kind="strategy")
    world.approve(rec_id)
    world.run(world.manager, c.MarkImplemented(recommendation_id=rec_id, note="done in March"))
    assert recommendation(world, rec_id).state.status == "implemented"
    budget_rec = recommendation_in(world, "approved")
    command = c.MarkImplemented(recommendation_id=budget_rec, note="done")
    assert_refused(world, world.manager, command, InvalidCommand)


def test_an_execution_refused_for_a_mismatch_leaves_the_approval_open(world: World) -> None:
    """Given a refused mismatching execution, a later matching one still implements it."""
    rec_id = recommendation_in(world, "approved")
    assert_refused(world, world.manager, adjust(world, "5400", rec_id), ExecutionMismatch)
    world.run(world.manager, adjust(world, "5500", rec_id))
    assert recommendation(world, rec_id).state.status == "implemented"
