"""The decision rights of DOMAIN.md, checked at command time.

Tenant isolation comes first: an actor with no role, no engagement and no operator flag in
an organization is told the resource does not exist (NotFound), so ids of other tenants leak
nothing. An actor who belongs but lacks the right gets a Forbidden naming the rule.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.domain.organization import EngagementTerms, Organization
from ledger.errors import EngagementRequired, NotFound, RoleRequired
from ledger.identity import Actor
from ledger.values import Role

# When an actor holds several roles that all allow a command, it acts in the strongest.
PREFERENCE = (Role.EXECUTIVE, Role.MANAGER, Role.ADMIN, Role.AUDITOR, Role.INTEGRATION)

READERS = frozenset({Role.AUDITOR, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN})


def can_see(org: Organization, actor: Actor) -> bool:
    """True when the organization is visible to the actor at all."""
    return (
        actor.operator
        or bool(org.roles_of(actor.actor_id))
        or bool(org.engagements_of(actor.actor_id))
    )


def require_visible(org: Organization, actor: Actor, what: str, ident: UUID) -> None:
    if not can_see(org, actor):
        raise NotFound(f"{what} not found", **{f"{what}_id": ident})


def require_role(
    org: Organization,
    actor: Actor,
    allowed: frozenset[Role],
    *,
    command: str,
    what: str,
    ident: UUID,
    operator_ok: bool = False,
) -> Role:
    """The role the actor acts in, or NotFound / RoleRequired."""
    require_visible(org, actor, what, ident)
    roles = org.roles_of(actor.actor_id)
    for role in PREFERENCE:
        if role in allowed and role in roles:
            return role
    if operator_ok and actor.operator:
        return Role.OPERATOR
    raise RoleRequired(
        f"{command} needs one of the roles: {', '.join(sorted(allowed))}",
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
