"""Campaign state: one row per campaign, as it stands after the last applied event.

Status, budget, KPI targets, channels; the last change (plan or execution; a performance
record is not a change of plan) and who made it; how many recommendations for it await a
decision (pending or awaiting an executive); performance totals. A performance record that
corrects an earlier one replaces it in the totals (a correction of a record already
corrected replaces the record in force). Derived KPIs are computed when queried.

Side tables: ``campaign_perf`` (each performance record and what replaced it),
``campaign_recs`` (which recommendations are still open, per campaign) and ``campaign_scope``
(which engagement may see which campaign: a row per scoped campaign, or ``*`` for the whole
organization), read by ``visible_to`` queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import DECIDABLE, Recommendation
from ledger.values import CampaignStatus
from projections.catalog import Projection, Table
from projections.codec import dumps, ident, ts
from projections.db import Tx
from projections.errors import InconsistentLog
from projections.rows import Keyed
from projections.source import Positioned

ALL_CAMPAIGNS = "*"

CAMPAIGNS = Table(
    "campaigns",
    "campaign_id TEXT PRIMARY KEY, position BIGINT NOT NULL, organization_id TEXT NOT NULL, "
    "name TEXT NOT NULL, objective TEXT NOT NULL, status TEXT NOT NULL, "
    "budget_amount TEXT NOT NULL, budget_currency TEXT NOT NULL, budget_period TEXT NOT NULL, "
    "kpi_targets TEXT NOT NULL, channels TEXT NOT NULL, version BIGINT NOT NULL, "
    "planned_at TEXT NOT NULL, planned_by TEXT NOT NULL, last_change_at TEXT NOT NULL, "
    "last_change_by TEXT NOT NULL, last_change_role TEXT NOT NULL, "
    "last_change_type TEXT NOT NULL, last_position BIGINT NOT NULL, "
    "pending_recommendations BIGINT NOT NULL, performance_records BIGINT NOT NULL, "
    "spend TEXT NOT NULL, revenue TEXT NOT NULL, performance_currency TEXT, "
    "impressions BIGINT NOT NULL, clicks BIGINT NOT NULL, conversions BIGINT NOT NULL",
    key="campaign_id",
    indexes=(
        ("pos", "position"),
        ("org", "organization_id, position"),
        ("org_status", "organization_id, status, position"),
    ),
)
PERF = Table(
    "campaign_perf",
    "campaign_id TEXT NOT NULL, version BIGINT NOT NULL, spend TEXT NOT NULL, "
    "revenue TEXT NOT NULL, impressions BIGINT NOT NULL, clicks BIGINT NOT NULL, "
    "conversions BIGINT NOT NULL, replaced_by BIGINT, PRIMARY KEY (campaign_id, version)",
    key="campaign_id, version",
)
RECS = Table(
    "campaign_recs",
    "recommendation_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, open BIGINT NOT NULL",
    key="recommendation_id",
)
SCOPE = Table(
    "campaign_scope",
    "engagement_id TEXT NOT NULL, campaign_id TEXT NOT NULL, organization_id TEXT NOT NULL, "
    "PRIMARY KEY (engagement_id, campaign_id)",
    key="engagement_id, campaign_id",
    indexes=(("campaign", "campaign_id, engagement_id"),),
)


class Batch:
    """The campaign tables' rows for one batch."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.campaigns = Keyed(CAMPAIGNS, ("campaign_id",))
        self.perf = Keyed(PERF, ("campaign_id", "version"))
        self.recs = Keyed(RECS, ("recommendation_id",))
        self.scope = Keyed(SCOPE, ("engagement_id", "campaign_id"))

    def prepare(self, batch: Sequence[Positioned]) -> None:
        """Read, one query per table, the rows the batch's events will change."""
        campaigns: set[str] = set()
        corrected: set[str] = set()
        recs: set[str] = set()
        engagements: set[str | None] = set()
        for item in batch:
            e = item.event
            if isinstance(e, Campaign.Event):
                campaigns.add(item.aggregate_key)
                if isinstance(e, Campaign.PerformanceRecorded) and e.corrects_version is not None:
                    corrected.add(item.aggregate_key)
            elif isinstance(e, Recommendation.Recommended):
                if e.campaign_id is not None:
                    campaigns.add(str(e.campaign_id))
            elif isinstance(e, Recommendation.Decided):
                recs.add(item.aggregate_key)
            elif isinstance(e, Organization.EngagementStarted | Organization.EngagementAmended):
                engagements.add(ident(e.engagement_id))
        self.campaigns.load(self.tx, campaigns)
        self.perf.load(self.tx, corrected)
        self.recs.load(self.tx, recs)
        self.scope.load(self.tx, engagements)
        self.campaigns.load(self.tx, {r["campaign_id"] for r in self.recs.values()})

    def campaign(self, cid: str) -> dict[str, Any] | None:
        return self.campaigns.get(self.tx, cid)

    def flush(self) -> None:
        for rows in (self.campaigns, self.perf, self.recs, self.scope):
            rows.flush(self.tx)


