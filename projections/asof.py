"""As-of: a campaign's state and a recommendation's status at a past moment, from events.

Not from the read tables (they hold only the present): the aggregate's events are read in
version order up to the last one recorded at or before the moment, and the aggregate is
rebuilt at that version with ``repository.get(id, version=v)``. Event times are the ledger's
recording times (UTC). The caller checks tenancy with the ``organization_id`` (and, for a
recommendation, the ``engagement_id``) returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from ledger.domain.base import LedgerAggregate
from ledger.domain.campaign import Campaign
from ledger.domain.recommendation import Recommendation


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
