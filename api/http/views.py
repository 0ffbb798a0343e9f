"""How aggregates are shown over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.application.parties import Party
from ledger.domain.agency import Agency
from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation, status_at
from ledger.identity import Actor
from ledger.jsonready import json_object
from ledger.policy.reads import engaged_by, may_read
from ledger.policy.table import Read


def campaign(c: Campaign) -> dict[str, Any]:
    s = c.state
    return json_object(
        {
            "id": c.id,
            "organization_id": s.organization_id,
            "version": c.version,
            "name": s.name,
            "objective": s.objective,
            "status": s.status,
            "channels": s.channels,
            "budget": s.budget,
            "kpi_targets": s.kpi_targets,
            "performance": s.performance,
            "created_at": c.created_on,
            "modified_at": c.modified_on,
        }
    )


def recommendation(r: Recommendation, now: datetime) -> dict[str, Any]:
    """The recommendation as read at ``now`` (past its expiry an undecided one is expired)."""
    s = r.state
    return json_object(
        {
            "id": r.id,
            "organization_id": s.organization_id,
            "engagement_id": s.engagement_id,
            "campaign_id": s.campaign_id,
            "author_id": s.author_id,
            "kind": s.kind,
            "status": status_at(s.status, s.current.expires_at, now),
            "version": r.version,
            "current_revision": s.current.number,
            "expires_at": s.current.expires_at,
            "revisions": [vars(rev) for rev in s.revisions],
            "approved_revision": s.approved_revision,
            "approved_change": s.approved_change,
            "decisions": s.decisions,
            "created_at": r.created_on,
            "modified_at": r.modified_on,
        }
    )


def organization(
    o: Organization, actor: Actor, led: frozenset[UUID] = frozenset()
) -> dict[str, Any]:
    """The organization as ``actor`` may see it; an admin of an agency it engages (``led``)
    sees the engagements naming that agency, and no membership."""
    s = o.state
    actor_id = actor.actor_id
    roles = o.roles_of(actor_id)
    out: dict[str, Any] = {
        "id": o.id,
        "version": o.version,
        "name": s.name,
        "default_currency": s.default_currency,
        "approval_limit": s.approval_limit,
        "limit_period": s.limit_period,
        "time_zone": s.time_zone,
        "your_roles": sorted(roles),
        "your_engagements": [e.engagement_id for e in o.engagements_of(actor_id)],
    }
    if may_read(o, actor, Read.MEMBERSHIPS):
        out["memberships"] = [
            {"actor_id": a, "roles": sorted(r)} for a, r in s.memberships.items() if r
        ]
        out["engagements"] = [vars(e) for e in s.engagements.values()]
    elif engaged_by(o, led):
        out["engagements"] = [vars(e) for e in engaged_by(o, led)]
    return json_object(out)


def party(p: Party) -> dict[str, Any]:
    """One entry of ``GET /v1/organizations``."""
    return json_object(
        {
            "id": p.aggregate.id,
            "kind": p.kind,
            "version": p.aggregate.version,
            "name": p.aggregate.state.name,
            "your_roles": sorted(p.your_roles),
        }
    )


def agency(a: Agency, actor: Actor, roster: bool) -> dict[str, Any]:
    """The agency; with ``roster`` (its admins, operators) who is on its roster."""
    out: dict[str, Any] = {
        "id": a.id,
        "version": a.version,
        "name": a.state.name,
        "your_roles": sorted(a.roles_of(actor.actor_id)),
    }
    if roster:
        out["members"] = [
            {"actor_id": m, "roles": sorted(r)} for m, r in a.state.members.items() if r
        ]
    return json_object(out)
