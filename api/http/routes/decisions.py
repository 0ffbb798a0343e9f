"""The decision report over HTTP: ``GET /v1/organizations/{id}/decisions``.

Each recommendation whole (recommended, approved and executed values side by side, every
decision and execution, time to decision and to execution, status), filtered by the time of
the recommendation, of a decision or of an execution, each named (``projections.queries.
decisions``). Same read right as the register (``Read.RECOMMENDATIONS``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from api.http.deps import ActorDep, LedgerDep
from api.http.read_schemas import DecisionReportPage
from api.http.reading import caught_up, read_side, visible_to
from api.http.routes.readmodels import ERRORS, After, Cursor, Limit, Org, answer, page_body
from api.http.times import FORMS, TimeText, period
from ledger.policy.table import Read
from ledger.values import RecommendationKind, RecommendationStatus
from projections.queries.decisions import DecisionFilter, Outcome, decision_report

router = APIRouter(prefix="/v1", tags=["views"])


def _time(description: str) -> Any:
    return Query(description=f"{description} this time. {FORMS}")


@router.get(
    "/organizations/{organization_id}/decisions",
    responses=ERRORS,
    summary="Decision report: each recommendation whole, recommended / approved / executed",
)
def decisions(
    request: Request,
    response: Response,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Org,
    campaign_id: UUID | None = None,
    kind: Annotated[list[RecommendationKind] | None, Query(max_length=20)] = None,
    status: Annotated[list[RecommendationStatus] | None, Query(max_length=20)] = None,
    consultant_id: Annotated[UUID | None, Query(description="Its author")] = None,
    decider_id: Annotated[UUID | None, Query(description="One of its deciders")] = None,
    outcome: Annotated[
        list[Outcome] | None, Query(max_length=4, description="One of its decisions' outcomes")
    ] = None,
    deviation: Annotated[
        bool | None, Query(description="An execution deviated from the approval (or none did)")
    ] = None,
    above_limit: Annotated[
        bool | None,
        Query(description="An execution took an executive's spend authority (or none did)"),
    ] = None,
    recommended_since: Annotated[TimeText, _time("Recommended at or after")] = None,
    recommended_until: Annotated[TimeText, _time("Recommended before")] = None,
    decided_since: Annotated[TimeText, _time("A decision at or after")] = None,
    decided_until: Annotated[TimeText, _time("A decision before")] = None,
    executed_since: Annotated[TimeText, _time("An execution at or after")] = None,
    executed_until: Annotated[TimeText, _time("An execution before")] = None,
    group: Annotated[
        Literal["recommendation", "decision"],
        Query(description="One row per recommendation, or per decision"),
    ] = "recommendation",
    cursor: Cursor = None,
    limit: Limit = None,
    after: After = None,
) -> DecisionReportPage:
    periods = {
        name: period(since, until, (f"{name}_since", f"{name}_until"))
        for name, (since, until) in {
            "recommended": (recommended_since, recommended_until),
            "decided": (decided_since, decided_until),
            "executed": (executed_since, executed_until),
        }.items()
    }
    flt = DecisionFilter(
        organization_id=organization_id,
        campaign_id=campaign_id,
        kinds=tuple(kind or ()),
        statuses=tuple(status or ()),
        consultant_id=consultant_id,
        decider_id=decider_id,
        outcomes=tuple(outcome or ()),
        deviation=deviation,
        above_limit=above_limit,
        recommended_since=periods["recommended"][0],
        recommended_until=periods["recommended"][1],
        decided_since=periods["decided"][0],
        decided_until=periods["decided"][1],
        executed_since=periods["executed"][0],
        executed_until=periods["executed"][1],
        visible_to=visible_to(request, actor, organization_id, Read.RECOMMENDATIONS),
    )
    caught_up(request, after)
    found = decision_report(
        read_side(request).db, flt, now=ledger.clock(), group=group, cursor=cursor, limit=limit
    )
    return answer(DecisionReportPage, page_body(found), response, found.position, after)
