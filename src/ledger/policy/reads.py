"""Who reads what: the read rules every query, view and route asks.

An actor reads all of an organization's records of a kind when it holds one of the roles
``table.READS`` names for it. A consultant reads, through its engagements, only what they
cover: the campaigns an engagement's scope covers (its channels, and its campaigns when it
names some), and the recommendations made under its engagements, with their events and
how they were handled. Anyone else in the organization is refused (RoleRequired); an actor
foreign to it is told it does not exist (NotFound).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from ledger.domain.organization import EngagementTerms, Organization
from ledger.errors import NotFound, RoleRequired
from ledger.identity import Actor
from ledger.policy.rights import can_see, platform_role
from ledger.policy.table import READS, SCOPED_READS, Read


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


def read_scope(org: Organization, actor: Actor, read: Read) -> ReadScope:
    """The actor's scope for ``read`` in ``org``; NotFound or RoleRequired when it has none."""
    if not can_see(org, actor):
        raise NotFound("organization not found", organization_id=org.id)
    allowed = READS[read]
    if org.roles_of(actor.actor_id) & allowed or platform_role(actor) in allowed:
        return ReadScope(None)
    mine = tuple(org.engagements_of(actor.actor_id))
    if read in SCOPED_READS and mine:
        return ReadScope(mine)
    raise RoleRequired(
        f"reading {read.value} needs one of the roles: {', '.join(sorted(allowed))}"
        + (", or an engagement" if read in SCOPED_READS else ""),
        actor_id=actor.actor_id,
        organization_id=org.id,
    )


def may_read(org: Organization, actor: Actor, read: Read) -> bool:
    """True when the actor reads at least part of ``read`` in ``org``."""
    try:
        read_scope(org, actor, read)
    except (NotFound, RoleRequired):
        return False
    return True


def sees_campaign(org: Organization, actor: Actor, campaign_id: UUID, channels: list[str]) -> bool:
    return may_read(org, actor, Read.CAMPAIGNS) and read_scope(
        org, actor, Read.CAMPAIGNS
    ).sees_campaign(campaign_id, channels)


def sees_recommendation(org: Organization, actor: Actor, engagement_id: UUID) -> bool:
    return may_read(org, actor, Read.RECOMMENDATIONS) and read_scope(
        org, actor, Read.RECOMMENDATIONS
    ).sees_engagement(engagement_id)


def may_sign_checkpoint(actor: Actor) -> None:
    """A checkpoint covers every tenant's events: only the platform signs one on demand."""
    if platform_role(actor) not in READS[Read.SIGN_CHECKPOINT]:
        raise RoleRequired(
            f"{Read.SIGN_CHECKPOINT.value} is for platform operators", actor_id=actor.actor_id
        )
