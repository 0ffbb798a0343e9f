"""Who reads what: the read rules every query, view and route asks.

An actor reads all of an organization's records of a kind when it holds one of the roles
``table.READS`` names for it. A consultant reads, through its engagements, only what they
cover: the campaigns an engagement's scope covers (its channels, and its campaigns when it
names some), and the recommendations made under its engagements, with their events and
how they were handled. An agency admin (ADR 0016) reads, of each client whose engagements
name its agency, what those engagements cover of ``table.AGENCY_READS``: the
recommendations, their events and receipts, the reports; never a campaign, a membership or
another agency's work. ``led`` is the set of agencies the actor leads (the application
finds it: ``leads`` says who does). Anyone else in the organization is refused
(RoleRequired); an actor foreign to it is told it does not exist (NotFound).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from ledger.domain.agency import Agency
from ledger.domain.organization import EngagementTerms, Organization
from ledger.errors import NotFound, RoleRequired
from ledger.identity import Actor
from ledger.policy.rights import can_see, platform_role
from ledger.policy.table import AA, AGENCY_READS, READS, SCOPED_READS, Read


@dataclass(frozen=True)
class ReadScope:
    """What one actor reads of one organization: everything (``engagements`` is None), or
    what its engagements cover."""

    engagements: tuple[EngagementTerms, ...] | None

    @property
    def engagement_ids(self) -> frozenset[UUID] | None:
        """None: no restriction; else the engagements whose records are visible."""
        if self.engagements is None:
            return None
        return frozenset(e.engagement_id for e in self.engagements)

    def sees_campaign(self, campaign_id: UUID, channels: Collection[str]) -> bool:
        if self.engagements is None:
            return True
        wanted = frozenset(channels)
        return any(
            e.covers(wanted, campaign_id) or campaign_id in (e.campaign_ids or ())
            for e in self.engagements
        )

    def sees_engagement(self, engagement_id: UUID | None) -> bool:
        ids = self.engagement_ids
        return ids is None or engagement_id in ids


NOBODY: frozenset[UUID] = frozenset()


def leads(agency: Agency, actor: Actor) -> bool:
    """True when the actor is one of the agency's admins."""
    return AA.value in agency.roles_of(actor.actor_id)


def engaged_by(org: Organization, led: Collection[UUID]) -> tuple[EngagementTerms, ...]:
    """The organization's engagements (ended ones too) naming one of the agencies ``led``."""
    return tuple(e for e in org.state.engagements.values() if e.agency_id in led)


def sees_organization(org: Organization, actor: Actor, led: Collection[UUID] = NOBODY) -> bool:
    """True when the organization is visible: a member, a consultant of one of its
    engagements, an admin of an agency it engages, or the platform."""
    return can_see(org, actor) or bool(engaged_by(org, led))


def read_scope(
    org: Organization, actor: Actor, read: Read, led: Collection[UUID] = NOBODY
) -> ReadScope:
    """The actor's scope for ``read`` in ``org``; NotFound or RoleRequired when it has none."""
    theirs = engaged_by(org, led)
    if not (can_see(org, actor) or theirs):
        raise NotFound("organization not found", organization_id=org.id)
    allowed = READS[read]
    if org.roles_of(actor.actor_id) & allowed or platform_role(actor) in allowed:
        return ReadScope(None)
    mine = tuple(org.engagements_of(actor.actor_id)) if read in SCOPED_READS else ()
    agency = tuple(e for e in theirs if e not in mine) if read in AGENCY_READS else ()
    if mine or agency:
        return ReadScope(mine + agency)
    raise RoleRequired(
        f"reading {read.value} needs one of the roles: {', '.join(sorted(allowed))}"
        + (", or an engagement" if read in SCOPED_READS else ""),
        actor_id=actor.actor_id,
        organization_id=org.id,
    )


def may_read(org: Organization, actor: Actor, read: Read, led: Collection[UUID] = NOBODY) -> bool:
    """True when the actor reads at least part of ``read`` in ``org``."""
    try:
        read_scope(org, actor, read, led)
    except (NotFound, RoleRequired):
        return False
    return True


def sees_campaign(org: Organization, actor: Actor, campaign_id: UUID, channels: list[str]) -> bool:
    return may_read(org, actor, Read.CAMPAIGNS) and read_scope(
        org, actor, Read.CAMPAIGNS
    ).sees_campaign(campaign_id, channels)


def sees_recommendation(
    org: Organization, actor: Actor, engagement_id: UUID, led: Collection[UUID] = NOBODY
) -> bool:
    return may_read(org, actor, Read.RECOMMENDATIONS, led) and read_scope(
        org, actor, Read.RECOMMENDATIONS, led
    ).sees_engagement(engagement_id)


def sees_agency(agency: Agency, actor: Actor) -> bool:
    """An agency is visible to the people on its roster and to the platform."""
    return platform_role(actor) is not None or bool(agency.roles_of(actor.actor_id))


def agency_read(agency: Agency, actor: Actor, read: Read) -> None:
    """May the actor read ``read`` (the roster, or the agency's work across its clients):
    the roles the table names; the rest of the roster is refused, anyone else told the
    agency does not exist."""
    if not sees_agency(agency, actor):
        raise NotFound("agency not found", agency_id=agency.id)
    allowed = READS[read]
    if agency.roles_of(actor.actor_id) & allowed or platform_role(actor) in allowed:
        return
    raise RoleRequired(
        f"reading {read.value} needs one of the roles: {', '.join(sorted(allowed))}",
        actor_id=actor.actor_id,
        agency_id=agency.id,
    )


def may_read_agency(agency: Agency, actor: Actor, read: Read) -> bool:
    try:
        agency_read(agency, actor, read)
    except (NotFound, RoleRequired):
        return False
    return True


def may_sign_checkpoint(actor: Actor) -> None:
    """A checkpoint covers every tenant's events: only the platform signs one on demand."""
    if platform_role(actor) not in READS[Read.SIGN_CHECKPOINT]:
        raise RoleRequired(
            f"{Read.SIGN_CHECKPOINT.value} is for platform operators", actor_id=actor.actor_id
        )
