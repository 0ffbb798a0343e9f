"""Decisions on recommendations: who decides, on which revision, within which limits, until
when — and that deciding applies nothing.

DOMAIN.md: approve, approve with changes, reject, escalate — a manager or executive of the
organization, never the recommendation's author even if that actor also holds a manager
role; reject needs a reason code and text. Above the organization's approval limit a
manager's approval leaves it awaiting_executive. A decision names the revision it answers:
if the author amended or withdrew meanwhile, it is a conflict and nothing is written. Past
its expiry a recommendation takes no decision, amendment or withdrawal (it reads expired from
that instant); nothing is ever auto-applied.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from ledger import commands as c
from ledger.errors import (
    ExecutionMismatch,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    RecommendationExpired,
    RevisionConflict,
    RoleRequired,
    SegregationOfDuties,
)
from ledger.identity import Actor
from ledger.values import ProposedChange, RejectionReason
from tests.ledger.checks import (
    DECISIONS,
    STATUS_AFTER,
    actors_by_role,
    amend_command,
    assert_refused,
    campaign,
    decision,
    grant,
    other_consultant,
    recommendation,
    recommendation_in,
    store_state,
)
from tests.support import World, budget

CLIENT_DECISIONS = ("approve", "approve_with_changes", "reject")


@pytest.mark.parametrize("role", ["manager", "executive"])
@pytest.mark.parametrize("kind", CLIENT_DECISIONS)
def test_a_manager_or_an_executive_may_approve_approve_with_changes_or_reject(
    world: World, kind: str, role: str
) -> None:
    """Given a pending recommendation, when a manager/executive decides, its status follows."""
    rec_id = world.recommend()
    world.run(actors_by_role(world)[role], decision(kind, rec_id))
    state = recommendation(world, rec_id).state
    assert state.status == STATUS_AFTER[kind]
    (made,) = state.decisions
    assert (made["role"], made["revision"]) == (role, 1)


def test_a_manager_may_escalate_a_pending_recommendation_to_leadership(world: World) -> None:
    """Given a pending recommendation, when the manager escalates, it awaits an executive."""
    rec_id = world.recommend()
    world.run(world.manager, decision("escalate", rec_id))
    assert recommendation(world, rec_id).state.status == "awaiting_executive"
    world.run(world.executive, decision("approve", rec_id))
    assert recommendation(world, rec_id).state.status == "approved"


def test_an_executive_has_no_one_above_to_escalate_to(world: World) -> None:
    """Given a pending recommendation, when an executive escalates it, then it is refused:
    escalating is a manager's right only."""
    rec_id = world.recommend()
    assert_refused(world, world.executive, decision("escalate", rec_id), RoleRequired)


@pytest.mark.parametrize("kind", DECISIONS)
def test_no_consultant_auditor_admin_or_api_client_may_decide(world: World, kind: str) -> None:
    """Given a pending recommendation, when anyone but a manager/executive decides, refused."""
    rec_id = world.recommend()
    colleague, _ = other_consultant(world, same_engagement=True)
    stranger, _ = other_consultant(world, same_engagement=False)
    refusals = {
        "author": (world.consultant, RoleRequired),
        "colleague": (colleague, RoleRequired),
        "auditor": (world.auditor, RoleRequired),
        "admin": (world.admin, RoleRequired),
        "integration": (world.integration, RoleRequired),
        "other engagement": (stranger, NotFound),
        "outsider": (world.outsider, NotFound),
    }
    for actor, error in refusals.values():
        assert_refused(world, actor, decision(kind, rec_id), error)
    assert recommendation(world, rec_id).state.status == "pending"


