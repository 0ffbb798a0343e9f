"""The audit trail: one row per event, in log order.

Each row says who (actor, role, party), for whom (organization, and the engagement the
entry concerns), on what (campaign, recommendation, revision), what happened (event type,
status before and after, budget before and after, reason), and when (recorded time and log
position), with the correlation id of the request. Links: every entry about a
recommendation carries its ``recommendation_id``, including the executions that carried it
out (from their ``implements``); the ``Recommendation.Implemented`` entry names the
execution as ``execution_ref`` = ``<campaign id>@<version>``.

``engagement_id`` is the engagement the entry concerns: the consultant's engagement on the
consultant's own events, and the recommendation's engagement on the decisions and
executions that answer it, so that a consultant restricted to its engagements sees how its
recommendations were handled. Idempotency records (``CommandRecord.Recorded``) are not
entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.application.results import event_id
from ledger.domain.campaign import Campaign
from ledger.domain.idempotency import CommandRecord
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation
from ledger.values import CampaignStatus, RecommendationStatus
from projections.catalog import Projection, Table
from projections.codec import dumps, flag, ident, ts
from projections.db import Tx
from projections.errors import InconsistentLog
from projections.rows import Appended, Keyed
from projections.source import Positioned

COLUMNS = (
    "position",
    "event_id",
    "event_type",
    "aggregate_type",
    "aggregate_id",
    "version",
    "recorded_at",
    "actor_id",
    "role",
    "party",
    "organization_id",
    "engagement_id",
    "campaign_id",
    "recommendation_id",
    "revision",
    "execution_ref",
    "as_approved",
    "reason_code",
    "reason",
    "status_from",
    "status_to",
    "budget_from",
    "budget_to",
    "correlation_id",
    "causation_id",
    "details",
)
JSON_COLUMNS = frozenset({"budget_from", "budget_to", "details"})
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "actor_id",
        "role",
        "party",
        "organization_id",
        "engagement_id",
        "correlation_id",
        "causation_id",
    }
)

AUDIT = Table(
    "audit",
    "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL, "
    "aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, version BIGINT NOT NULL, "
    "recorded_at TEXT NOT NULL, actor_id TEXT NOT NULL, role TEXT NOT NULL, "
    "party TEXT NOT NULL, organization_id TEXT NOT NULL, engagement_id TEXT, "
    "campaign_id TEXT, recommendation_id TEXT, revision BIGINT, execution_ref TEXT, "
    "as_approved BIGINT, reason_code TEXT, reason TEXT, status_from TEXT, status_to TEXT, "
    "budget_from TEXT, budget_to TEXT, correlation_id TEXT NOT NULL, causation_id TEXT, "
    "details TEXT NOT NULL",
    key="position",
    indexes=(
        ("org_pos", "organization_id, position"),
        ("org_time", "organization_id, recorded_at, position"),
        ("campaign", "campaign_id, position"),
        ("rec", "recommendation_id, position"),
        ("actor", "actor_id, position"),
        ("type", "event_type, position"),
        ("engagement", "engagement_id, position"),
    ),
)
# What the trail remembers of each recommendation to fill the entries that answer it.
RECS = Table(
    "audit_recs",
    "recommendation_id TEXT PRIMARY KEY, campaign_id TEXT, engagement_id TEXT NOT NULL, "
    "status TEXT NOT NULL",
    key="recommendation_id",
)


def _base(item: Positioned) -> dict[str, Any]:
    e = item.event
    aggregate_type, _, _ = item.type_name.partition(".")
    return {
        "position": item.position,
        "event_id": str(event_id(item.aggregate_id, item.version)),
        "event_type": item.type_name,
        "aggregate_type": aggregate_type,
        "aggregate_id": item.aggregate_key,
        "version": item.version,
        "recorded_at": ts(e.timestamp),
        "actor_id": str(e.actor_id),
        "role": e.role,
        "party": e.party,
        "organization_id": str(e.organization_id),
        "engagement_id": ident(e.engagement_id),
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "details": dumps({k: v for k, v in vars(e).items() if k not in ENVELOPE}),
    }


class Batch:
    """The trail's rows for one batch: new entries, and what it remembers of recommendations."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.entries = Appended(AUDIT)
        self.recs = Keyed(RECS, ("recommendation_id",))

    def prepare(self, batch: Sequence[Positioned]) -> None:
        """Read, in one query, every recommendation the batch's entries refer to."""
        wanted = set()
        for item in batch:
            e = item.event
            if isinstance(e, Recommendation.Event):
                wanted.add(item.aggregate_key)
            elif isinstance(e, Campaign.Executed) and e.implements:
                wanted.add(str(e.implements["recommendation_id"]))
        self.recs.load(self.tx, wanted)

    def flush(self) -> None:
        self.recs.flush(self.tx)
        self.entries.flush(self.tx)


