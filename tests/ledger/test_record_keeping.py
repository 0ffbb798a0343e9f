"""Nothing is updated or deleted; refusals are told and logged; organization roles.

DOMAIN.md: a mistake is corrected by a new event that refers to the old one. A refused
command changes nothing; the reason is returned to the caller and logged.
"""

from __future__ import annotations

from uuid import uuid4

import structlog

from ledger import commands as c
from ledger.errors import InvalidCommand, InvalidTransition, NotFound, RoleRequired
from ledger.values import MemberRole
from tests.ledger.checks import assert_refused, bring_to, campaign, performance, store_state
from tests.support import World


def test_a_performance_mistake_is_corrected_by_a_new_event_naming_the_old_one(
    world: World,
) -> None:
    """Given results recorded at version 3, a correction is version 4 naming 3; 3 stays."""
    bring_to(world, "active")
    first = world.run(world.integration, performance(world, spend="120.50"))
    before = store_state(world)
    fixed = performance(world, spend="102.50").model_copy(
        update={"corrects_version": first.version}
    )
    second = world.run(world.manager, fixed)
    after = store_state(world)
    assert after[1][: len(before[1])] == before[1], "an earlier event changed"
    records = campaign(world).state.performance
    assert [(r["version"], r["corrects_version"]) for r in records] == [
        (first.version, None),
        (second.version, first.version),
    ]
    assert [r["spend"]["amount"] for r in records] == ["120.50", "102.50"]


def test_a_correction_must_name_an_earlier_performance_record(world: World) -> None:
    """Given no results at version 2 (a launch), a correction naming 2 is refused."""
    bring_to(world, "active")
    wrong = performance(world).model_copy(update={"corrects_version": 2})
    assert_refused(world, world.manager, wrong, InvalidCommand)


def test_a_refused_command_is_logged_with_its_code_and_reason(world: World) -> None:
    """Given a consultant's launch, the refusal is logged once, with code and reason."""
    with structlog.testing.capture_logs() as logs:
        assert_refused(
            world,
            world.consultant,
            c.LaunchCampaign(campaign_id=world.campaign_id),
            RoleRequired,
            correlation_id="corr-refused",
        )
    (line,) = [entry for entry in logs if entry.get("outcome") == "refused"]
    assert line["code"] == "role_required"
    assert line["correlation_id"] == "corr-refused"
    assert line["command"] == "LaunchCampaign"
    assert "launch needs one of the roles" in line["reason"]
    assert line["actor_id"] == str(world.consultant.actor_id)


def test_only_an_admin_or_the_platform_operator_grants_roles(world: World) -> None:
    """Given a new actor, only the admin may grant it a role, and only once."""
    grant = c.GrantMembership(
        organization_id=world.org_id, member_id=uuid4(), member_role=MemberRole.AUDITOR
    )
    for actor in (world.manager, world.executive, world.auditor, world.integration):
        assert_refused(world, actor, grant, RoleRequired)
    assert_refused(world, world.outsider, grant, NotFound)
    assert_refused(world, world.consultant, grant, RoleRequired)
    world.run(world.admin, grant)
    assert_refused(world, world.admin, grant, InvalidTransition)  # held already