@pytest.mark.parametrize("role", ["manager", "executive"])
@pytest.mark.parametrize("kind", DECISIONS)
def test_the_author_may_not_decide_on_its_own_recommendation_even_holding_a_deciding_role(
    world: World, kind: str, role: str
) -> None:
    """Given a consultant who is also a manager/executive, when it decides its own, refused."""
    grant(world, world.consultant, role)
    rec_id = world.recommend()
    # An executive lacks the right to escalate at all, whoever wrote the recommendation.
    error = RoleRequired if (kind, role) == ("escalate", "executive") else SegregationOfDuties
    assert_refused(world, world.consultant, decision(kind, rec_id), error)
    assert recommendation(world, rec_id).state.status == "pending"


def test_the_author_holding_a_manager_role_may_still_decide_on_a_colleagues_recommendation(
    world: World,
) -> None:
    """Given a consultant-manager, when it approves a colleague's recommendation, it stands."""
    grant(world, world.consultant, "manager")
    colleague, _ = other_consultant(world, same_engagement=True)
    rec_id = world.recommend(author=colleague)
    world.run(world.consultant, decision("approve", rec_id))
    assert recommendation(world, rec_id).state.status == "approved"


@pytest.mark.parametrize(
    "fields",
    [
        {"reason_code": "budget_constraints"},
        {"reason_text": "no budget left"},
        {"reason_code": "budget_constraints", "reason_text": ""},
        {"reason_code": "because", "reason_text": "no budget left"},
    ],
    ids=["no text", "no code", "empty text", "unknown code"],
)
def test_a_rejection_needs_a_reason_code_and_a_reason_text(
    world: World, fields: dict[str, str]
) -> None:
    """Given a rejection lacking a known reason code or a text, it cannot even be built."""
    rec_id = world.recommend()
    body = {"recommendation_id": str(rec_id), "revision": 1, **fields}
    before = store_state(world)
    with pytest.raises(ValidationError):
        c.Reject.model_validate_json(json.dumps(body))
    assert store_state(world) == before


def test_a_rejection_records_its_reason_code_and_text(world: World) -> None:
    """Given a pending recommendation, when the manager rejects it, both reasons are stored."""
    rec_id = world.recommend()
    world.run(world.manager, decision("reject", rec_id))
    (stored,) = [
        n
        for n in world.ledger.recorder.select_notifications(1, 1000)
        if n.topic.endswith("Recommendation.Rejected")
    ]
    event: Any = world.ledger.mapper.to_domain_event(stored)  # a Recommendation.Rejected
    assert event.reason_code == RejectionReason.BUDGET_CONSTRAINTS.value
    assert event.reason_text == "no budget left this quarter"


def test_a_managers_approval_above_the_limit_leaves_it_awaiting_an_executive(
    world: World,
) -> None:
    """Given 5000 -> 7000 (+2000 > limit 1000), when the manager approves, it awaits leadership."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.run(world.manager, decision("approve", rec_id))
    state = recommendation(world, rec_id).state
    assert state.status == "awaiting_executive"
    command = c.AdjustBudget(
        campaign_id=world.campaign_id, budget=budget("7000"), implements=rec_id
    )
    assert_refused(world, world.manager, command, InvalidTransition)


def test_a_managers_approval_with_changes_above_the_limit_awaits_an_executive(
    world: World,
) -> None:
    """Given 5000 -> 5500, when the manager approves 6500 instead (+1500), it awaits leadership."""
    rec_id = world.recommend()
    world.run(world.manager, decision("approve_with_changes", rec_id, amount="6500"))
    assert recommendation(world, rec_id).state.status == "awaiting_executive"


def test_an_approval_up_to_the_limit_is_final(world: World) -> None:
    """Given 5000 -> 6000 (+1000, exactly the limit), when the manager approves, it is final."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("6000")))
    world.run(world.manager, decision("approve", rec_id))
    assert recommendation(world, rec_id).state.status == "approved"


