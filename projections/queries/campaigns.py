"""Campaign-state queries, with the derived KPIs computed in Decimal (never float).

CTR = clicks / impressions, CPC = spend / clicks, CPA = spend / conversions,
ROAS = revenue / spend, ROI = (revenue - spend) / spend. A KPI whose denominator is zero is
``None`` (not measurable yet), never zero or infinity. Each KPI target is compared with the
actual: cost metrics (CPC, CPA, spend) are met at or below the target, the others at or
above. A CTR or ROI target in percent (unit ``%``) is compared with the ratio times 100.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from projections import catalog
from projections.codec import loads
from projections.db import Database, Row, Tx
from projections.queries.paging import Page, Visible, Where, after, clamp, page
from projections.queries.register import lapsed_by_campaign
from projections.views.campaigns import ALL_CAMPAIGNS
from projections.views.campaigns import PROJECTION as CAMPAIGNS

PLACES = Decimal("0.0001")
LOWER_IS_BETTER = frozenset({"cpc", "cpa", "spend"})
PERCENT_UNITS = frozenset({"%", "percent", "pct"})
RATIOS = frozenset({"ctr", "roi"})


@dataclass(frozen=True)
class KpiCheck:
    metric: str
    actual: Decimal | None
    target: Decimal
    unit: str
    met: bool | None
    """None when the actual cannot be measured yet (or the metric is not one we derive)."""


@dataclass(frozen=True)
class CampaignView:
    campaign_id: str
    organization_id: str
    name: str
    objective: str
    status: str
    budget: dict[str, str]
    kpi_targets: list[dict[str, Any]]
    channels: list[str]
    version: int
    planned_at: str
    planned_by: str
    last_change_at: str
    last_change_by: str
    last_change_role: str
    last_change_type: str
    pending_recommendations: int
    performance: dict[str, Any]
    derived: dict[str, Decimal | None]
    kpis: list[KpiCheck]
    position: int
    """The log position of the campaign's first event (its place in listings)."""


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return (numerator / denominator).quantize(PLACES, rounding=ROUND_HALF_EVEN)


def derive(row: Row) -> dict[str, Decimal | None]:
    spend, revenue = Decimal(row["spend"]), Decimal(row["revenue"])
    impressions, clicks = Decimal(row["impressions"]), Decimal(row["clicks"])
    conversions = Decimal(row["conversions"])
    return {
        "ctr": ratio(clicks, impressions),
        "cpc": ratio(spend, clicks),
        "cpa": ratio(spend, conversions),
        "roas": ratio(revenue, spend),
        "roi": ratio(revenue - spend, spend),
        "spend": spend,
        "revenue": revenue,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
    }


def check(target: dict[str, Any], derived: dict[str, Decimal | None]) -> KpiCheck:
    metric, unit = str(target["metric"]), str(target.get("unit", ""))
    try:
        goal = Decimal(str(target["target"]))
    except InvalidOperation:
        goal = Decimal(0)
    actual = derived.get(metric)
    if actual is not None and metric in RATIOS and unit in PERCENT_UNITS:
        actual = (actual * 100).quantize(PLACES, rounding=ROUND_HALF_EVEN)
    met = None
    if actual is not None:
        met = actual <= goal if metric in LOWER_IS_BETTER else actual >= goal
    return KpiCheck(metric, actual, goal, unit, met)


def view(row: Row) -> CampaignView:
    derived = derive(row)
    targets = loads(row["kpi_targets"]) or []
    return CampaignView(
        campaign_id=row["campaign_id"],
        organization_id=row["organization_id"],
        name=row["name"],
        objective=row["objective"],
        status=row["status"],
        budget={
            "amount": row["budget_amount"],
            "currency": row["budget_currency"],
            "period": row["budget_period"],
        },
        kpi_targets=targets,
        channels=loads(row["channels"]) or [],
        version=int(row["version"]),
        planned_at=row["planned_at"],
        planned_by=row["planned_by"],
        last_change_at=row["last_change_at"],
        last_change_by=row["last_change_by"],
        last_change_role=row["last_change_role"],
        last_change_type=row["last_change_type"],
        pending_recommendations=int(row["pending_recommendations"]),
        performance={
            "records": int(row["performance_records"]),
            "spend": Decimal(row["spend"]),
            "revenue": Decimal(row["revenue"]),
            "currency": row["performance_currency"],
            "impressions": int(row["impressions"]),
            "clicks": int(row["clicks"]),
            "conversions": int(row["conversions"]),
        },
        derived=derived,
        kpis=[check(t, derived) for t in targets],
        position=int(row["position"]),
    )


