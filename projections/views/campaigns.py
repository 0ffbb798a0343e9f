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
from projections.catalog import Projection, Table
from projections.codec import dumps, ident, ts
from projections.db import Tx
from projections.errors import InconsistentLog
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

PLAN = (
    "INSERT INTO {campaigns} (campaign_id, position, organization_id, name, objective, status, "
    "budget_amount, budget_currency, budget_period, kpi_targets, channels, version, "
    "planned_at, planned_by, last_change_at, last_change_by, last_change_role, "
    "last_change_type, last_position, pending_recommendations, performance_records, spend, "
    "revenue, performance_currency, impressions, clicks, conversions) VALUES "
    "(?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '0', '0', NULL, 0, 0, 0)"
)
CHANGE = (
    "UPDATE {campaigns} SET version = ?, last_change_at = ?, last_change_by = ?, "
    "last_change_role = ?, last_change_type = ?, last_position = ? WHERE campaign_id = ?"
)


def _planned(tx: Tx, item: Positioned, e: Campaign.Planned) -> None:
    at, by = ts(e.timestamp), str(e.actor_id)
    budget = e.budget
    tx.execute(
        PLAN,
        (
            str(item.aggregate_id), item.position, str(e.organization_id), e.name, e.objective,
            str(budget["amount"]), budget["currency"], budget["period"],
            dumps(e.kpi_targets), dumps(sorted(e.channels)), item.version,
            at, by, at, by, e.role, item.type_name, item.position,
        ),
    )  # fmt: skip


def _executed(tx: Tx, item: Positioned, e: Campaign.Executed) -> None:
    cid = str(item.aggregate_id)
    if isinstance(e, Campaign.StatusChanged):
        tx.execute("UPDATE {campaigns} SET status = ? WHERE campaign_id = ?", (e.status_to, cid))
    elif isinstance(e, Campaign.BudgetAdjusted):
        b = e.budget_to
        tx.execute(
            "UPDATE {campaigns} SET budget_amount = ?, budget_currency = ?, budget_period = ? "
            "WHERE campaign_id = ?",
            (str(b["amount"]), b["currency"], b["period"], cid),
        )
    elif isinstance(e, Campaign.KpiTargetsSet):
        tx.execute(
            "UPDATE {campaigns} SET kpi_targets = ? WHERE campaign_id = ?",
            (dumps(e.targets_to), cid),
        )
    elif isinstance(e, Campaign.ChannelsChanged):
        tx.execute(
            "UPDATE {campaigns} SET channels = ? WHERE campaign_id = ?",
            (dumps(sorted(e.channels_to)), cid),
        )
    tx.execute(
        CHANGE,
        (item.version, ts(e.timestamp), str(e.actor_id), e.role, item.type_name,
         item.position, cid),
    )  # fmt: skip


def _in_force(tx: Tx, cid: str, version: int) -> dict[str, Any] | None:
    """The record in force for the one named: follow the chain of corrections."""
    row = tx.one(
        "SELECT * FROM {campaign_perf} WHERE campaign_id = ? AND version = ?", (cid, version)
    )
    while row is not None and row["replaced_by"] is not None:
        row = tx.one(
            "SELECT * FROM {campaign_perf} WHERE campaign_id = ? AND version = ?",
            (cid, row["replaced_by"]),
        )
    return row


