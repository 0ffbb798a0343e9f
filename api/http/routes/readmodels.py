"""The read side over HTTP: audit trail (paged or streamed as CSV/NDJSON), campaign state,
recommendation register, handling report and exceptions.

Every view takes ``after=<position>`` (the ``position`` of a command's answer): the query
waits, at most two seconds, until the projections have applied it; the answer carries
``X-Ledger-Position`` (and ``X-Ledger-Stale`` if it could not catch up in time).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.http.commanding import COMMAND_ERRORS
from api.http.deps import ActorDep, LedgerDep
from api.http.naming import named
from api.http.problems import ApiError
from api.http.read_schemas import (
    AuditPage,
    CampaignStateOut,
    CampaignStatesPage,
    ExceptionCounts,
    ExceptionsPage,
    HandlingOut,
    HandlingReportOut,
    RegisterPage,
)
from api.http.reading import caught_up, position_headers, read_side, scope_of, visible_to
from api.http.times import FORMS, TimeText, instant, period
from ledger.application.reads import Reader
from ledger.errors import NotFound
from ledger.jsonready import jsonable
from ledger.policy.table import Read
from ledger.values import CampaignStatus, Party, RecommendationKind, RecommendationStatus, Role
from projections.asof import campaign_view_as_of, campaigns_as_of
from projections.export import MEDIA_TYPES, Export, prepare
from projections.queries import audit, campaigns, exceptions, register, report
from projections.queries.audit import AuditFilter, EventType
from projections.queries.exceptions import ExceptionKind

router = APIRouter(prefix="/v1", tags=["views"])
ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in COMMAND_ERRORS.items() if k in (400, 401, 403, 404, 422, 500, 503)
}
TEXT = {"schema": {"type": "string"}}
Org = Annotated[UUID, Path()]
After = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description=("Wait (at most 2 s) until the views include this log position"),
    ),
]
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the last page")]
Limit = Annotated[int | None, Query(description="Page size, clamped to 1..500")]
Since = Annotated[TimeText, Query(description=f"Recorded at or after this time. {FORMS}")]
Until = Annotated[TimeText, Query(description=f"Recorded before this time. {FORMS}")]
AsOf = Annotated[
    TimeText,
    Query(
        description="Read the state as it stood at this moment: status, budget, KPI targets "
        f"in force then, performance recorded by then and the KPIs against them. {FORMS}"
    ),
]
RecommendedSince = Annotated[
    TimeText, Query(description=f"Recommended at or after this time. {FORMS}")
]
RecommendedUntil = Annotated[TimeText, Query(description=f"Recommended before this time. {FORMS}")]
ANY = "repeat it to mean any of them"
Statuses = Annotated[
    list[RecommendationStatus] | None,
    Query(description=f"Recommendations in this status, read now (expiry included); {ANY}"),
]
Kinds = Annotated[
    list[RecommendationKind] | None, Query(description=f"Recommendations of this kind; {ANY}")
]


M = TypeVar("M", bound=BaseModel)


def answer(model: type[M], body: Any, response: Response, position: int, after: int | None) -> M:
    """``body`` as ``model`` (FastAPI validates it again on the way out), with the names
    beside its ids and the position headers."""
    response.headers.update(position_headers(position, after))
    return model.model_validate(named(jsonable(body)))


def page_body(page: Any) -> dict[str, Any]:
    items = [
        dataclasses.asdict(i) if dataclasses.is_dataclass(i) and not isinstance(i, type) else i
        for i in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor, "position": page.position}


@router.get(
    "/organizations/{organization_id}/audit-trail",
    responses={
        **ERRORS,
        200: {"content": {"text/csv": TEXT, "application/x-ndjson": TEXT}},
    },
    response_model=AuditPage,
    summary="Who did what, when, why, at which revision: filtered, paged or exported",
)
def audit_trail(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    campaign_id: UUID | None = None,
    recommendation_id: UUID | None = None,
    actor_id: UUID | None = None,
    role: Annotated[
        list[Role] | None, Query(description=f"The role the actor acted in; {ANY}")
    ] = None,
    party: Annotated[list[Party] | None, Query(description=f"The acting party; {ANY}")] = None,
    event_type: Annotated[
        list[EventType] | None,
        Query(max_length=20, description=f"The event's type; {ANY} (at most 20)"),
    ] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
    export: Annotated[
        Literal["csv", "ndjson"] | None,
        Query(alias="format", description="Stream every matching entry instead of a page"),
    ] = None,
    bom: Annotated[
        bool,
        Query(description="CSV only: begin with a UTF-8 byte order mark (for spreadsheets)"),
    ] = False,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    start, end = period(since, until)
    flt = AuditFilter(
        organization_id=organization_id,
        campaign_id=campaign_id,
        recommendation_id=recommendation_id,
        actor_id=actor_id,
        roles=tuple(role or ()),
        parties=tuple(party or ()),
        event_types=tuple(event_type or ()),
        since=start,
        until=end,
        visible_to=visible_to(request, actor, organization_id, Read.AUDIT_TRAIL),
    )
    wanted = (accept or "").split(",")[0].strip()
    fmt: Literal["csv", "ndjson"] | None = export or (
        "csv" if wanted == "text/csv" else "ndjson" if wanted == "application/x-ndjson" else None
    )
    paging = [name for name, value in (("limit", limit), ("cursor", cursor)) if value is not None]
    if fmt is not None and paging:
        raise ApiError(
            400,
            "invalid_query",
            "Invalid query",
            f"{' and '.join(paging)} with a {fmt} export: an export streams every matching "
            "entry: limit and cursor page the JSON view only",
        )
    if bom and fmt != "csv":
        raise ApiError(
            400,
            "invalid_query",
            "Invalid query",
            f"bom with {f'a {fmt} export' if fmt else 'the JSON view'}: bom applies to CSV only",
        )
    reached = caught_up(request, after)
    db = read_side(request).db
    if fmt is not None:
        names = request.app.state.names  # the directory (api.http.naming): names beside ids
        return streamed(prepare(db, flt, fmt, bom=bom, lookup=names.names_of), organization_id)
    page = audit.audit_trail(db, flt, cursor=cursor, limit=limit)
    return answer(AuditPage, page_body(page), response, reached or page.position, after)


def streamed(export: Export, organization_id: UUID) -> StreamingResponse:
    """An export as UTF-8 text; what it holds in headers (the body stays plain CSV or
    NDJSON): ``X-Ledger-Position`` the last log position it covers, ``X-Ledger-Exported-At``
    and ``X-Ledger-Export-Filter`` (the filter as ASCII JSON)."""
    meta = export.meta()
    return StreamingResponse(
        export.chunks(),
        media_type=f"{MEDIA_TYPES[export.fmt]}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{organization_id}.{export.fmt}"',
            "X-Ledger-Position": str(export.position),
            "X-Ledger-Exported-At": meta["exported_at"],
            "X-Ledger-Export-Filter": json.dumps(meta["filter"], sort_keys=True),
        },
    )


@router.get(
    "/organizations/{organization_id}/campaign-states",
    responses=ERRORS,
    summary="Campaign state: status, budget, KPIs against targets, pending work",
)
def campaign_states(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    status: Annotated[
        list[CampaignStatus] | None,
        Query(description=f"Campaigns in this status (at as_of, when given); {ANY}"),
    ] = None,
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
) -> CampaignStatesPage:
    at = instant(as_of, "as_of")
    scope = scope_of(request, actor, organization_id, Read.CAMPAIGNS)
    caught_up(request, after)
    where: dict[str, Any] = {
        "organization_id": organization_id,
        "visible_to": scope.engagement_ids,
        "keep": scope.sees_campaign,
    }
    db, statuses = read_side(request).db, tuple(status or ())
    if at is None:
        page = campaigns.campaigns(
            db, statuses=statuses, cursor=cursor, limit=limit, now=ledger.clock(), **where
        )
    else:
        page = campaigns_as_of(
            ledger, db, at, statuses=statuses, cursor=cursor, limit=limit, **where
        )
    return answer(CampaignStatesPage, page_body(page), response, page.position, after)


@router.get(
    "/campaigns/{campaign_id}/state",
    responses=ERRORS,
    summary="One campaign's state from the read side, now or as of a past moment",
)
def campaign_state(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    campaign_id: Annotated[UUID, Path()],
    as_of: AsOf = None,
    after: After = None,
) -> CampaignStateOut:
    at = instant(as_of, "as_of")
    Reader(ledger).campaign(actor, campaign_id, at)  # 404 unless visible (and planned by then)
    caught_up(request, after)
    db = read_side(request).db
    found, position = campaigns.campaign_state(db, campaign_id, now=ledger.clock())
    if found is None:  # the campaign exists (checked above) but is not in the view yet
        raise ApiError(
            404,
            "not_projected_yet",
            "Not projected yet",
            f"the campaign exists but the views have not applied it yet (they are at "
            f"position {position}); pass after=<the position of your command> to wait for it",
            position_headers(position, after),
        )
    if at is not None:
        found = campaign_view_as_of(ledger, db, found, at)
        if found is None:
            raise NotFound("campaign not found", campaign_id=campaign_id)
    return answer(CampaignStateOut, dataclasses.asdict(found), response, position, after)


@router.get(
    "/organizations/{organization_id}/register",
    responses=ERRORS,
    summary="Recommendation register: status, decisions, time to decision, outcome",
)
def recommendation_register(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    engagement_id: UUID | None = None,
    campaign_id: UUID | None = None,
    author_id: UUID | None = None,
    status: Statuses = None,
    kind: Kinds = None,
    since: RecommendedSince = None,
    until: RecommendedUntil = None,
    decided_since: Annotated[
        TimeText,
        Query(description=f"With a client decision on it recorded at or after this time. {FORMS}"),
    ] = None,
    decided_until: Annotated[
        TimeText,
        Query(description=f"With a client decision on it recorded before this time. {FORMS}"),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
) -> RegisterPage:
    recommended = period(since, until)
    decided = period(decided_since, decided_until, ("decided_since", "decided_until"))
    seen = visible_to(request, actor, organization_id, Read.RECOMMENDATIONS)
    caught_up(request, after)
    page = register.recommendations(
        read_side(request).db,
        organization_id=organization_id,
        engagement_id=engagement_id,
        campaign_id=campaign_id,
        author_id=author_id,
        statuses=tuple(status or ()),
        kinds=tuple(kind or ()),
        since=recommended[0],
        until=recommended[1],
        decided_since=decided[0],
        decided_until=decided[1],
        cursor=cursor,
        limit=limit,
        visible_to=seen,
        now=ledger.clock(),
    )
    return answer(RegisterPage, page_body(page), response, page.position, after)


@router.get(
    "/recommendations/{recommendation_id}/handling",
    responses=ERRORS,
    summary="How one recommendation was handled: register entry and decisions",
)
def recommendation_handling(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    recommendation_id: Annotated[UUID, Path()],
    after: After = None,
) -> HandlingOut:
    Reader(ledger).recommendation(actor, recommendation_id)  # 404 unless visible
    caught_up(request, after)
    db = read_side(request).db
    row, position = register.recommendation(db, recommendation_id, now=ledger.clock())
    body = {
        "recommendation": row,
        "decisions": register.decisions_on(db, recommendation_id),
        "executions": register.executions_citing(db, recommendation_id),
    }
    return answer(HandlingOut, body, response, position, after)


@router.get(
    "/organizations/{organization_id}/reports/handling",
    responses=ERRORS,
    summary="Handling report: outcomes, acceptance rate, time to decision, execution",
)
def handling_report(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    engagement_id: UUID | None = None,
    consultant_id: UUID | None = None,
    kind: Kinds = None,
    since: Annotated[
        TimeText,
        Query(
            description="Recommended (consultants' rows) or decided and executed (managers' "
            f"rows) at or after this time. {FORMS}"
        ),
    ] = None,
    until: Annotated[
        TimeText,
        Query(description=f"Recommended, decided or executed before this time. {FORMS}"),
    ] = None,
    per: Annotated[
        Literal["all", "month"],
        Query(
            alias="period",
            description="One row per consultant for the whole window, or "
            "per month of recommendation",
        ),
    ] = "all",
    after: After = None,
) -> HandlingReportOut:
    start, end = period(since, until)
    seen = visible_to(request, actor, organization_id, Read.REPORTS)
    caught_up(request, after)
    found = report.handling_report(
        read_side(request).db,
        organization_id=organization_id,
        engagement_id=engagement_id,
        consultant_id=consultant_id,
        kinds=tuple(kind or ()),
        since=start,
        until=end,
        period=per,
        visible_to=seen,
        now=ledger.clock(),
    )
    return answer(HandlingReportOut, dataclasses.asdict(found), response, found.position, after)


@router.get(
    "/organizations/{organization_id}/exceptions",
    responses=ERRORS,
    summary="Exceptions for compliance (counts, or the entries of one kind)",
)
def exceptions_of(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    kind: ExceptionKind | None = None,
    older_than_days: Annotated[
        int,
        Query(
            ge=0,
            le=3650,
            description=(
                "approved_not_implemented: only approvals at least this many days old "
                "(0, the default: every approval not carried out)"
            ),
        ),
    ] = 0,
    since: Annotated[TimeText, Query(description=f"Arose at or after this time. {FORMS}")] = None,
    until: Annotated[TimeText, Query(description=f"Arose before this time. {FORMS}")] = None,
    campaign_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
) -> ExceptionCounts | ExceptionsPage:
    start, end = period(since, until)
    seen = visible_to(request, actor, organization_id, Read.RECOMMENDATIONS)
    reached = caught_up(request, after)
    db, now = read_side(request).db, ledger.clock()
    if kind is None:
        counts = exceptions.exception_counts(
            db,
            now=now,
            older_than_days=older_than_days,
            since=start,
            until=end,
            organization_id=organization_id,
            visible_to=seen,
        )
        return answer(ExceptionCounts, counts, response, reached or 0, after)
    page = exceptions.exceptions(
        db,
        kind,
        now=now,
        organization_id=organization_id,
        campaign_id=campaign_id,
        cursor=cursor,
        limit=limit,
        visible_to=seen,
        older_than_days=older_than_days,
        since=start,
        until=end,
    )
    return answer(ExceptionsPage, page_body(page), response, page.position, after)
