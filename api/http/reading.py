"""Who may read what of the read side, and read-your-writes."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from fastapi import Request

from api.http.problems import ApiError
from ledger.application.reads import Reader
from ledger.errors import RoleRequired
from ledger.identity import Actor
from ledger.policy.rights import READERS
from projections.service import ReadSide

WAIT_SECONDS = 2.0


def read_side(request: Request) -> ReadSide:
    found: ReadSide | None = getattr(request.app.state, "read_side", None)
    if found is None:
        raise ApiError(
            503,
            "projections_unavailable",
            "Projections unavailable",
            "the read side is not running in this deployment",
            {"Retry-After": "5"},
        )
    return found


def visible_to(request: Request, actor: Actor, organization_id: UUID) -> Collection[UUID] | None:
    """None: everything of the organization; a set: only those engagements' rows.
    NotFound for an organization the actor has nothing to do with."""
    org = Reader(request.app.state.ledger).organization(actor, organization_id)
    if org.roles_of(actor.actor_id) & READERS:
        return None
    mine = {e.engagement_id for e in org.engagements_of(actor.actor_id)}
    if not mine:
        raise RoleRequired(
            "reading the record needs the auditor, manager, executive or admin "
            "role, or an engagement"
        )
    return mine


def caught_up(request: Request, after: int | None) -> int | None:
    """Wait (bounded) until every projection has applied ``after``; the position reached."""
    if after is None:
        return None
    return read_side(request).wait_for(after, timeout=WAIT_SECONDS)


def position_headers(position: int, after: int | None) -> dict[str, str]:
    headers = {"X-Ledger-Position": str(position)}
    if after is not None and position < after:
        headers["X-Ledger-Stale"] = f"reflects position {position}, not yet {after}"
    return headers
