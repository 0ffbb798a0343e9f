"""As-of: a campaign's state and a recommendation's status at a past moment, from events;
and the campaign-state view (KPIs against the targets in force) at a past moment.

Not from the read tables (they hold only the present): the aggregate's events are read in
version order up to the last one recorded at or before the moment, and the aggregate is
rebuilt at that version with ``repository.get(id, version=v)``. Event times are the ledger's
recording times (UTC). The caller checks tenancy with the ``organization_id`` (and, for a
recommendation, the ``engagement_id``) returned.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from ledger.domain.base import LedgerAggregate
from ledger.domain.campaign import Campaign
from ledger.domain.recommendation import DECIDABLE, Recommendation
from projections import catalog
from projections.codec import dumps, ts
from projections.db import Database
from projections.queries.campaigns import CampaignView, campaigns, view
from projections.queries.paging import MAX_LIMIT, Page, clamp, page
from projections.views.register import PROJECTION as REGISTER


@dataclass(frozen=True)
class CampaignAsOf:
    campaign_id: UUID
    as_of: datetime
    version: int
    changed_at: datetime
    organization_id: UUID
    name: str
    objective: str
    status: str
    budget: dict[str, Any]
    kpi_targets: list[dict[str, Any]]
    channels: list[str]
    performance_records: int


@dataclass(frozen=True)
class RecommendationAsOf:
    recommendation_id: UUID
    as_of: datetime
    version: int
    changed_at: datetime
    organization_id: UUID
    engagement_id: UUID
    campaign_id: UUID | None
    author_id: UUID
    kind: str
    status: str
    revision: int
    change: dict[str, Any]
    expires_at: datetime
    approved_revision: int | None
    approved_change: dict[str, Any] | None
    decisions: list[dict[str, Any]]


def version_at(
    app: Application[UUID], aggregate_id: UUID, at: datetime
) -> tuple[int, datetime] | None:
    """The last version recorded at or before ``at`` and its time; None if none was."""
    if at.tzinfo is None:
        raise ValueError("as-of needs an aware datetime")
    found = None
    for event in app.events.get(aggregate_id):
        assert isinstance(event, LedgerAggregate.Event)
        if event.timestamp > at:
            break
        found = (int(event.originator_version), event.timestamp)
    return found


def campaign_as_of(app: Application[UUID], campaign_id: UUID, at: datetime) -> CampaignAsOf | None:
    found = version_at(app, campaign_id, at)
    if found is None:
        return None
    campaign: object = app.repository.get(campaign_id, version=found[0])
    if not isinstance(campaign, Campaign):
        return None
    s = campaign.state
    return CampaignAsOf(
        campaign_id=campaign_id,
        as_of=at,
        version=found[0],
        changed_at=found[1],
        organization_id=s.organization_id,
        name=s.name,
        objective=s.objective,
        status=s.status,
        budget=dict(s.budget),
        kpi_targets=list(s.kpi_targets),
        channels=list(s.channels),
        performance_records=len(s.performance),
    )


def recommendation_as_of(
    app: Application[UUID], recommendation_id: UUID, at: datetime
) -> RecommendationAsOf | None:
    found = version_at(app, recommendation_id, at)
    if found is None:
        return None
    rec: object = app.repository.get(recommendation_id, version=found[0])
    if not isinstance(rec, Recommendation):
        return None
    s = rec.state
    return RecommendationAsOf(
        recommendation_id=recommendation_id,
        as_of=at,
        version=found[0],
        changed_at=found[1],
        organization_id=s.organization_id,
        engagement_id=s.engagement_id,
        campaign_id=s.campaign_id,
        author_id=s.author_id,
        kind=s.kind,
        status=s.status,
        revision=s.current.number,
        change=dict(s.current.change),
        expires_at=s.current.expires_at,
        approved_revision=s.approved_revision,
        approved_change=s.approved_change,
        decisions=list(s.decisions),
    )


def _in_force(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The performance records in force (a correction replaces the record in force for the
    one it names, as ``views.campaigns`` counts them) and how many were not corrections."""
    current: dict[int, dict[str, Any]] = {}
    replaced: dict[int, int] = {}
    for record in records:
        corrected = record["corrects_version"]
        if corrected is not None:
            while corrected in replaced:
                corrected = replaced[corrected]
            current.pop(corrected, None)
            replaced[corrected] = record["version"]
        current[record["version"]] = record
    originals = sum(1 for r in records if r["corrects_version"] is None)
    return list(current.values()), originals