def test_an_executives_own_approval_above_the_limit_is_final(world: World) -> None:
    """Given 5000 -> 7000, when an executive approves, it is approved at once."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.run(world.executive, decision("approve", rec_id))
    assert recommendation(world, rec_id).state.status == "approved"


@pytest.mark.parametrize("kind", DECISIONS)
def test_only_an_executive_may_decide_a_recommendation_awaiting_executive(
    world: World, kind: str
) -> None:
    """Given a recommendation awaiting an executive, when a manager decides again, refused."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.run(world.manager, decision("approve", rec_id))
    other_manager = Actor(uuid4())
    grant(world, other_manager, "manager")
    for manager in (world.manager, other_manager):
        assert_refused(world, manager, decision(kind, rec_id), RoleRequired)
    assert recommendation(world, rec_id).state.status == "awaiting_executive"


@pytest.mark.parametrize("kind", CLIENT_DECISIONS)
def test_an_executive_decides_what_a_manager_approved_above_the_limit(
    world: World, kind: str
) -> None:
    """Given a manager's approval above the limit, when the executive decides, it is final."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("7000")))
    world.run(world.manager, decision("approve", rec_id))
    world.run(world.executive, decision(kind, rec_id, amount="6800"))
    state = recommendation(world, rec_id).state
    assert state.status == STATUS_AFTER[kind]
    assert [d["role"] for d in state.decisions] == ["manager", "executive"]


def test_an_executive_confirming_a_managers_changes_approves_the_changed_values(
    world: World,
) -> None:
    """Given a manager's approval of 6500 instead of 5500, the executive's approval keeps 6500."""
    rec_id = world.recommend()
    world.run(world.manager, decision("approve_with_changes", rec_id, amount="6500"))
    world.run(world.executive, decision("approve", rec_id))
    state = recommendation(world, rec_id).state
    assert state.status == "approved_with_changes"
    assert state.approved_change is not None
    assert Decimal(state.approved_change["budget"]["amount"]) == Decimal("6500")


@pytest.mark.parametrize("kind", DECISIONS)
def test_a_decision_naming_a_revision_the_author_amended_is_a_revision_conflict(
    world: World, kind: str
) -> None:
    """Given revision 1 amended to 2, when the manager decides on 1, it is a conflict."""
    rec_id = world.recommend()
    world.run(world.consultant, amend_command(world, rec_id))
    error = assert_refused(world, world.manager, decision(kind, rec_id), RevisionConflict)
    assert error.context["current_revision"] == 2
    world.run(world.manager, decision(kind, rec_id, revision=2))
    assert recommendation(world, rec_id).state.status == STATUS_AFTER[kind]


@pytest.mark.parametrize("kind", DECISIONS)
def test_a_decision_on_a_withdrawn_recommendation_is_a_revision_conflict(
    world: World, kind: str
) -> None:
    """Given a withdrawn recommendation, when the manager decides on it, it is a conflict."""
    rec_id = recommendation_in(world, "withdrawn")
    assert_refused(world, world.manager, decision(kind, rec_id), RevisionConflict)


@pytest.mark.parametrize("kind", ["approve", "approve_with_changes", "escalate"])
def test_a_recommendation_past_its_expiry_can_no_longer_be_approved_or_escalated(
    world: World, kind: str
) -> None:
    """Given a recommendation expiring in 14 days, on day 15 approving it is refused."""
    rec_id = world.recommend(days=14)
    world.clock.advance(timedelta(days=14))
    assert_refused(world, world.manager, decision(kind, rec_id), RecommendationExpired)
    assert recommendation(world, rec_id).state.status == "pending"


def test_a_recommendation_past_its_expiry_cannot_be_rejected_either(world: World) -> None:
    """Given a recommendation past its expiry (every read calls it expired from that
    instant, before the sweep records it), a rejection is refused as expired too."""
    rec_id = world.recommend(days=14)
    world.clock.advance(timedelta(days=15))
    assert_refused(world, world.manager, decision("reject", rec_id), RecommendationExpired)


def test_a_recommendation_past_its_expiry_cannot_be_amended_or_withdrawn(world: World) -> None:
    """Its author may not revive it with an amendment (a new expiry) nor withdraw it."""
    rec_id = world.recommend(days=14)
    world.clock.advance(timedelta(days=15))
    assert_refused(world, world.consultant, amend_command(world, rec_id), RecommendationExpired)
    withdraw = c.WithdrawRecommendation(recommendation_id=rec_id, revision=1, reason="late")
    assert_refused(world, world.consultant, withdraw, RecommendationExpired)


def test_an_amendment_sets_the_expiry_the_decision_is_checked_against(world: World) -> None:
    """Given revision 1 expiring day 5, amended on day 4 to expire day 18, day 10 approves."""
    rec_id = world.recommend(days=5)
    world.clock.advance(timedelta(days=4))
    world.run(world.consultant, amend_command(world, rec_id))
    world.clock.advance(timedelta(days=6))
    world.run(world.manager, decision("approve", rec_id, revision=2))
    assert recommendation(world, rec_id).state.status == "approved"


def test_a_recommendation_cannot_be_expired_before_its_expiry(world: World) -> None:
    """Given a recommendation expiring in 14 days, expiring it on day 13 is refused."""
    rec_id = world.recommend(days=14)
    world.clock.advance(timedelta(days=13))
    command = c.ExpireRecommendation(recommendation_id=rec_id)
    assert_refused(world, world.manager, command, InvalidTransition)


@pytest.mark.parametrize("role", ["manager", "executive", "admin"])
def test_after_its_expiry_a_recommendation_is_expired_and_then_no_decision_stands(
    world: World, role: str
) -> None:
    """Given day 15 of 14, when a client member expires it, every decision is refused."""
    rec_id = world.recommend(days=14)
    world.clock.advance(timedelta(days=15))
    command = c.ExpireRecommendation(recommendation_id=rec_id)
    for refused in ("consultant", "auditor", "integration"):
        assert_refused(world, actors_by_role(world)[refused], command, RoleRequired)
    world.run(actors_by_role(world)[role], command)
    assert recommendation(world, rec_id).state.status == "expired"
    for kind in DECISIONS:
        assert_refused(world, world.manager, decision(kind, rec_id), RecommendationExpired)


@pytest.mark.parametrize("status", ["approved", "rejected", "implemented"])
def test_a_decided_recommendation_cannot_be_decided_again(world: World, status: str) -> None:
    """Given an approved/rejected/implemented recommendation, a new decision is refused."""
    rec_id = recommendation_in(world, status)
    for kind in DECISIONS:
        decider = world.manager if kind == "escalate" else world.executive
        assert_refused(world, decider, decision(kind, rec_id), InvalidTransition)


def test_approving_with_the_proposed_values_unchanged_is_refused(world: World) -> None:
    """Given a proposal of 5500, when it is 'approved with changes' to 5500, it is refused."""
    rec_id = world.recommend()
    command = decision("approve_with_changes", rec_id, amount="5500.00")
    assert_refused(world, world.manager, command, InvalidCommand)


@pytest.mark.parametrize("kind", ["approve", "approve_with_changes"])
def test_approval_applies_nothing_to_the_campaign(world: World, kind: str) -> None:
    """Given a budget proposal, when it is approved, the campaign is untouched: one event."""
    rec_id = world.recommend()
    before_campaign = campaign(world)
    before = store_state(world)
    result = world.run(world.manager, decision(kind, rec_id))
    after = store_state(world)
    assert [(e.aggregate_id, e.type) for e in result.events] == [
        (rec_id, "Recommendation." + ("Approved" if kind == "approve" else "ApprovedWithChanges"))
    ]
    assert after[1][: len(before[1])] == before[1]
    assert len(after[1]) == len(before[1]) + 1
    after_campaign = campaign(world)
    assert after_campaign.version == before_campaign.version
    assert after_campaign.state == before_campaign.state
    assert recommendation(world, rec_id).state.status != "implemented"
    # Applying it is a separate execution by the manager.
    wrong = c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("9999"), implements=rec_id)
    assert_refused(world, world.manager, wrong, ExecutionMismatch)