def _visible(where: Where, visible_to: Visible) -> Where:
    """Campaigns an engagement covers: those it names, or all of its organization."""
    if visible_to is None:
        return where
    if not visible_to:
        return where.raw("1 = 0")
    ids = sorted(str(v) for v in visible_to)
    marks = ", ".join("?" * len(ids))
    return where.raw(
        "(campaign_id IN (SELECT campaign_id FROM {campaign_scope} WHERE engagement_id IN ("  # noqa: S608 - table slots and clauses are constants of this package; values are bound
        + marks
        + ")) OR organization_id IN (SELECT organization_id FROM {campaign_scope} "
        "WHERE campaign_id = ? AND engagement_id IN (" + marks + ")))",
        *ids,
        ALL_CAMPAIGNS,
        *ids,
    )


def _rows(tx: Tx, where: Where, limit: int) -> list[Row]:
    text = "SELECT * FROM {campaigns}" + where.sql() + f" ORDER BY position LIMIT {limit}"  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    return tx.all(text, where.params)


def _open_now(db: Database, views: list[CampaignView], now: datetime | None) -> list[CampaignView]:
    """``pending_recommendations`` read at ``now``: a recommendation past its expiry is
    expired from that instant (the register's rule), before the sweep records it."""
    if now is None or not views:
        return views
    lapsed = lapsed_by_campaign(db, [v.campaign_id for v in views], now)
    return [
        dataclasses.replace(
            v,
            pending_recommendations=max(
                0, v.pending_recommendations - lapsed.get(v.campaign_id, 0)
            ),
        )
        for v in views
    ]


def campaign_state(
    db: Database, campaign_id: UUID, *, visible_to: Visible = None, now: datetime | None = None
) -> tuple[CampaignView | None, int]:
    """The campaign (None when absent or not visible) and the position the answer reflects;
    with ``now``, its open recommendations are those not past their expiry then."""
    where = _visible(Where().eq("campaign_id", campaign_id), visible_to)
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, CAMPAIGNS)
        rows = _rows(vtx, where, 1)
    found = _open_now(db, [view(r) for r in rows], now)
    return (found[0] if found else None), position


Keep = Callable[[UUID, Collection[str]], bool]


def campaigns(
    db: Database,
    *,
    organization_id: UUID | None = None,
    statuses: Collection[str] = (),
    cursor: str | None = None,
    limit: int | None = None,
    visible_to: Visible = None,
    keep: Keep | None = None,
    now: datetime | None = None,
) -> Page[CampaignView]:
    """A page of campaigns (in any of ``statuses``, when given); ``keep`` (the policy's read
    rule: campaign id, channels) drops the rows of engagements' organizations that the
    engagement's channels do not cover."""
    n = clamp(limit)
    start = after(cursor)
    found: list[Row] = []
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, CAMPAIGNS)
        while len(found) <= n:
            where = Where().eq("organization_id", organization_id)
            where.one_of("status", statuses or None)
            _visible(where, visible_to).raw("position > ?", start)
            rows = _rows(vtx, where, n + 1)
            found += [r for r in rows if keep is None or keep(_id(r), loads(r["channels"]) or [])]
            if len(rows) <= n:
                break
            start = int(rows[-1]["position"])
    views = _open_now(db, [view(r) for r in found[: n + 1]], now)
    return page(views, n, lambda v: v.position, position)


def _id(row: Row) -> UUID:
    return UUID(str(row["campaign_id"]))
