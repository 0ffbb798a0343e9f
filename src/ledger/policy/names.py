"""Who may set, erase and read the names of the directory (``table.NAMES``).

An operator names anyone: actors, organizations and agencies. An organization's admin names
its members (an id that holds, or held, a role in it), only as actors, within that
organization (the caller names it). Anyone else is refused: 403 for a member of the
organization without the role, 404 for an outsider, who learns nothing of the organization.

A name is read by whoever reads a record naming its id: in every read answer the name
stands beside the id the caller was already shown. Read alone, an id's name is given to the
platform, to the id itself, and to whoever sees an organization the id belongs to: the
organization, its members, its engagements' agencies and consultants.
"""

from __future__ import annotations

from uuid import UUID

from ledger.domain.organization import Organization
from ledger.errors import NotFound, OperatorRequired, RoleRequired
from ledger.identity import Actor
from ledger.names import NameKind
from ledger.policy.rights import can_see, platform_role
from ledger.policy.table import NAMES, Naming, who


def named_in(org: Organization) -> frozenset[UUID]:
    """Every id an organization's records name: itself, its members (past ones too), its
    engagements' agencies and consultants."""
    ids = {org.id, *org.state.memberships}
    for terms in org.state.engagements.values():
        ids.add(terms.agency_id)
        ids.update(terms.consultant_ids)
    return frozenset(ids)


def may_manage_name(
    actor: Actor, subject_id: UUID, kind: NameKind, org: Organization | None
) -> None:
    """Setting or erasing the name of ``subject_id`` (as ``kind``), or reading its history,
    in ``org`` when the caller names one."""
    if platform_role(actor) in NAMES[Naming.ANYONE]:
        return
    if org is None:
        raise OperatorRequired(
            "only a platform operator names ids outside an organization; an admin names "
            "its organization's members (give organization_id)",
            actor_id=actor.actor_id,
            subject_id=subject_id,
        )
    if not can_see(org, actor):
        raise NotFound("organization not found", organization_id=org.id)
    if not org.roles_of(actor.actor_id) & NAMES[Naming.MEMBERS]:
        raise RoleRequired(
            f"naming a member needs one of the roles: {who(NAMES[Naming.MEMBERS])}",
            actor_id=actor.actor_id,
            organization_id=org.id,
        )
    if kind != NameKind.ACTOR:
        raise OperatorRequired(
            f"only a platform operator names an {kind.value}",
            actor_id=actor.actor_id,
            subject_id=subject_id,
        )
    if subject_id not in org.state.memberships:
        raise RoleRequired(
            "an admin names only its organization's members",
            organization_id=org.id,
            subject_id=subject_id,
        )


def may_read_name(actor: Actor, subject_id: UUID, org: Organization | None) -> None:
    """Reading one id's name on its own; NotFound (nothing leaks) when the caller may not."""
    if platform_role(actor) is not None or subject_id == actor.actor_id:
        return
    if org is not None and can_see(org, actor) and subject_id in named_in(org):
        return
    raise NotFound("name not found", subject_id=subject_id)
