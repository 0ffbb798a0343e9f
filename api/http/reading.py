"""Who may read what of the read side, and read-your-writes."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from fastapi import Request

from api.http.problems import ApiError
from ledger.application.reads import Reader
from ledger.identity import Actor
from ledger.policy.reads import ReadScope, read_scope
from ledger.policy.table import Read
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


def scope_of(request: Request, actor: Actor, organization_id: UUID, read: Read) -> ReadScope:
    """What the actor reads of ``read`` in the organization, by the policy's read rule:
    NotFound for an organization the actor has nothing to do with, RoleRequired without the
    right."""
    reader = Reader(request.app.state.ledger)
    org = reader.organization(actor, organization_id)
    return read_scope(org, actor, read, reader.led(actor, org))


def visible_to(
    request: Request, actor: Actor, organization_id: UUID, read: Read
) -> Collection[UUID] | None:
    """None: everything of the organization; a set: only those engagements' rows."""
    return scope_of(request, actor, organization_id, read).engagement_ids


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
