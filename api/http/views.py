"""How aggregates are shown over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation, status_at
from ledger.identity import Actor
from ledger.jsonready import json_object
from ledger.policy.reads import may_read
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


def organization(o: Organization, actor: Actor) -> dict[str, Any]:
    s = o.state
    actor_id = actor.actor_id
    roles = o.roles_of(actor_id)
    out: dict[str, Any] = {
        "id": o.id,
        "version": o.version,
        "name": s.name,
        "default_currency": s.default_currency,
        "approval_limit": s.approval_limit,
        "your_roles": sorted(roles),
        "your_engagements": [e.engagement_id for e in o.engagements_of(actor_id)],
    }
    if may_read(o, actor, Read.MEMBERSHIPS):
        out["memberships"] = [
            {"actor_id": a, "roles": sorted(r)} for a, r in s.memberships.items() if r
        ]
        out["engagements"] = [vars(e) for e in s.engagements.values()]
    return json_object(out)