def _pending_at(app: Application[UUID], db: Database, campaign_id: UUID, at: datetime) -> int:
    """Recommendations on the campaign undecided at ``at`` (and not past their expiry
    then, as the register reads a status at a moment)."""
    text = (
        "SELECT recommendation_id FROM {recommendations} "
        "WHERE campaign_id = ? AND recommended_at <= ?"
    )
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, REGISTER)
        rows = vtx.all(text, (str(campaign_id), ts(at)))
    count = 0
    for row in rows:
        rec = recommendation_as_of(app, UUID(str(row["recommendation_id"])), at)
        count += rec is not None and rec.status in DECIDABLE and rec.expires_at > at
    return count


def campaign_view_as_of(
    app: Application[UUID], db: Database, now: CampaignView, at: datetime
) -> CampaignView | None:
    """The campaign state of ``now`` (its row in the view today) as it stood at ``at``:
    status, budget, KPI targets and channels in force then, the performance recorded by
    then (corrections applied), the KPIs derived from it against those targets, the last
    change and the recommendations still open at that moment. None before it was planned."""
    campaign_id = UUID(now.campaign_id)
    events: list[LedgerAggregate.Event] = []
    for event in app.events.get(campaign_id):
        assert isinstance(event, LedgerAggregate.Event)
        if event.timestamp > at:
            break
        events.append(event)
    if not events:
        return None
    campaign: object = app.repository.get(campaign_id, version=events[-1].originator_version)
    if not isinstance(campaign, Campaign):
        return None
    s, planned = campaign.state, events[0]
    last = [e for e in events if not isinstance(e, Campaign.PerformanceRecorded)][-1]
    records, originals = _in_force(s.performance)
    row: dict[str, Any] = {
        "campaign_id": now.campaign_id,
        "organization_id": str(s.organization_id),
        "name": s.name,
        "objective": s.objective,
        "status": str(s.status),
        "budget_amount": str(s.budget["amount"]),
        "budget_currency": s.budget["currency"],
        "budget_period": s.budget["period"],
        "kpi_targets": dumps(s.kpi_targets),
        "channels": dumps(sorted(s.channels)),
        "version": int(events[-1].originator_version),
        "planned_at": ts(planned.timestamp),
        "planned_by": str(getattr(planned, "actor_id", "")),
        "last_change_at": ts(last.timestamp),
        "last_change_by": str(getattr(last, "actor_id", "")),
        "last_change_role": str(getattr(last, "role", "")),
        "last_change_type": type(last).__qualname__,
        "pending_recommendations": _pending_at(app, db, campaign_id, at),
        "performance_records": originals,
        "spend": str(sum((Decimal(str(r["spend"]["amount"])) for r in records), Decimal(0))),
        "revenue": str(sum((Decimal(str(r["revenue"]["amount"])) for r in records), Decimal(0))),
        "performance_currency": s.performance[-1]["spend"]["currency"] if s.performance else None,
        "impressions": sum(int(r["impressions"]) for r in records),
        "clicks": sum(int(r["clicks"]) for r in records),
        "conversions": sum(int(r["conversions"]) for r in records),
        "position": now.position,
    }
    return view(row)


def campaigns_as_of(
    app: Application[UUID],
    db: Database,
    at: datetime,
    *,
    statuses: Collection[str] = (),
    cursor: str | None = None,
    limit: int | None = None,
    **where: Any,
) -> Page[CampaignView]:
    """A page of campaign states as they stood at ``at`` (see :func:`campaign_view_as_of`),
    in the order and with the filters of ``queries.campaigns.campaigns`` (``where``), a
    status matched against the status at ``at``; campaigns planned after ``at`` are left
    out. The page reflects the position of the view it walked."""
    n = clamp(limit)
    found: list[CampaignView] = []
    position: int | None = None
    while True:
        chunk = campaigns(db, cursor=cursor, limit=MAX_LIMIT, **where)
        position = chunk.position if position is None else position
        for current in chunk.items:
            then = campaign_view_as_of(app, db, current, at)
            if then is not None and (not statuses or then.status in statuses):
                found.append(then)
        if len(found) > n or chunk.next_cursor is None:
            break
        cursor = chunk.next_cursor
    return page(found[: n + 1], n, lambda v: v.position, position)