def _recommendation(b: Batch, item: Positioned, row: dict[str, Any]) -> None:
    e = item.event
    rec_id = item.aggregate_key
    row["recommendation_id"] = rec_id
    if isinstance(e, Recommendation.Recommended):
        row.update(
            campaign_id=ident(e.campaign_id), revision=1, status_to=RecommendationStatus.PENDING
        )
        b.recs.add(
            recommendation_id=rec_id,
            campaign_id=ident(e.campaign_id),
            engagement_id=ident(e.engagement_id),
            status=RecommendationStatus.PENDING,
        )
        return
    known = b.recs.get(b.tx, rec_id)
    if known is None:
        raise InconsistentLog("an event on an unknown recommendation", recommendation_id=rec_id)
    row.update(
        campaign_id=known["campaign_id"],
        engagement_id=known["engagement_id"],
        status_from=known["status"],
        revision=getattr(e, "revision", None),
    )
    if isinstance(e, Recommendation.Amended):
        row["status_to"] = RecommendationStatus.PENDING
    elif isinstance(e, Recommendation.Decided):
        row["status_to"] = e.status_after()
        if isinstance(e, Recommendation.Rejected):
            row.update(reason_code=e.reason_code, reason=e.reason_text)
        elif isinstance(e, Recommendation.Withdrawn):
            row["reason"] = e.reason
    elif isinstance(e, Recommendation.Implemented):
        ex = e.execution
        row.update(
            status_to=RecommendationStatus.IMPLEMENTED,
            as_approved=flag(e.as_approved),
            reason=e.deviation_reason,
            execution_ref=f"{ex['campaign_id']}@{ex['version']}" if ex else None,
        )
    if row.get("status_to"):
        known["status"] = row["status_to"]


def _campaign(b: Batch, item: Positioned, row: dict[str, Any]) -> None:
    e = item.event
    row["campaign_id"] = item.aggregate_key
    if isinstance(e, Campaign.Planned):
        row.update(status_to=CampaignStatus.DRAFT, budget_to=dumps(e.budget))
        return
    if not isinstance(e, Campaign.Executed):
        return
    if isinstance(e, Campaign.StatusChanged):
        row.update(status_from=e.status_from, status_to=e.status_to)
    elif isinstance(e, Campaign.BudgetAdjusted):
        row.update(budget_from=dumps(e.budget_from), budget_to=dumps(e.budget_to))
    if e.implements:
        rec_id = str(e.implements["recommendation_id"])
        known = b.recs.get(b.tx, rec_id)
        row.update(
            recommendation_id=rec_id,
            revision=e.implements.get("revision"),
            engagement_id=known["engagement_id"] if known else None,
            as_approved=flag(e.deviation_reason is None),
            reason=e.deviation_reason,
        )


def _organization(item: Positioned, row: dict[str, Any]) -> None:
    e = item.event
    if isinstance(e, Organization.MembershipRevoked | Organization.EngagementEnded):
        row["reason"] = e.reason


def entry(b: Batch, item: Positioned) -> dict[str, Any] | None:
    """The audit row of one event (None for an idempotency record)."""
    e = item.event
    if isinstance(e, CommandRecord.Recorded):
        return None
    row = _base(item)
    if isinstance(e, Recommendation.Event):
        _recommendation(b, item, row)
    elif isinstance(e, Campaign.Event):
        _campaign(b, item, row)
    elif isinstance(e, Organization.Event):
        _organization(item, row)
    return row


def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
    b = Batch(tx)
    b.prepare(batch)
    for item in batch:
        row = entry(b, item)
        if row is not None:
            b.entries.add(**row)
    b.flush()


PROJECTION = Projection("audit", (AUDIT, RECS), apply)
