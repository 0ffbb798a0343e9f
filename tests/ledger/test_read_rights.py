"""Who may read what: the last row of the decision-rights table, and reads as of a moment.

DOMAIN.md: the audit trail is read by the auditor, manager and executive; a consultant sees
only its own engagement's recommendations and how they were handled. A reviewer sees the
state of a campaign as of any past moment. Reads use the same NotFound as commands.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import commands as c
from ledger.application.reads import Reader
from ledger.errors import NotFound
from tests.ledger.checks import decision, other_consultant
from tests.support import World, budget


@pytest.mark.parametrize("role", ["auditor", "manager", "executive"])
def test_the_auditor_manager_and_executive_read_every_recommendation_and_its_history(
    world: World, role: str
) -> None:
    """Given a decided recommendation, each reader sees it and every event of it."""
    rec_id = world.recommend()
    world.run(world.manager, decision("reject", rec_id))
    reader = Reader(world.ledger)
    actor = getattr(world, role)
    assert reader.recommendation(actor, rec_id).state.status == "rejected"
    history = reader.history(actor, rec_id)
    assert [e["type"] for e in history] == ["Recommendation.Recommended", "Recommendation.Rejected"]
    assert history[1]["envelope"]["role"] == "manager"
    assert history[1]["payload"]["reason_code"] == "budget_constraints"


def test_a_consultant_reads_its_own_engagements_recommendations_and_how_they_were_handled(
    world: World,
) -> None:
    """Given a recommendation approved by the manager, its consultant sees the decision."""
    rec_id = world.recommend()
    world.approve(rec_id)
    reader = Reader(world.ledger)
    assert reader.recommendation(world.consultant, rec_id).state.status == "approved"
    assert [e["type"] for e in reader.history(world.consultant, rec_id)][-1] == (
        "Recommendation.Approved"
    )


def test_a_consultant_of_another_engagement_or_an_outsider_reads_nothing_of_it(
    world: World,
) -> None:
    """Given one agency's recommendation, another agency and an outsider get NotFound."""
    rec_id = world.recommend()
    stranger, _ = other_consultant(world, same_engagement=False)
    outsider = World(world.ledger, world.clock).setup().manager
    reader = Reader(world.ledger)
    for actor in (stranger, outsider, world.outsider):
        with pytest.raises(NotFound):
            reader.recommendation(actor, rec_id)
        with pytest.raises(NotFound):
            reader.history(actor, rec_id)
    with pytest.raises(NotFound):
        reader.organization(world.outsider, world.org_id)


def test_a_campaign_reads_as_it_was_at_a_past_moment(world: World) -> None:
    """Given 5000 on day 0 and 6000 on day 2, the budget as of day 1 is 5000."""
    day0 = world.clock.now
    world.clock.advance(timedelta(days=2))
    world.run(world.manager, c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("6000")))
    reader = Reader(world.ledger)
    then = reader.campaign(world.auditor, world.campaign_id, as_of=day0 + timedelta(days=1))
    now = reader.campaign(world.auditor, world.campaign_id)
    assert (then.state.budget["amount"], now.state.budget["amount"]) == ("5000", "6000")
    with pytest.raises(NotFound):
        reader.campaign(world.auditor, world.campaign_id, as_of=day0 - timedelta(days=1))