def _planned(b: Batch, item: Positioned, e: Campaign.Planned) -> None:
    at, by = ts(e.timestamp), str(e.actor_id)
    budget = e.budget
    b.campaigns.add(
        campaign_id=item.aggregate_key,
        position=item.position,
        organization_id=str(e.organization_id),
        name=e.name,
        objective=e.objective,
        status=CampaignStatus.DRAFT,
        budget_amount=str(budget["amount"]),
        budget_currency=budget["currency"],
        budget_period=budget["period"],
        kpi_targets=dumps(e.kpi_targets),
        channels=dumps(sorted(e.channels)),
        version=item.version,
        planned_at=at,
        planned_by=by,
        last_change_at=at,
        last_change_by=by,
        last_change_role=e.role,
        last_change_type=item.type_name,
        last_position=item.position,
        pending_recommendations=0,
        performance_records=0,
        spend="0",
        revenue="0",
        performance_currency=None,
        impressions=0,
        clicks=0,
        conversions=0,
    )


def _executed(b: Batch, item: Positioned, e: Campaign.Executed) -> None:
    row = b.campaign(item.aggregate_key)
    if row is None:
        return  # an UPDATE of no row: as the per-statement code did
    if isinstance(e, Campaign.StatusChanged):
        row["status"] = e.status_to
    elif isinstance(e, Campaign.BudgetAdjusted):
        bt = e.budget_to
        row.update(
            budget_amount=str(bt["amount"]), budget_currency=bt["currency"],
            budget_period=bt["period"],
        )  # fmt: skip
    elif isinstance(e, Campaign.KpiTargetsSet):
        row["kpi_targets"] = dumps(e.targets_to)
    elif isinstance(e, Campaign.ChannelsChanged):
        row["channels"] = dumps(sorted(e.channels_to))
    row.update(
        version=item.version, last_change_at=ts(e.timestamp), last_change_by=str(e.actor_id),
        last_change_role=e.role, last_change_type=item.type_name, last_position=item.position,
    )  # fmt: skip


def _in_force(b: Batch, cid: str, version: int) -> dict[str, Any] | None:
    """The record in force for the one named: follow the chain of corrections."""
    row = b.perf.get(b.tx, cid, version)
    while row is not None and row["replaced_by"] is not None:
        row = b.perf.get(b.tx, cid, row["replaced_by"])
    return row


def _performance(b: Batch, item: Positioned, e: Campaign.PerformanceRecorded) -> None:
    cid = item.aggregate_key
    spend, revenue = Decimal(str(e.spend["amount"])), Decimal(str(e.revenue["amount"]))
    old = _in_force(b, cid, e.corrects_version) if e.corrects_version is not None else None
    b.perf.add(
            campaign_id=cid, version=item.version, spend=str(spend), revenue=str(revenue),
        impressions=e.impressions, clicks=e.clicks, conversions=e.conversions, replaced_by=None,
    )  # fmt: skip
    money = (spend, revenue)
    counts = (e.impressions, e.clicks, e.conversions, 1)
    if old is not None:
        old["replaced_by"] = item.version
        money = (spend - Decimal(old["spend"]), revenue - Decimal(old["revenue"]))
        counts = (
            e.impressions - int(old["impressions"]),
            e.clicks - int(old["clicks"]),
            e.conversions - int(old["conversions"]),
            0,
        )
    row = b.campaign(cid)
    if row is None:
        raise InconsistentLog("performance for an unknown campaign", campaign_id=cid)
    row.update(
        spend=str(Decimal(row["spend"]) + money[0]),
        revenue=str(Decimal(row["revenue"]) + money[1]),
        performance_currency=e.spend["currency"],
        impressions=row["impressions"] + counts[0],
        clicks=row["clicks"] + counts[1],
        conversions=row["conversions"] + counts[2],
        performance_records=row["performance_records"] + counts[3],
        version=item.version,
    )


def _recommendation(b: Batch, item: Positioned) -> None:
    e, rid = item.event, item.aggregate_key
    if isinstance(e, Recommendation.Recommended):
        if e.campaign_id is not None:
            b.recs.add(recommendation_id=rid, campaign_id=str(e.campaign_id), open=1)
            _count(b, str(e.campaign_id), +1)
        return
    if not isinstance(e, Recommendation.Decided) or e.status_after() in DECIDABLE:
        return
    row = b.recs.get(b.tx, rid)
    if row is not None and row["open"] == 1:
        row["open"] = 0
        _count(b, row["campaign_id"], -1)


def _count(b: Batch, cid: str, by: int) -> None:
    row = b.campaign(cid)
    if row is not None:
        row["pending_recommendations"] += by


def _scope(b: Batch, e: Organization.Event) -> None:
    if isinstance(e, Organization.EngagementStarted):
        campaigns = e.campaign_ids
    elif isinstance(e, Organization.EngagementAmended):
        if e.terms_to.get("campaign_ids") == e.terms_from.get("campaign_ids"):
            return
        campaigns = e.terms_to.get("campaign_ids")
    else:
        return
    eid, oid = ident(e.engagement_id), str(e.organization_id)
    b.scope.delete_all(b.tx, eid)
    scoped = [ALL_CAMPAIGNS] if campaigns is None else sorted({str(c) for c in campaigns})
    for c in scoped:
        b.scope.add(engagement_id=eid, campaign_id=c, organization_id=oid)


def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
    b = Batch(tx)
    b.prepare(batch)
    for item in batch:
        e = item.event
        if isinstance(e, Campaign.Planned):
            _planned(b, item, e)
        elif isinstance(e, Campaign.Executed):
            _executed(b, item, e)
        elif isinstance(e, Campaign.PerformanceRecorded):
            _performance(b, item, e)
        elif isinstance(e, Recommendation.Event):
            _recommendation(b, item)
        elif isinstance(e, Organization.Event):
            _scope(b, e)
    b.flush()


PROJECTION = Projection("campaigns", (CAMPAIGNS, PERF, RECS, SCOPE), apply)
