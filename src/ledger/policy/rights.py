"""The decision rights of the table, checked at command time, and the special rules.

Tenant isolation comes first: an actor with no role, no engagement and no platform standing
in an organization is told the resource does not exist (NotFound), so ids of other tenants
leak nothing. An actor who belongs but lacks the right gets a Forbidden naming the rule.

The special rules, each a function named as in ``docs/decision-rights.md``:
``segregation_of_duties``, ``author_only``, ``executive_needed`` (a recommendation awaiting
leadership; ``limit_applies`` says whose budget decisions the approval limit bounds, the
arithmetic is ``policy.limits``), ``require_engagement`` (engagement scope and channels) and,
for agencies (ADR 0016), ``require_agency_right``, ``on_roster`` and ``named_from_roster``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from ledger import commands as c
from ledger.domain.agency import Agency
from ledger.domain.organization import EngagementTerms, Organization
from ledger.errors import (
    EngagementRequired,
    Forbidden,
    NotFound,
    NotOnRoster,
    RoleRequired,
    SegregationOfDuties,
)
from ledger.identity import Actor
from ledger.policy.table import AA, COMMANDS, PREFERENCE
from ledger.values import AgencyRole, Role


def platform_role(actor: Actor) -> Role | None:
    """The platform standing of an actor: the system actor, an operator, or none."""
    if actor.system:
        return Role.SYSTEM
    return Role.OPERATOR if actor.operator else None


def can_see(org: Organization, actor: Actor) -> bool:
    """True when the organization is visible to the actor at all."""
    return (
        platform_role(actor) is not None
        or bool(org.roles_of(actor.actor_id))
        or bool(org.engagements_of(actor.actor_id))
    )


def require_visible(org: Organization, actor: Actor, what: str, ident: UUID) -> None:
    if not can_see(org, actor):
        raise NotFound(f"{what} not found", **{f"{what}_id": ident})


def may_create_organization(actor: Actor) -> None:
    if platform_role(actor) not in COMMANDS[c.CreateOrganization].roles:
        raise Forbidden(
            "only a platform operator may create an organization", actor_id=actor.actor_id
        )


def may_register_agency(actor: Actor) -> None:
    if platform_role(actor) not in COMMANDS[c.RegisterAgency].roles:
        raise Forbidden("only a platform operator may register an agency", actor_id=actor.actor_id)


def require_right(
    org: Organization, actor: Actor, command: type[c.Command], what: str, ident: UUID
) -> Role:
    """The role the actor issues ``command`` in, from the table; or NotFound / RoleRequired.

    A consultant's command answers ``consultant`` here: whether an engagement lets it act
    is ``require_engagement``'s question."""
    require_visible(org, actor, what, ident)
    right = COMMANDS[command]
    roles = org.roles_of(actor.actor_id)
    for role in PREFERENCE:
        if role in right.roles and role in roles:
            return role
    if Role.CONSULTANT in right.roles:
        return Role.CONSULTANT
    platform = platform_role(actor)
    if platform is not None and platform in right.roles:
        return platform
    raise RoleRequired(
        f"{right.action} needs one of the roles: {', '.join(sorted(right.roles))}",
        actor_id=actor.actor_id,
        organization_id=org.id,
        held=",".join(sorted(roles)) or "none",
    )


def require_engagement(
    org: Organization,
    actor: Actor,
    engagement_id: UUID,
    *,
    at: datetime,
    channels: frozenset[str],
    campaign_id: UUID | None,
) -> EngagementTerms:
    """The consultant's active engagement covering the channels and campaign."""
    terms = org.state.engagements.get(engagement_id)
    if terms is None or actor.actor_id not in terms.consultant_ids:
        raise EngagementRequired(
            "the consultant is not part of this engagement",
            engagement_id=engagement_id,
            actor_id=actor.actor_id,
        )
    if not terms.is_active(at):
        raise EngagementRequired(
            "the engagement is not active: it has ended or is outside its dates",
            engagement_id=engagement_id,
        )
    if not terms.covers(channels, campaign_id):
        raise EngagementRequired(
            "the engagement's scope does not cover this campaign or its channels",
            engagement_id=engagement_id,
            campaign_id=campaign_id,
        )
    return terms


