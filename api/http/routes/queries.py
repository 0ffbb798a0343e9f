"""Reads: organizations, campaigns, recommendations and event histories.

GETs return the aggregate's version as ETag; ``?as_of=`` reads a past state.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.http import views
from api.http.commanding import COMMAND_ERRORS
from api.http.deps import ActorDep, LedgerDep
from api.http.naming import named
from api.http.problems import ApiError
from api.http.schemas import (
    CampaignOut,
    HistoryOut,
    OrganizationOut,
    Page,
    PartiesPage,
    RecommendationOut,
)
from api.http.times import FORMS, TimeText, instant
from ledger.application.parties import Parties
from ledger.application.reads import Reader
from ledger.domain.campaign import Campaign
from ledger.domain.recommendation import Recommendation

router = APIRouter(prefix="/v1")
ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in COMMAND_ERRORS.items() if k in (400, 401, 404, 422, 500, 503)
}
AsOf = Annotated[TimeText, Query(description=f"Read the state as of this time. {FORMS}")]
Limit = Annotated[int, Query(description="Page size, clamped to 1..200")]
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page")]
MAX_PAGE = 200


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "p" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "malformed_cursor", "Malformed cursor", "the cursor is not one this API returned"
        ) from None


def tagged(body: dict[str, Any], version: int) -> JSONResponse:
    """``body`` with the names beside its ids, its version as ETag."""
    return JSONResponse(named(body), headers={"ETag": f'"{version}"'})


@router.get(
    "/organizations",
    responses=ERRORS,
    response_model=PartiesPage,
    summary="The organizations and agencies you may see, in the order they were created",
)
def list_organizations(
    ledger: LedgerDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    found, last = Parties(ledger).page(actor, decode_cursor(cursor), clamp(limit))
    return {
        "items": [views.party(p) for p in found],
        "next_cursor": encode_cursor(last) if last else None,
    }


@router.get(
    "/organizations/{organization_id}",
    responses=ERRORS,
    response_model=OrganizationOut,
    summary="An organization, its settings, your roles and engagements",
)
def get_organization(
    ledger: LedgerDep, actor: ActorDep, organization_id: Annotated[UUID, Path()]
) -> JSONResponse:
    reader = Reader(ledger)
    org = reader.organization(actor, organization_id)
    return tagged(views.organization(org, actor, reader.led(actor, org)), org.version)


@router.get(
    "/campaigns/{campaign_id}",
    responses=ERRORS,
    response_model=CampaignOut,
    summary="A campaign, now or as of",
)
def get_campaign(
    ledger: LedgerDep, actor: ActorDep, campaign_id: Annotated[UUID, Path()], as_of: AsOf = None
) -> JSONResponse:
    campaign = Reader(ledger).campaign(actor, campaign_id, instant(as_of, "as_of"))
    return tagged(views.campaign(campaign), campaign.version)


@router.get(
    "/recommendations/{recommendation_id}",
    responses=ERRORS,
    response_model=RecommendationOut,
    summary="A recommendation with its revisions and decisions, now or as of",
)
def get_recommendation(
    ledger: LedgerDep,
    actor: ActorDep,
    recommendation_id: Annotated[UUID, Path()],
    as_of: AsOf = None,
) -> JSONResponse:
    at = instant(as_of, "as_of")
    rec = Reader(ledger).recommendation(actor, recommendation_id, at)
    return tagged(views.recommendation(rec, at or ledger.clock()), rec.version)


@router.get(
    "/aggregates/{aggregate_id}/events",
    responses=ERRORS,
    response_model=HistoryOut,
    summary="Every event of an aggregate with its full envelope",
)
def get_history(
    ledger: LedgerDep, actor: ActorDep, aggregate_id: Annotated[UUID, Path()]
) -> dict[str, Any]:
    events = Reader(ledger).history(actor, aggregate_id)
    return {"aggregate_id": str(aggregate_id), "events": named(events)}


def _scan(
    ledger: LedgerDep, topic: str, org_id: UUID, after: int, limit: int
) -> tuple[list[UUID], int | None]:
    """Created-event scan of the log; the projections replace this with indexed tables."""
    ids: list[UUID] = []
    start = after + 1
    while len(ids) < limit:
        batch = ledger.recorder.select_notifications(start, 500, topics=[topic])
        if not batch:
            return ids, None
        for n in batch:
            event = ledger.mapper.to_domain_event(n)
            if getattr(event, "organization_id", None) == org_id:
                ids.append(event.originator_id)
                if len(ids) == limit:
                    return ids, n.id
        start = batch[-1].id + 1
    return ids, None


def _listed(
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: UUID,
    created: type[Any],
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the aggregates an organization created with ``created`` that the actor may
    read, in log order (a scan of the log; the read side's views are the indexed ones)."""
    reader = Reader(ledger)
    org = reader.organization(actor, organization_id)
    topic = f"{created.__module__}:{created.__qualname__}"
    ids, last = _scan(ledger, topic, org.id, decode_cursor(cursor), clamp(limit))
    items = []
    for ident in ids:
        if created is Campaign.Planned:
            campaign = reader._get(Campaign, ident, "campaign")
            if reader.can_read_campaign(actor, org, campaign):
                items.append(views.campaign(campaign))
        else:
            rec = reader._get(Recommendation, ident, "recommendation")
            if reader.can_read_recommendation(actor, org, rec):
                items.append(views.recommendation(rec, ledger.clock()))
    return {"items": named(items), "next_cursor": encode_cursor(last) if last else None}


@router.get(
    "/organizations/{organization_id}/campaigns",
    responses=ERRORS,
    response_model=Page,
    summary="An organization's campaigns you may see",
)
def list_campaigns(
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Annotated[UUID, Path()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return _listed(ledger, actor, organization_id, Campaign.Planned, limit, cursor)


@router.get(
    "/organizations/{organization_id}/recommendations",
    responses=ERRORS,
    response_model=Page,
    summary="An organization's recommendations you may see",
)
def list_recommendations(
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Annotated[UUID, Path()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return _listed(ledger, actor, organization_id, Recommendation.Recommended, limit, cursor)
