"""The recommendation register, and the decisions and executions it is judged by.

``recommendations``  one row per recommendation: status, current revision, author,
                     engagement and agency, expiry, the decision that settled it (who, when,
                     how long after it was first delivered), whether it was escalated, and
                     its implementation: ``not_yet`` once approved, then ``as_approved`` or
                     ``with_deviation``
``decisions``        one row per client decision (approve, approve with changes, reject,
                     escalate), with its time since the recommendation was delivered
``executions``       one row per execution on a campaign, with the recommendation it cites
                     (none: manager-initiated) and whether it matched the approval
``engagements``      the engagements (agency, consultants, term) the rows refer to

The handling report and the exceptions are queries over these tables (``queries``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation
from projections.catalog import Projection, Table
from projections.codec import dumps, flag, ident, millis, parse_ts, ts
from projections.db import Tx
from projections.errors import InconsistentLog
from projections.source import Positioned

SETTLING = ("Approved", "ApprovedWithChanges", "Rejected")

RECOMMENDATIONS = Table(
    "recommendations",
    "recommendation_id TEXT PRIMARY KEY, position BIGINT NOT NULL, "
    "organization_id TEXT NOT NULL, engagement_id TEXT NOT NULL, agency_id TEXT, "
    "campaign_id TEXT, author_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, "
    "revision BIGINT NOT NULL, change TEXT NOT NULL, recommended_at TEXT NOT NULL, "
    "revised_at TEXT NOT NULL, expires_at TEXT NOT NULL, approved_revision BIGINT, "
    "approved_change TEXT, decision TEXT, decided_by TEXT, decided_role TEXT, "
    "decided_at TEXT, decision_ms BIGINT, escalated BIGINT NOT NULL, escalated_at TEXT, "
    "reason_code TEXT, reason TEXT, closed_at TEXT, implementation TEXT, "
    "implemented_at TEXT, implemented_by TEXT, execution_ref TEXT, deviation_reason TEXT, "
    "version BIGINT NOT NULL, last_position BIGINT NOT NULL",
    key="recommendation_id",
    indexes=(
        ("pos", "position"),
        ("org", "organization_id, position"),
        ("org_time", "organization_id, recommended_at"),
        ("engagement", "engagement_id, position"),
        ("campaign", "campaign_id, position"),
        ("author", "author_id, position"),
        ("org_status", "organization_id, status, position"),
    ),
)
DECISIONS = Table(
    "decisions",
    "position BIGINT PRIMARY KEY, recommendation_id TEXT NOT NULL, "
    "organization_id TEXT NOT NULL, engagement_id TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "role TEXT NOT NULL, decision TEXT NOT NULL, revision BIGINT NOT NULL, "
    "decided_at TEXT NOT NULL, ms_since_recommended BIGINT NOT NULL",
    key="position",
    indexes=(
        ("org_actor", "organization_id, actor_id, decided_at"),
        ("org_time", "organization_id, decided_at"),
    ),
)
EXECUTIONS = Table(
    "executions",
    "position BIGINT PRIMARY KEY, campaign_id TEXT NOT NULL, organization_id TEXT NOT NULL, "
    "actor_id TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, "
    "executed_at TEXT NOT NULL, recommendation_id TEXT, engagement_id TEXT, revision BIGINT, "
    "as_approved BIGINT, deviation_reason TEXT",
    key="position",
    indexes=(
        ("org", "organization_id, position"),
        ("org_actor", "organization_id, actor_id, executed_at"),
        ("rec", "recommendation_id"),
    ),
)
ENGAGEMENTS = Table(
    "engagements",
    "engagement_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, agency_id TEXT NOT NULL, "
    "consultant_ids TEXT NOT NULL, channels TEXT NOT NULL, campaign_ids TEXT, "
    "starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, ended_at TEXT",
    key="engagement_id",
)

RECOMMEND = (
    "INSERT INTO {recommendations} (recommendation_id, position, organization_id, "
    "engagement_id, agency_id, campaign_id, author_id, kind, status, revision, change, "
    "recommended_at, revised_at, expires_at, escalated, version, last_position) VALUES "
    "(?, ?, ?, ?, (SELECT agency_id FROM {engagements} WHERE engagement_id = ?), ?, ?, ?, "
    "'pending', 1, ?, ?, ?, ?, 0, ?, ?)"
)


def _touch(tx: Tx, item: Positioned, sets: str, params: Sequence[object]) -> None:
    tx.execute(
        "UPDATE {recommendations} SET "  # noqa: S608 - SET clauses are constants of this module
        + sets
        + ", version = ?, last_position = ? WHERE recommendation_id = ?",
        (*params, item.version, item.position, str(item.aggregate_id)),
    )


def _decided(tx: Tx, item: Positioned, e: Recommendation.Decided) -> None:
    rid, at = str(item.aggregate_id), ts(e.timestamp)
    status = e.status_after()
    kind = type(e).__name__
    if isinstance(e, Recommendation.Withdrawn | Recommendation.Expired):
        reason = e.reason if isinstance(e, Recommendation.Withdrawn) else None
        _touch(tx, item, "status = ?, closed_at = ?, reason = ?", (status, at, reason))
        return
    rec = tx.one(
        "SELECT recommended_at, engagement_id FROM {recommendations} WHERE recommendation_id = ?",
        (rid,),
    )
    if rec is None:
        raise InconsistentLog("a decision on an unknown recommendation", recommendation_id=rid)
    elapsed = millis(rec["recommended_at"], at)
    tx.execute(
        "INSERT INTO {decisions} (position, recommendation_id, organization_id, engagement_id, "
        "actor_id, role, decision, revision, decided_at, ms_since_recommended) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item.position, rid, str(e.organization_id), rec["engagement_id"], str(e.actor_id),
         e.role, kind, e.revision, at, elapsed),
    )  # fmt: skip
    if status == "awaiting_executive":
        _touch(tx, item, "status = ?, escalated = 1, escalated_at = ?", (status, at))
        if isinstance(e, Recommendation.Approved):
            _touch(tx, item, "approved_change = ?", (dumps(e.approved_change),))
        return
    sets = (
        "status = ?, decision = ?, decided_by = ?, decided_role = ?, decided_at = ?, "
        "decision_ms = ?, reason_code = ?, reason = ?"
    )
    params: list[object] = [status, kind, str(e.actor_id), e.role, at, elapsed, None, None]
    if isinstance(e, Recommendation.Rejected):
        params[-2:] = [e.reason_code, e.reason_text]
    if isinstance(e, Recommendation.Approved):
        sets += ", approved_revision = ?, approved_change = ?, implementation = 'not_yet'"
        params += [e.revision, dumps(e.approved_change)]
    _touch(tx, item, sets, params)


def _recommendation(tx: Tx, item: Positioned) -> None:
    e = item.event
    if isinstance(e, Recommendation.Recommended):
        at = ts(e.timestamp)
        eid = ident(e.engagement_id)
        tx.execute(
            RECOMMEND,
            (str(item.aggregate_id), item.position, str(e.organization_id), eid, eid,
             ident(e.campaign_id), str(e.actor_id), e.kind, dumps(e.change), at, at,
             ts(e.expires_at), item.version, item.position),
        )  # fmt: skip
    elif isinstance(e, Recommendation.Amended):
        _touch(
            tx,
            item,
            "status = 'pending', revision = ?, change = ?, revised_at = ?, expires_at = ?",
            (e.revision, dumps(e.change), ts(e.timestamp), ts(e.expires_at)),
        )
    elif isinstance(e, Recommendation.Decided):
        _decided(tx, item, e)
    elif isinstance(e, Recommendation.Implemented):
        ex = e.execution
        _touch(
            tx,
            item,
            "status = 'implemented', implementation = ?, implemented_at = ?, "
            "implemented_by = ?, execution_ref = ?, deviation_reason = ?",
            (
                "as_approved" if e.as_approved else "with_deviation",
                ts(e.timestamp),
                str(e.actor_id),
                f"{ex['campaign_id']}@{ex['version']}" if ex else None,
                e.deviation_reason,
            ),
        )


def _execution(tx: Tx, item: Positioned, e: Campaign.Executed) -> None:
    rec_id = str(e.implements["recommendation_id"]) if e.implements else None
    tx.execute(
        "INSERT INTO {executions} (position, campaign_id, organization_id, actor_id, role, "
        "action, executed_at, recommendation_id, engagement_id, revision, as_approved, "
        "deviation_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "(SELECT engagement_id FROM {recommendations} WHERE recommendation_id = ?), ?, ?, ?)",
        (item.position, str(item.aggregate_id), str(e.organization_id), str(e.actor_id),
         e.role, type(e).__name__, ts(e.timestamp), rec_id, rec_id,
         e.implements.get("revision") if e.implements else None,
         flag(e.deviation_reason is None) if e.implements else None, e.deviation_reason),
    )  # fmt: skip


def _engagement(tx: Tx, e: Organization.Event) -> None:
    eid = ident(e.engagement_id)
    if isinstance(e, Organization.EngagementStarted):
        tx.execute(
            "INSERT INTO {engagements} (engagement_id, organization_id, agency_id, "
            "consultant_ids, channels, campaign_ids, starts_at, ends_at, ended_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (eid, str(e.organization_id), str(e.agency_id),
             dumps(sorted(map(str, e.consultant_ids))),
             dumps(sorted(e.channels)),
             None if e.campaign_ids is None else dumps(sorted(map(str, e.campaign_ids))),
             ts(e.starts_at), ts(e.ends_at)),
        )  # fmt: skip
    elif isinstance(e, Organization.EngagementAmended):
        to = e.terms_to
        tx.execute(
            "UPDATE {engagements} SET consultant_ids = ?, channels = ?, campaign_ids = ?, "
            "ends_at = ? WHERE engagement_id = ?",
            (dumps(to["consultant_ids"]), dumps(to["channels"]),
             None if to["campaign_ids"] is None else dumps(to["campaign_ids"]),
             ts(parse_ts(to["ends_at"])), eid),
        )  # fmt: skip
    elif isinstance(e, Organization.EngagementEnded):
        tx.execute(
            "UPDATE {engagements} SET ended_at = ? WHERE engagement_id = ?",
            (ts(e.timestamp), eid),
        )


def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
    for item in batch:
        e = item.event
        if isinstance(e, Recommendation.Event):
            _recommendation(tx, item)
        elif isinstance(e, Campaign.Executed):
            _execution(tx, item, e)
        elif isinstance(e, Organization.Event):
            _engagement(tx, e)


PROJECTION = Projection("register", (RECOMMENDATIONS, DECISIONS, EXECUTIONS, ENGAGEMENTS), apply)
