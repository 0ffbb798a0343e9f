"""Audit-trail queries: filtered, in log order, a page at a time.

Served by the indexes of ``views.audit``: organization + position (or + recorded time),
campaign, recommendation, actor, event type and engagement, each followed by the position
so that ``WHERE ... AND position > cursor ORDER BY position LIMIT n`` reads one index range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from projections import catalog
from projections.db import Database, Row
from projections.queries.paging import Page, Visible, Where, after, clamp, decode, page
from projections.views.audit import JSON_COLUMNS
from projections.views.audit import PROJECTION as AUDIT


class EventType(StrEnum):
    """Every event type the audit trail holds (``docs/events.md``, but for the idempotency
    records, which it leaves out): the values of its ``event_type`` filter."""

    ORGANIZATION_CREATED = "Organization.Created"
    ORGANIZATION_SETTINGS_CHANGED = "Organization.SettingsChanged"
    ORGANIZATION_MEMBERSHIP_GRANTED = "Organization.MembershipGranted"
    ORGANIZATION_MEMBERSHIP_REVOKED = "Organization.MembershipRevoked"
    ORGANIZATION_ENGAGEMENT_STARTED = "Organization.EngagementStarted"
    ORGANIZATION_ENGAGEMENT_AMENDED = "Organization.EngagementAmended"
    ORGANIZATION_ENGAGEMENT_ENDED = "Organization.EngagementEnded"
    CAMPAIGN_PLANNED = "Campaign.Planned"
    CAMPAIGN_LAUNCHED = "Campaign.Launched"
    CAMPAIGN_PAUSED = "Campaign.Paused"
    CAMPAIGN_RESUMED = "Campaign.Resumed"
    CAMPAIGN_COMPLETED = "Campaign.Completed"
    CAMPAIGN_CANCELLED = "Campaign.Cancelled"
    CAMPAIGN_BUDGET_ADJUSTED = "Campaign.BudgetAdjusted"
    CAMPAIGN_KPI_TARGETS_SET = "Campaign.KpiTargetsSet"
    CAMPAIGN_CHANNELS_CHANGED = "Campaign.ChannelsChanged"
    CAMPAIGN_PERFORMANCE_RECORDED = "Campaign.PerformanceRecorded"
    RECOMMENDATION_RECOMMENDED = "Recommendation.Recommended"
    RECOMMENDATION_AMENDED = "Recommendation.Amended"
    RECOMMENDATION_APPROVED = "Recommendation.Approved"
    RECOMMENDATION_APPROVED_WITH_CHANGES = "Recommendation.ApprovedWithChanges"
    RECOMMENDATION_REJECTED = "Recommendation.Rejected"
    RECOMMENDATION_ESCALATED = "Recommendation.Escalated"
    RECOMMENDATION_WITHDRAWN = "Recommendation.Withdrawn"
    RECOMMENDATION_EXPIRED = "Recommendation.Expired"
    RECOMMENDATION_IMPLEMENTED = "Recommendation.Implemented"


@dataclass(frozen=True)
class AuditFilter:
    """What to list. ``since`` is inclusive, ``until`` exclusive (recorded time, UTC); an
    entry matches a tuple of roles, parties or event types when it has any of them (an
    empty tuple: no filter)."""

    organization_id: UUID | None = None
    campaign_id: UUID | None = None
    recommendation_id: UUID | None = None
    actor_id: UUID | None = None
    roles: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    visible_to: Visible = None

    def where(self, cursor: int = 0) -> Where:
        w = (
            Where()
            .eq("organization_id", self.organization_id)
            .eq("campaign_id", self.campaign_id)
            .eq("recommendation_id", self.recommendation_id)
            .eq("actor_id", self.actor_id)
            .one_of("role", self.roles or None)
            .one_of("party", self.parties or None)
            .one_of("event_type", self.event_types or None)
            .time_from("recorded_at", self.since)
            .time_before("recorded_at", self.until)
            .one_of("engagement_id", self.visible_to)
        )
        if cursor:
            w.raw("position > ?", cursor)
        return w


def select(where: Where, limit: int | None = None) -> str:
    text = "SELECT * FROM {audit}" + where.sql() + " ORDER BY position"  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    return text + (f" LIMIT {int(limit)}" if limit is not None else "")


def audit_trail(
    db: Database, flt: AuditFilter, *, cursor: str | None = None, limit: int | None = None
) -> Page[Row]:
    """One page of entries matching ``flt``, after ``cursor``, at most ``limit`` (clamped)."""
    n = clamp(limit)
    where = flt.where(after(cursor))
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, AUDIT)
        rows = vtx.all(select(where, n + 1), where.params)
    return page([decode(r, JSON_COLUMNS) for r in rows], n, _position, position)


def entry(db: Database, position: int, *, visible_to: Visible = None) -> Row | None:
    where = Where().raw("position = ?", position).one_of("engagement_id", visible_to)
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, AUDIT)
        row = vtx.one(select(where), where.params)
    return None if row is None else decode(row, JSON_COLUMNS)


def _position(row: dict[str, Any]) -> int:
    return int(row["position"])
