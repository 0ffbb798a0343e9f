"""Decision rights, given/when/then, on handlers over an in-memory source (no I/O)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import commands as c
from ledger.errors import (
    EngagementRequired,
    RevisionConflict,
    RoleRequired,
    SegregationOfDuties,
)
from ledger.values import MemberRole, ProposedChange, RejectionReason
from tests.rules.conftest import Org, budget


def test_a_manager_approves_a_consultants_recommendation(org: Org) -> None:
    """Given a pending recommendation, the manager's approval appends one Approved event."""
    rec = org.recommend()
    before = len(org.rules.appended)
    org.rules.run(org.manager, c.Approve(recommendation_id=rec, revision=1))
    assert org.rules.topics()[before:] == ["Recommendation.Approved"]


def test_the_author_may_not_decide_even_holding_the_manager_role(org: Org) -> None:
    """Segregation of duties: a consultant who is also a manager cannot approve its own
    recommendation, and the refusal appends nothing."""
    org.grant(org.consultant, MemberRole.MANAGER)
    rec = org.recommend()
    before = list(org.rules.appended)
    with pytest.raises(SegregationOfDuties):
        org.rules.run(org.consultant, c.Approve(recommendation_id=rec, revision=1))
    assert org.rules.appended == before


@pytest.mark.parametrize("who", ["consultant", "auditor"])
def test_only_a_manager_or_an_executive_decides(org: Org, who: str) -> None:
    """A consultant or an auditor asking to reject is refused for its role; nothing appended."""
    rec = org.recommend()
    before = list(org.rules.appended)
    reject = c.Reject(
        recommendation_id=rec, revision=1, reason_code=RejectionReason.TIMING, reason_text="not now"
    )
    with pytest.raises(RoleRequired):
        org.rules.run(getattr(org, who), reject)
    assert org.rules.appended == before


def test_a_decision_on_an_old_revision_is_a_conflict(org: Org) -> None:
    """Given an amended recommendation (revision 2), approving revision 1 is refused."""
    rec = org.recommend()
    org.rules.run(
        org.consultant,
        c.AmendRecommendation(
            recommendation_id=rec,
            revision=1,
            change=ProposedChange(budget=budget("5400")),
            rationale="Revised after the February report",
            expected_impact="+10% conversions",
            expires_at=org.rules.now + timedelta(days=14),
        ),
    )
    before = list(org.rules.appended)
    with pytest.raises(RevisionConflict):
        org.rules.run(org.manager, c.Approve(recommendation_id=rec, revision=1))
    assert org.rules.appended == before


def test_a_consultant_outside_any_engagement_cannot_recommend(org: Org) -> None:
    """Someone who is not a consultant of the engagement is refused and appends nothing."""
    before = list(org.rules.appended)
    with pytest.raises(EngagementRequired):
        org.recommend(author=org.auditor)
    assert org.rules.appended == before


def test_a_managers_approval_above_the_limit_awaits_an_executive(org: Org) -> None:
    """A budget increase beyond the approval limit (1000) approved by the manager leaves the
    recommendation awaiting an executive; the manager cannot confirm it, the executive can."""
    rec = org.recommend(amount="9000")
    org.rules.run(org.manager, c.Approve(recommendation_id=rec, revision=1))
    assert org.rules.source.get(rec).state.status == "awaiting_executive"
    with pytest.raises(RoleRequired):
        org.rules.run(org.manager, c.Approve(recommendation_id=rec, revision=1))
    org.rules.run(org.executive, c.Approve(recommendation_id=rec, revision=1))
    assert org.rules.source.get(rec).state.status == "approved"