def _performance(tx: Tx, item: Positioned, e: Campaign.PerformanceRecorded) -> None:
    cid = str(item.aggregate_id)
    spend, revenue = Decimal(str(e.spend["amount"])), Decimal(str(e.revenue["amount"]))
    tx.execute(
        "INSERT INTO {campaign_perf} (campaign_id, version, spend, revenue, impressions, "
        "clicks, conversions, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (cid, item.version, str(spend), str(revenue), e.impressions, e.clicks, e.conversions),
    )
    money = (spend, revenue)
    counts = (e.impressions, e.clicks, e.conversions, 1)
    old = _in_force(tx, cid, e.corrects_version) if e.corrects_version is not None else None
    if old is not None:
        tx.execute(
            "UPDATE {campaign_perf} SET replaced_by = ? WHERE campaign_id = ? AND version = ?",
            (item.version, cid, old["version"]),
        )
        money = (spend - Decimal(old["spend"]), revenue - Decimal(old["revenue"]))
        counts = (
            e.impressions - int(old["impressions"]),
            e.clicks - int(old["clicks"]),
            e.conversions - int(old["conversions"]),
            0,
        )
    row = tx.one("SELECT spend, revenue FROM {campaigns} WHERE campaign_id = ?", (cid,))
    if row is None:
        raise InconsistentLog("performance for an unknown campaign", campaign_id=cid)
    tx.execute(
        "UPDATE {campaigns} SET spend = ?, revenue = ?, performance_currency = ?, "
        "impressions = impressions + ?, clicks = clicks + ?, conversions = conversions + ?, "
        "performance_records = performance_records + ?, version = ? WHERE campaign_id = ?",
        (
            str(Decimal(row["spend"]) + money[0]), str(Decimal(row["revenue"]) + money[1]),
            e.spend["currency"], *counts, item.version, cid,
        ),
    )  # fmt: skip


def _recommendation(tx: Tx, item: Positioned) -> None:
    e, rid = item.event, str(item.aggregate_id)
    if isinstance(e, Recommendation.Recommended):
        if e.campaign_id is not None:
            tx.execute(
                "INSERT INTO {campaign_recs} (recommendation_id, campaign_id, open) "
                "VALUES (?, ?, 1)",
                (rid, str(e.campaign_id)),
            )
            _count(tx, str(e.campaign_id), +1)
        return
    if not isinstance(e, Recommendation.Decided) or e.status_after() in DECIDABLE:
        return
    row = tx.one(
        "SELECT campaign_id FROM {campaign_recs} WHERE recommendation_id = ? AND open = 1", (rid,)
    )
    if row is not None:
        tx.execute("UPDATE {campaign_recs} SET open = 0 WHERE recommendation_id = ?", (rid,))
        _count(tx, row["campaign_id"], -1)


def _count(tx: Tx, cid: str, by: int) -> None:
    tx.execute(
        "UPDATE {campaigns} SET pending_recommendations = pending_recommendations + ? "
        "WHERE campaign_id = ?",
        (by, cid),
    )


def _scope(tx: Tx, e: Organization.Event) -> None:
    if isinstance(e, Organization.EngagementStarted):
        campaigns = e.campaign_ids
    elif isinstance(e, Organization.EngagementAmended):
        if e.terms_to.get("campaign_ids") == e.terms_from.get("campaign_ids"):
            return
        campaigns = e.terms_to.get("campaign_ids")
    else:
        return
    eid, oid = ident(e.engagement_id), str(e.organization_id)
    tx.execute("DELETE FROM {campaign_scope} WHERE engagement_id = ?", (eid,))
    scoped = [ALL_CAMPAIGNS] if campaigns is None else sorted({str(c) for c in campaigns})
    tx.executemany(
        "INSERT INTO {campaign_scope} (engagement_id, campaign_id, organization_id) "
        "VALUES (?, ?, ?)",
        [(eid, c, oid) for c in scoped],
    )


def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
    for item in batch:
        e = item.event
        if isinstance(e, Campaign.Planned):
            _planned(tx, item, e)
        elif isinstance(e, Campaign.Executed):
            _executed(tx, item, e)
        elif isinstance(e, Campaign.PerformanceRecorded):
            _performance(tx, item, e)
        elif isinstance(e, Recommendation.Event):
            _recommendation(tx, item)
        elif isinstance(e, Organization.Event):
            _scope(tx, e)


PROJECTION = Projection("campaigns", (CAMPAIGNS, PERF, RECS, SCOPE), apply)
