"""Who may recommend, amend and withdraw, through which engagement, and until when.

DOMAIN.md: recommend, amend, withdraw — a consultant with an active engagement covering the
organization (and the campaign's channels and, if scoped, the campaign); amend and withdraw
only by the author and only while pending. An ended engagement stops new recommendations;
pending ones stay decidable.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from ledger import commands as c
from ledger.errors import (
    EngagementRequired,
    Forbidden,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    RecommendationExpired,
    RevisionConflict,
)
from ledger.identity import Actor
from ledger.values import Channel
from tests.ledger.checks import (
    REC_STATUSES,
    actors_by_role,
    amend_command,
    assert_refused,
    bring_to,
    decision,
    other_consultant,
    recommend_command,
    recommendation,
    recommendation_in,
)
from tests.support import World


def withdraw_command(rec_id: UUID, revision: int = 1) -> c.WithdrawRecommendation:
    return c.WithdrawRecommendation(recommendation_id=rec_id, revision=revision, reason="moot")


def engage(world: World, consultant: Actor, channels: tuple[str, ...], **kw: object) -> UUID:
    """Start an engagement of ``consultant`` alone on ``channels``."""
    now = world.clock.now
    result = world.run(
        world.admin,
        c.StartEngagement(
            organization_id=world.org_id,
            agency_id=world.agency_id,
            consultant_ids=(consultant.actor_id,),
            channels=tuple(Channel(ch) for ch in channels),
            starts_at=kw.pop("starts_at", now - timedelta(days=1)),  # type: ignore[arg-type]
            ends_at=kw.pop("ends_at", now + timedelta(days=30)),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        ),
    )
    assert result.resource_id is not None
    return result.resource_id


def test_a_consultant_with_an_active_engagement_covering_the_campaign_may_recommend(
    world: World,
) -> None:
    """Given an engagement on ppc/seo/social, when its consultant recommends, it is pending."""
    result = world.run(world.consultant, recommend_command(world))
    rec = recommendation(world, result.aggregate_id)
    assert result.created
    assert rec.state.status == "pending"
    assert rec.state.author_id == world.consultant.actor_id
    assert rec.state.engagement_id == world.engagement_id
    assert rec.state.current.number == 1


def test_no_member_of_the_client_may_recommend(world: World) -> None:
    """Given the client's members, when any recommends, it is refused: none is engaged."""
    for role, actor in actors_by_role(world).items():
        if role == "consultant":
            continue
        error = NotFound if role == "outsider" else EngagementRequired
        assert_refused(world, actor, recommend_command(world), error)


def test_a_consultant_may_not_recommend_through_an_engagement_that_does_not_name_it(
    world: World,
) -> None:
    """Given a consultant on its own engagement, when it uses another one, it is refused."""
    other, _ = other_consultant(world, same_engagement=False)
    assert_refused(world, other, recommend_command(world), EngagementRequired)


@pytest.mark.parametrize("channels", [("seo",), ("ppc",), ("ppc", "email")], ids="+".join)
def test_an_engagement_not_covering_every_channel_of_the_campaign_refuses_to_recommend(
    world: World, channels: tuple[str, ...]
) -> None:
    """Given a campaign on ppc/social, when the engagement lacks one, recommending is refused."""
    other = Actor(uuid4())
    engagement = engage(world, other, channels)
    command = recommend_command(world, engagement_id=engagement)
    assert_refused(world, other, command, EngagementRequired)


def test_an_engagement_scoped_to_some_campaigns_covers_only_those(world: World) -> None:
    """Given an engagement scoped to campaign B, when recommending on A it is refused, B ok."""
    other_campaign = world.plan()
    other = Actor(uuid4())
    engagement = engage(world, other, ("ppc", "social"), campaign_ids=(other_campaign,))
    command = recommend_command(world, engagement_id=engagement)
    assert_refused(world, other, command, EngagementRequired)
    in_scope = recommend_command(world, engagement_id=engagement, campaign_id=other_campaign)
    result = world.run(other, in_scope)
    assert recommendation(world, result.aggregate_id).state.campaign_id == other_campaign


def test_an_engagement_before_its_start_or_after_its_end_date_refuses_to_recommend(
    world: World,
) -> None:
    """Given an engagement starting tomorrow, and the world's one past its end, both refuse."""
    other = Actor(uuid4())
    now = world.clock.now
    future = engage(
        world,
        other,
        ("ppc", "social"),
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=10),
    )
    assert_refused(world, other, recommend_command(world, engagement_id=future), EngagementRequired)
    world.clock.advance(timedelta(days=91))
    assert_refused(world, world.consultant, recommend_command(world), EngagementRequired)


