"""Two clients of one registered agency, and another agency's work beside it (ADR 0016).

Agency N lists its admin and two consultants, n1 and n2. Client A (the world's
organization) engages N with n1, and still has the world's own engagement with another
agency (never registered), whose consultant recommends too. Client B engages N with n2.

The recommendations: in A by n1, one approved and marked implemented, one rejected, one
escalated and then approved with changes by the executive, one withdrawn; in A by the other
agency's consultant, one approved; in B by n2, one approved and one left to lapse (its
expiry a second away, so the reads count it expired).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from ledger import commands as c
from ledger.identity import Actor
from ledger.values import AgencyRole, Channel, MemberRole, ProposedChange, RecommendationKind
from tests.api.conftest import Api
from tests.ledger.checks import decision
from tests.support import World, budget


@dataclass
class Scene:
    agency_id: UUID
    client_b: UUID
    campaign_b: UUID
    engagement_a: UUID
    engagement_b: UUID
    n1: Actor
    n2: Actor
    manager_b: Actor
    ours: dict[str, UUID] = field(default_factory=dict)  # recommendations of N's consultants
    theirs: dict[str, UUID] = field(default_factory=dict)  # the other agency's
    after: int = 0


def _engage(w: World, org: UUID, agency: UUID, who: Actor, admin: Actor) -> UUID:
    started = w.run(
        admin,
        c.StartEngagement(
            organization_id=org,
            agency_id=agency,
            consultant_ids=(who.actor_id,),
            channels=(Channel.PPC, Channel.SEO, Channel.SOCIAL),
            starts_at=datetime.now(UTC) - timedelta(days=1),
            ends_at=datetime.now(UTC) + timedelta(days=90),
        ),
    )
    assert started.resource_id is not None
    return started.resource_id


def _recommend(
    w: World,
    who: Actor,
    org: UUID,
    engagement: UUID,
    campaign: UUID,
    kind: str = "strategy",
    expires: timedelta = timedelta(days=14),
) -> UUID:
    change = ProposedChange(budget=budget("5500")) if kind == "adjust_budget" else ProposedChange()
    return w.run(
        who,
        c.Recommend(
            organization_id=org,
            engagement_id=engagement,
            campaign_id=campaign,
            kind=RecommendationKind(kind),
            change=change,
            rationale="the data says so",
            evidence=(),
            expected_impact="more leads",
            expires_at=datetime.now(UTC) + expires,
        ),
    ).aggregate_id


def build(api: Api) -> Scene:
    """The scene above, with API keys ``agency_admin``, ``n1``, ``n2`` and ``manager_b``."""
    w = api.world
    n1, n2, manager_b = Actor(uuid4()), Actor(uuid4()), Actor(uuid4())
    agency = w.run(w.operator, c.RegisterAgency(name="Agency North")).aggregate_id
    for actor, role in [
        (w.agency_admin, AgencyRole.AGENCY_ADMIN),
        (n1, AgencyRole.CONSULTANT),
        (n2, AgencyRole.CONSULTANT),
    ]:
        w.run(
            w.operator,
            c.AddAgencyMember(agency_id=agency, member_id=actor.actor_id, member_role=role),
        )
    client_b = w.run(
        w.operator,
        c.CreateOrganization(name="Client B", default_currency="EUR", approval_limit=Decimal(900)),
    ).aggregate_id
    w.run(
        w.operator,
        c.GrantMembership(
            organization_id=client_b, member_id=manager_b.actor_id, member_role=MemberRole.MANAGER
        ),
    )
    campaign_b = w.run(
        manager_b,
        c.PlanCampaign(
            organization_id=client_b,
            name="Autumn",
            objective="Leads",
            channels=(Channel.PPC,),
            budget=budget("800"),
        ),
    ).aggregate_id
    s = Scene(
        agency_id=agency,
        client_b=client_b,
        campaign_b=campaign_b,
        engagement_a=_engage(w, w.org_id, agency, n1, w.admin),
        engagement_b=_engage(w, client_b, agency, n2, w.operator),
        n1=n1,
        n2=n2,
        manager_b=manager_b,
    )
    for actor, name in [(n1, "n1"), (n2, "n2"), (manager_b, "manager_b")]:
        api.key_for(actor, name)
    in_a = (w.org_id, s.engagement_a, w.campaign_id)
    s.ours["implemented"] = _recommend(w, n1, *in_a)
    w.approve(s.ours["implemented"])
    w.run(
        w.manager, c.MarkImplemented(recommendation_id=s.ours["implemented"], note="workshop held")
    )
    s.ours["rejected"] = _recommend(w, n1, *in_a, kind="content")
    w.run(w.manager, decision("reject", s.ours["rejected"]))
    s.ours["escalated"] = _recommend(w, n1, *in_a, kind="adjust_budget")
    w.run(w.manager, decision("escalate", s.ours["escalated"]))
    w.run(w.executive, decision("approve_with_changes", s.ours["escalated"]))
    s.ours["withdrawn"] = _recommend(w, n1, *in_a)
    w.run(
        n1,
        c.WithdrawRecommendation(
            recommendation_id=s.ours["withdrawn"], revision=1, reason="superseded"
        ),
    )
    s.theirs["other agency"] = w.recommend(kind="strategy")
    w.approve(s.theirs["other agency"])
    in_b = (client_b, s.engagement_b, campaign_b)
    s.ours["approved in B"] = _recommend(w, n2, *in_b)
    w.approve(s.ours["approved in B"], actor=manager_b)
    s.ours["lapsed in B"] = _recommend(w, n2, *in_b, expires=timedelta(seconds=1))
    s.after = w.run(
        manager_b, c.AdjustBudget(campaign_id=campaign_b, budget=budget("700"))
    ).position
    time.sleep(1.2)  # the lapsing recommendation is now past its expiry
    return s
