"""An agency's own reads (ADR 0016): the agency and its roster, and its consultants' work
across every client that engages it, from the read side.

Only the agency's admins read its work across clients (``ledger.policy.reads``); the rows
are those of the engagements naming the agency, never the clients' other records.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from api.http import views
from api.http.deps import ActorDep, LedgerDep
from api.http.read_schemas import AgencyReportOut, RegisterPage
from api.http.reading import caught_up, read_side
from api.http.routes.queries import tagged
from api.http.routes.readmodels import (
    ERRORS,
    After,
    Cursor,
    Kinds,
    Limit,
    RecommendedSince,
    RecommendedUntil,
    Statuses,
    answer,
    page_body,
)
from api.http.schemas import AgencyOut
from api.http.times import period
from ledger.application.reads import Reader
from ledger.policy.reads import may_read_agency
from ledger.policy.table import Read
from projections.queries import register, report

router = APIRouter(prefix="/v1", tags=["agencies"])
AgencyId = Annotated[UUID, Path()]


@router.get(
    "/agencies/{agency_id}",
    responses=ERRORS,
    response_model=AgencyOut,
    summary="An agency, your roles in it, and its roster (its admins, operators)",
)
def get_agency(ledger: LedgerDep, actor: ActorDep, agency_id: AgencyId) -> JSONResponse:
    agency = Reader(ledger).agency(actor, agency_id)
    body = views.agency(agency, actor, may_read_agency(agency, actor, Read.ROSTER))
    return tagged(body, agency.version)


@router.get(
    "/agencies/{agency_id}/recommendations",
    responses=ERRORS,
    summary="The agency's recommendations across its clients: the register rows of every "
    "engagement naming it (agency admins)",
)
def agency_recommendations(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    agency_id: AgencyId,
    organization_id: UUID | None = None,
    consultant_id: UUID | None = None,
    kind: Kinds = None,
    status: Statuses = None,
    since: RecommendedSince = None,
    until: RecommendedUntil = None,
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
) -> RegisterPage:
    start, end = period(since, until)
    Reader(ledger).agency_for(actor, agency_id, Read.AGENCY)
    caught_up(request, after)
    page = register.recommendations(
        read_side(request).db,
        agency_id=agency_id,
        organization_id=organization_id,
        author_id=consultant_id,
        kinds=tuple(kind or ()),
        statuses=tuple(status or ()),
        since=start,
        until=end,
        cursor=cursor,
        limit=limit,
        now=ledger.clock(),
    )
    return answer(RegisterPage, page_body(page), response, page.position, after)


@router.get(
    "/agencies/{agency_id}/reports/handling",
    responses=ERRORS,
    summary="The agency's handling report across its clients: in all, per client, per "
    "consultant and per kind (agency admins)",
)
def agency_handling_report(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    agency_id: AgencyId,
    consultant_id: UUID | None = None,
    kind: Kinds = None,
    since: RecommendedSince = None,
    until: RecommendedUntil = None,
    after: After = None,
) -> AgencyReportOut:
    start, end = period(since, until)
    Reader(ledger).agency_for(actor, agency_id, Read.AGENCY)
    caught_up(request, after)
    found = report.agency_report(
        read_side(request).db,
        agency_id,
        consultant_id=consultant_id,
        kinds=tuple(kind or ()),
        since=start,
        until=end,
        now=ledger.clock(),
    )
    body: dict[str, Any] = dataclasses.asdict(found)
    return answer(AgencyReportOut, body, response, found.position, after)
