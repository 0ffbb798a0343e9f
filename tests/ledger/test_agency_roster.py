"""The agency's roster against its clients' engagements (ADR 0016), on SQLite and PostgreSQL.

The client alone names who acts for it; the agency's roster only ever narrows that.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from ledger import commands as c
from ledger.domain.organization import Organization
from ledger.errors import EngagementRequired, InvalidTransition, NotFound, NotOnRoster, RoleRequired
from ledger.identity import Actor
from ledger.values import AgencyRole, Channel, ProposedChange
from tests.ledger.checks import store_state
from tests.support import World


def _engage(world: World, agency_id: UUID, *consultants: Actor) -> c.StartEngagement:
    return c.StartEngagement(
        organization_id=world.org_id,
        agency_id=agency_id,
        consultant_ids=tuple(a.actor_id for a in consultants),
        channels=(Channel.PPC, Channel.SOCIAL),
        starts_at=world.clock.now - timedelta(days=1),
        ends_at=world.clock.now + timedelta(days=30),
    )


def _registered(world: World) -> UUID:
    """The world's registered agency, and the world's engagement moved onto it."""
    agency = world.agency()
    started = world.run(world.admin, _engage(world, agency, world.consultant))
    assert started.resource_id is not None
    world.engagement_id = started.resource_id
    return agency


def _remove(world: World, agency: UUID, who: Actor) -> None:
    world.run(
        world.agency_admin,
        c.RemoveAgencyMember(
            agency_id=agency,
            member_id=who.actor_id,
            member_role=AgencyRole.CONSULTANT,
            reason="left the agency",
        ),
    )


def test_a_client_may_not_name_a_consultant_its_registered_agency_does_not_list(
    world: World,
) -> None:
    """Given a registered agency, when a client names someone it does not list, the
    engagement is refused (not_on_roster) and nothing is recorded."""
    agency = world.agency()
    before = store_state(world)
    with pytest.raises(NotOnRoster) as caught:
        world.run(world.admin, _engage(world, agency, world.consultant, world.outsider))
    assert caught.value.context["consultant_ids"] == str(world.outsider.actor_id)
    assert store_state(world) == before


def test_an_engagement_naming_an_agency_never_registered_asks_no_roster(world: World) -> None:
    """An engagement with an agency id nobody registered names whom the client chooses, and
    its consultant recommends, as before the agency existed."""
    stranger = Actor(uuid4())
    started = world.run(world.admin, _engage(world, uuid4(), stranger))
    assert started.resource_id is not None
    world.engagement_id = started.resource_id
    assert world.recommend(kind="strategy", author=stranger)


def test_a_consultant_the_agency_removes_may_no_longer_recommend_or_amend(world: World) -> None:
    """Given a consultant's pending recommendation, when its agency takes it off the roster,
    its next recommendation and its amendment are refused (engagement_required), nothing
    recorded, while the client's engagement still names it."""
    agency = _registered(world)
    rec = world.recommend(kind="strategy")
    _remove(world, agency, world.consultant)
    before = store_state(world)
    with pytest.raises(EngagementRequired):
        world.recommend(kind="strategy")
    with pytest.raises(EngagementRequired):
        world.run(
            world.consultant,
            c.AmendRecommendation(
                recommendation_id=rec,
                revision=1,
                change=ProposedChange(),
                rationale="still mine",
                evidence=(),
                expected_impact="none",
                expires_at=world.clock.now + timedelta(days=7),
            ),
        )
    assert store_state(world) == before
    org: Organization = world.ledger.repository.get(world.org_id)
    assert world.consultant.actor_id in org.state.engagements[world.engagement_id].consultant_ids


def test_a_consultant_listed_again_acts_again(world: World) -> None:
    """Taken off and put back on the roster, the consultant recommends again."""
    agency = _registered(world)
    _remove(world, agency, world.consultant)
    world.run(
        world.agency_admin,
        c.AddAgencyMember(
            agency_id=agency, member_id=world.consultant.actor_id, member_role=AgencyRole.CONSULTANT
        ),
    )
    assert world.recommend(kind="strategy")


def test_an_agency_admin_keeps_only_its_own_agencys_roster(world: World) -> None:
    """Another agency's admin is told the agency does not exist; a consultant on the roster
    may not keep it."""
    agency = world.agency()
    other_admin = Actor(uuid4())
    other = world.run(world.operator, c.RegisterAgency(name="Agency South")).aggregate_id
    world.run(
        world.operator,
        c.AddAgencyMember(
            agency_id=other, member_id=other_admin.actor_id, member_role=AgencyRole.AGENCY_ADMIN
        ),
    )
    add = c.AddAgencyMember(agency_id=agency, member_id=uuid4(), member_role=AgencyRole.CONSULTANT)
    with pytest.raises(NotFound):
        world.run(other_admin, add)
    with pytest.raises(RoleRequired):
        world.run(world.consultant, add)


def test_the_roster_refuses_a_change_that_changes_nothing(world: World) -> None:
    """Adding a member in a role it holds, or removing one it does not hold, is refused."""
    agency = world.agency()
    with pytest.raises(InvalidTransition):
        world.run(
            world.agency_admin,
            c.AddAgencyMember(
                agency_id=agency,
                member_id=world.consultant.actor_id,
                member_role=AgencyRole.CONSULTANT,
            ),
        )
    with pytest.raises(InvalidTransition):
        _remove(world, agency, world.outsider)
