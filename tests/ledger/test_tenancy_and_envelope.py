"""Tenant isolation, and the envelope every stored event carries.

DOMAIN.md: everything belongs to exactly one organization; an actor foreign to it learns
nothing (NotFound, as for an id that does not exist). Every event records who acted (an id,
never personal details), in which role, for which party, for which organization, through
which engagement when a consultant acted, the correlation and causation ids of the request,
and the server's UTC time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.utils import resolve_topic

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.domain.base import LedgerAggregate
from ledger.errors import NotFound
from ledger.identity import Actor
from ledger.values import Channel, KpiTarget, MemberRole, ProposedChange
from tests.ledger.checks import (
    amend_command,
    assert_refused,
    bring_to,
    decision,
    performance,
    recommend_command,
)
from tests.support import World, budget

ENVELOPE = {
    "actor_id",
    "role",
    "party",
    "organization_id",
    "engagement_id",
    "correlation_id",
    "causation_id",
    "timestamp",
}
PERSONAL = {
    "name_of_actor",
    "actor_name",
    "author_name",
    "email",
    "e_mail",
    "email_address",
    "phone",
    "telephone",
    "first_name",
    "last_name",
    "full_name",
    "display_name",
    "username",
    "user_name",
    "address",
    "ip",
    "ip_address",
    "user_agent",
    "birth_date",
}


def event_classes() -> list[type[LedgerAggregate.Event]]:
    """Every event class of the ledger's aggregates, as its topic resolves.

    The library's aggregate metaclass redefines nested event classes, so walking
    ``__subclasses__`` meets two classes per name; the one a topic resolves to is the one
    that is stored and loaded."""
    found: dict[str, type[LedgerAggregate.Event]] = {}
    todo: list[type[Any]] = [LedgerAggregate.Event]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("ledger.domain.") and cls.__module__ != "ledger.domain.base":
            topic = f"{cls.__module__}:{cls.__qualname__}"
            found[topic] = resolve_topic(topic)
    return [found[t] for t in sorted(found)]


def targets_of_org_a(a: World) -> dict[str, c.Command]:
    """One command of each kind aimed at organization A's ids."""
    rec_id = a.recommend()
    return {
        "plan": c.PlanCampaign(
            organization_id=a.org_id,
            name="x",
            objective="y",
            channels=(Channel.SEO,),
            budget=budget("10"),
        ),
        "launch": c.LaunchCampaign(campaign_id=a.campaign_id),
        "adjust budget": c.AdjustBudget(campaign_id=a.campaign_id, budget=budget("10")),
        "set kpi targets": c.SetKpiTargets(
            campaign_id=a.campaign_id,
            kpi_targets=(KpiTarget(metric="cpa", target=Decimal(1), unit="EUR"),),
        ),
        "record performance": performance(a),
        "approve": decision("approve", rec_id),
        "approve with changes": decision("approve_with_changes", rec_id),
        "reject": decision("reject", rec_id),
        "escalate": decision("escalate", rec_id),
        "amend": amend_command(a, rec_id),
        "withdraw": c.WithdrawRecommendation(recommendation_id=rec_id, revision=1, reason="x"),
        "expire": c.ExpireRecommendation(recommendation_id=rec_id),
        "mark implemented": c.MarkImplemented(recommendation_id=rec_id, note="x"),
        "recommend": recommend_command(a),
        "grant": c.GrantMembership(
            organization_id=a.org_id, member_id=uuid4(), member_role=MemberRole.MANAGER
        ),
        "settings": c.ChangeOrganizationSettings(organization_id=a.org_id, name="mine now"),
        "end engagement": c.EndEngagement(
            organization_id=a.org_id, engagement_id=a.engagement_id, reason="x"
        ),
    }


def test_members_of_another_organization_get_not_found_for_its_ids(world: World) -> None:
    """Given orgs A and B, when B's members aim any command at A's ids, each gets NotFound."""
    b = World(world.ledger, world.clock).setup()
    for name, command in targets_of_org_a(world).items():
        for actor in (b.manager, b.executive, b.admin, b.integration, b.consultant, b.outsider):
            error = assert_refused(world, actor, command, NotFound)
            assert "not found" in error.detail, name


def test_a_consultant_cannot_reach_another_organizations_campaign_through_its_own_engagement(
    world: World,
) -> None:
    """Given B's consultant, when it recommends on A's campaign via B's engagement, NotFound."""
    b = World(world.ledger, world.clock).setup()
    command = recommend_command(b, campaign_id=world.campaign_id)
    assert_refused(world, b.consultant, command, NotFound)


def test_an_execution_cannot_cite_another_organizations_recommendation(world: World) -> None:
    """Given an approval in A, when B's manager cites it on B's campaign, it is NotFound."""
    b = World(world.ledger, world.clock).setup()
    rec_id = world.recommend()
    world.approve(rec_id)
    command = c.AdjustBudget(campaign_id=b.campaign_id, budget=budget("5500"), implements=rec_id)
    assert_refused(world, b.manager, command, NotFound)


def test_a_foreign_id_is_indistinguishable_from_one_that_does_not_exist(world: World) -> None:
    """Given A's campaign and a random id, B's manager gets the same refusal for each."""
    b = World(world.ledger, world.clock).setup()
    refusals = []
    for campaign_id in (world.campaign_id, uuid4()):
        command = c.LaunchCampaign(campaign_id=campaign_id)
        error = assert_refused(world, b.manager, command, NotFound)
        refusals.append((error.detail, set(error.context)))
    assert refusals[0] == refusals[1]