def test_an_ended_engagement_stops_new_recommendations_but_pending_ones_stay_decidable(
    world: World,
) -> None:
    """Given two pending recommendations, when the engagement ends, both can still be decided."""
    first, second = world.recommend(), world.recommend()
    world.run(
        world.admin,
        c.EndEngagement(
            organization_id=world.org_id, engagement_id=world.engagement_id, reason="contract over"
        ),
    )
    assert_refused(world, world.consultant, recommend_command(world), EngagementRequired)
    world.run(world.manager, decision("approve", first))
    world.run(world.executive, decision("reject", second))
    assert recommendation(world, first).state.status == "approved"
    assert recommendation(world, second).state.status == "rejected"


def test_after_the_engagement_ends_its_author_may_withdraw_but_not_amend(world: World) -> None:
    """Given a pending recommendation of an ended engagement, amend is refused, withdraw not."""
    rec_id = world.recommend()
    world.run(
        world.admin,
        c.EndEngagement(
            organization_id=world.org_id, engagement_id=world.engagement_id, reason="contract over"
        ),
    )
    assert_refused(world, world.consultant, amend_command(world, rec_id), EngagementRequired)
    world.run(world.consultant, withdraw_command(rec_id))
    assert recommendation(world, rec_id).state.status == "withdrawn"


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_no_recommendation_may_be_made_on_a_closed_campaign(world: World, status: str) -> None:
    """Given a completed/cancelled campaign, when a consultant recommends on it, refused."""
    bring_to(world, status)
    assert_refused(world, world.consultant, recommend_command(world), InvalidTransition)


def test_a_recommendation_must_expire_in_the_future(world: World) -> None:
    """Given a consultant, when its recommendation expires now, then it is refused."""
    command = recommend_command(world, expires_at=world.clock.now)
    assert_refused(world, world.consultant, command, InvalidCommand)


def test_only_the_author_may_amend_or_withdraw_a_recommendation(world: World) -> None:
    """Given a pending recommendation, when a co-consultant or a manager changes it, refused."""
    rec_id = world.recommend()
    colleague, _ = other_consultant(world, same_engagement=True)
    for actor in (colleague, world.manager, world.executive):
        assert_refused(world, actor, amend_command(world, rec_id), Forbidden)
        assert_refused(world, actor, withdraw_command(rec_id), Forbidden)
    for actor in (world.outsider,):
        assert_refused(world, actor, amend_command(world, rec_id), NotFound)
        assert_refused(world, actor, withdraw_command(rec_id), NotFound)
    world.run(world.consultant, amend_command(world, rec_id))
    world.run(world.consultant, withdraw_command(rec_id, revision=2))
    assert recommendation(world, rec_id).state.status == "withdrawn"


@pytest.mark.parametrize("status", [s for s in REC_STATUSES if s != "pending"])
def test_a_recommendation_may_be_amended_or_withdrawn_only_while_pending(
    world: World, status: str
) -> None:
    """Given a recommendation no longer pending, when its author amends/withdraws, refused:
    as expired when it has expired (RecommendationExpired), else as a conflict."""
    rec_id = recommendation_in(world, status)
    refusal = RecommendationExpired if status == "expired" else RevisionConflict
    assert_refused(world, world.consultant, amend_command(world, rec_id), refusal)
    assert_refused(world, world.consultant, withdraw_command(rec_id), refusal)
    assert recommendation(world, rec_id).state.status == status


def test_an_amendment_opens_a_new_pending_revision_with_the_new_values(world: World) -> None:
    """Given revision 1 at 5500, when the author amends to 5600, revision 2 holds 5600."""
    rec_id = world.recommend()
    result = world.run(world.consultant, amend_command(world, rec_id, amount="5600"))
    state = recommendation(world, rec_id).state
    assert result.version == 2
    assert [r.number for r in state.revisions] == [1, 2]
    assert state.current.change["budget"]["amount"] == "5600"
    assert state.revisions[0].change["budget"]["amount"] == "5500"
    assert state.status == "pending"


def test_an_amendment_naming_a_stale_revision_is_a_revision_conflict(world: World) -> None:
    """Given revision 2, when the author amends or withdraws naming revision 1, refused."""
    rec_id = world.recommend()
    world.run(world.consultant, amend_command(world, rec_id))
    error = assert_refused(world, world.consultant, amend_command(world, rec_id), RevisionConflict)
    assert error.context["current_revision"] == 2
    assert_refused(world, world.consultant, withdraw_command(rec_id, revision=1), RevisionConflict)
    world.run(world.consultant, amend_command(world, rec_id, revision=2, amount="5700"))
    assert recommendation(world, rec_id).state.current.number == 3