def within_scope(terms: EngagementTerms, channels: frozenset[str] | None) -> None:
    """A consultant may propose channels only within its engagement's scope."""
    outside = (channels or frozenset()) - terms.channels
    if outside:
        raise EngagementRequired(
            "the engagement's scope does not cover these channels",
            engagement_id=terms.engagement_id,
            channels=",".join(sorted(outside)),
        )


def segregation_of_duties(actor: Actor, author_id: UUID, recommendation_id: UUID) -> None:
    """The author of a recommendation never decides on it, whatever roles it holds."""
    if author_id == actor.actor_id:
        raise SegregationOfDuties(
            "the author of a recommendation may not decide on it",
            recommendation_id=recommendation_id,
            actor_id=actor.actor_id,
        )


def author_only(actor: Actor, author_id: UUID, recommendation_id: UUID) -> None:
    """Only the author amends or withdraws a recommendation."""
    if author_id != actor.actor_id:
        raise Forbidden(
            "only the author may amend or withdraw a recommendation",
            recommendation_id=recommendation_id,
        )


def executive_needed(role: Role, awaiting_executive: bool, recommendation_id: UUID) -> None:
    """A recommendation a manager approved above the limit (or escalated) awaits an
    executive: nobody else decides it."""
    if awaiting_executive and role != Role.EXECUTIVE:
        raise RoleRequired(
            "the recommendation awaits an executive's decision",
            recommendation_id=recommendation_id,
        )


def limit_applies(role: Role) -> bool:
    """The approval limit bounds a manager's budget decisions; an executive's are unbounded."""
    return role == Role.MANAGER


def require_recommendation_visible(
    org: Organization, actor: Actor, engagement_id: UUID, recommendation_id: UUID
) -> None:
    """A command on a recommendation: from a member, the platform, or a consultant of the
    engagement it was made under; anyone else is told it does not exist."""
    mine = any(e.engagement_id == engagement_id for e in org.engagements_of(actor.actor_id))
    if not (org.roles_of(actor.actor_id) or mine or platform_role(actor) is not None):
        raise NotFound("recommendation not found", recommendation_id=recommendation_id)


def require_agency_right(agency: Agency, actor: Actor, command: type[c.Command]) -> Role:
    """The role the actor keeps an agency's roster in: ``agency_admin`` of this agency, or
    the platform's; anyone else on the roster is refused, a stranger told it does not
    exist."""
    held = agency.roles_of(actor.actor_id)
    platform = platform_role(actor)
    if not held and platform is None:
        raise NotFound("agency not found", agency_id=agency.id)
    right = COMMANDS[command]
    if AA in right.roles and AA.value in held:
        return AA
    if platform is not None and platform in right.roles:
        return platform
    raise RoleRequired(
        f"{right.action} needs one of the roles: {', '.join(sorted(right.roles))}",
        actor_id=actor.actor_id,
        agency_id=agency.id,
        held=",".join(sorted(held)) or "none",
    )


def roster(agency: Agency | None) -> frozenset[UUID] | None:
    """The consultants an agency lists now; None for an engagement naming an agency that
    was never registered (recorded before ADR 0016, or outside it): no roster to ask."""
    return None if agency is None else agency.holding(AgencyRole.CONSULTANT.value)


def on_roster(listed: frozenset[UUID] | None, actor: Actor, terms: EngagementTerms) -> None:
    """A consultant acts through an engagement only while the engagement's agency still
    lists it: the agency withdraws its people from every client at once."""
    if listed is not None and actor.actor_id not in listed:
        raise EngagementRequired(
            "the engagement's agency no longer lists this consultant",
            engagement_id=terms.engagement_id,
            agency_id=terms.agency_id,
            actor_id=actor.actor_id,
        )


def named_from_roster(
    listed: frozenset[UUID] | None, consultant_ids: Iterable[UUID], agency_id: UUID
) -> None:
    """A client names, on an engagement with a registered agency, only consultants the
    agency lists: the agency vouches for its people, the client chooses among them."""
    missing = sorted(str(x) for x in set(consultant_ids) - (listed or frozenset()))
    if listed is not None and missing:
        raise NotOnRoster(
            "the agency does not list these consultants",
            agency_id=agency_id,
            consultant_ids=",".join(missing),
        )