def test_a_consultant_of_another_engagement_does_not_see_the_recommendation(
    world: World,
) -> None:
    """Given two agencies engaged by one org, one cannot amend or expire the other's advice."""
    stranger = Actor(uuid4())
    now = world.clock.now
    world.run(
        world.admin,
        c.StartEngagement(
            organization_id=world.org_id,
            agency_id=uuid4(),
            consultant_ids=(stranger.actor_id,),
            channels=(Channel.PPC, Channel.SOCIAL),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=9),
        ),
    )
    rec_id = world.recommend()
    assert_refused(world, stranger, amend_command(world, rec_id), NotFound)
    assert_refused(world, stranger, c.ExpireRecommendation(recommendation_id=rec_id), NotFound)


def run_scenario(w: World) -> list[tuple[Actor, str, str, CommandResult]]:
    """A day of work with every party, each command under its own correlation id."""
    rec_id = w.recommend()
    steps: list[tuple[Actor, str, c.Command]] = [
        (w.consultant, "consultant", amend_command(w, rec_id)),
        (w.manager, "manager", decision("approve_with_changes", rec_id, revision=2, amount="6500")),
        (w.executive, "executive", decision("approve", rec_id, revision=2)),
        (
            w.manager,
            "manager",
            c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("6500"), implements=rec_id),
        ),
        (w.executive, "executive", c.LaunchCampaign(campaign_id=w.campaign_id)),
        (w.integration, "integration", performance(w)),
        (w.consultant, "consultant", recommend_command(w, amount="5400")),
    ]
    done = []
    for i, (actor, role, command) in enumerate(steps):
        corr, cause = f"corr-{i}", f"cause-{i}"
        result = w.run(actor, command, correlation_id=corr, causation_id=cause)
        done.append((actor, role, corr, result))
    return done


def test_every_event_carries_the_full_envelope(world: World) -> None:
    """Given a scenario, every event names actor, role, party, org, ids and a UTC time."""
    started = world.clock.now
    done = run_scenario(world)
    seen = 0
    for actor, role, corr, result in done:
        for ref in result.events:
            (stored,) = world.ledger.recorder.select_notifications(ref.position, 1)
            event = cast(LedgerAggregate.Event, world.ledger.mapper.to_domain_event(stored))
            assert event.actor_id == actor.actor_id
            assert event.role == role
            assert event.party == ("agency" if role == "consultant" else "client")
            assert event.organization_id == world.org_id
            assert event.engagement_id == (world.engagement_id if role == "consultant" else None)
            assert (event.correlation_id, event.causation_id) == (
                corr,
                corr.replace("corr", "cause"),
            )
            assert event.timestamp.tzinfo is not None
            assert event.timestamp.utcoffset() == timedelta(0)
            assert started < event.timestamp <= world.clock.now
            seen += 1
    assert seen == 8  # seven commands; the implementing execution writes two events


def test_setup_events_name_the_platform_operator_and_the_admin(world: World) -> None:
    """Given the world's set-up, the operator's events say platform, the admin's client."""
    for n in world.ledger.recorder.select_notifications(1, 7):
        event = cast(LedgerAggregate.Event, world.ledger.mapper.to_domain_event(n))
        expected = ("operator", "platform") if event.role == "operator" else ("admin", "client")
        assert (event.role, event.party) == expected
        assert event.organization_id == world.org_id
        assert event.timestamp.tzinfo == UTC or event.timestamp.utcoffset() == timedelta(0)


def test_every_event_class_declares_the_envelope_and_no_personal_data_field() -> None:
    """Given every event class, each has the envelope fields and none holds personal data."""
    classes = event_classes()
    assert len(classes) >= 25
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        assert names >= ENVELOPE, cls.__qualname__
        assert not names & PERSONAL, cls.__qualname__
        assert not any("email" in n or "phone" in n for n in names), cls.__qualname__


def test_stored_events_refer_to_people_by_id_only(world: World) -> None:
    """Given a scenario, every stored field naming a person holds a UUID, never text."""
    run_scenario(world)
    for n in world.ledger.recorder.select_notifications(1, 10_000):
        event = world.ledger.mapper.to_domain_event(n)
        fields = vars(event)
        assert not set(fields) & PERSONAL, n.topic
        for key in ("actor_id", "member_id", "agency_id"):
            if key in fields:
                assert isinstance(fields[key], UUID), (n.topic, key)
        for consultant in fields.get("consultant_ids", []):
            assert isinstance(consultant, UUID), n.topic


def test_the_author_of_a_recommendation_is_its_consultants_id(world: World) -> None:
    """Given a consultant's recommendation, its author is the consultant's id, role consultant."""
    rec_id = world.recommend(change=ProposedChange(budget=budget("5600")))
    (stored,) = [
        n for n in world.ledger.recorder.select_notifications(1, 1000) if n.originator_id == rec_id
    ]
    event = cast(LedgerAggregate.Event, world.ledger.mapper.to_domain_event(stored))
    assert (event.actor_id, event.role, event.party) == (
        world.consultant.actor_id,
        "consultant",
        "agency",
    )
    assert event.engagement_id == world.engagement_id
    bring_to(world, "cancelled")
