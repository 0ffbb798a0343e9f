"""The recommendation register, and the decisions and executions it is judged by.

``recommendations``  one row per recommendation: status, current revision, author,
                     engagement and agency, expiry, the decision that settled it (who, when,
                     how long after it was first delivered), whether it was escalated, and
                     its implementation: ``not_yet`` once approved, then ``as_approved`` or
                     ``with_deviation``
``decisions``        one row per client decision (approve, approve with changes, reject,
                     escalate), with its time since the recommendation was delivered, its
                     reason or note, and the values it approved
``executions``       one row per execution on a campaign, with the recommendation it cites
                     (none: manager-initiated), whether it matched the approval, the values
                     it set, and its spend authority: ``manager_allowance`` (with what it
                     took from the allowance) or ``executive`` (ADR 0012; none before it)
``engagements``      the engagements (agency, consultants, term) the rows refer to
``budgets``          each campaign's budget in force, so that a launch's row says the
                     budget it put in force (its event names only the status change)

The handling report and the exceptions are queries over these tables (``queries``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation
from ledger.values import RecommendationStatus as Status
from projections.catalog import Projection, Table
from projections.codec import dumps, flag, ident, loads, millis, parse_ts, ts
from projections.db import Tx
from projections.errors import InconsistentLog
from projections.rows import Appended, Keyed
from projections.source import Positioned

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
        ("agency", "agency_id, position"),
        ("org_status", "organization_id, status, position"),
    ),
)
DECISIONS = Table(
    "decisions",
    "position BIGINT PRIMARY KEY, recommendation_id TEXT NOT NULL, "
    "organization_id TEXT NOT NULL, engagement_id TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "role TEXT NOT NULL, decision TEXT NOT NULL, revision BIGINT NOT NULL, "
    "decided_at TEXT NOT NULL, ms_since_recommended BIGINT NOT NULL, reason_code TEXT, "
    "reason TEXT, note TEXT, approved_change TEXT",
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
    "as_approved BIGINT, deviation_reason TEXT, executed TEXT NOT NULL, authority TEXT, "
    "allowance_used TEXT",
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

BUDGETS = Table(
    "budgets",
    "campaign_id TEXT PRIMARY KEY, budget TEXT NOT NULL",
    key="campaign_id",
)


class Batch:
    """The register's rows for one batch."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.recs = Keyed(RECOMMENDATIONS, ("recommendation_id",))
        self.engagements = Keyed(ENGAGEMENTS, ("engagement_id",))
        self.decisions = Appended(DECISIONS)
        self.executions = Appended(EXECUTIONS)
        self.budgets = Keyed(BUDGETS, ("campaign_id",))

    def prepare(self, batch: Sequence[Positioned]) -> None:
        """Read, one query per table, the rows the batch's events will read or change."""
        recs, engagements, campaigns = set(), set(), set()
        for item in batch:
            e = item.event
            if isinstance(e, Campaign.Launched | Campaign.BudgetAdjusted):
                campaigns.add(item.aggregate_key)
            if isinstance(e, Recommendation.Recommended):
                engagements.add(ident(e.engagement_id))
            elif isinstance(e, Recommendation.Event):
                recs.add(item.aggregate_key)
            elif isinstance(e, Campaign.Executed) and e.implements:
                recs.add(str(e.implements["recommendation_id"]))
            elif isinstance(e, Organization.EngagementAmended | Organization.EngagementEnded):
                engagements.add(ident(e.engagement_id))
        self.recs.load(self.tx, recs)
        self.engagements.load(self.tx, engagements)
        self.budgets.load(self.tx, campaigns)

    def flush(self) -> None:
        self.engagements.flush(self.tx)
        self.recs.flush(self.tx)
        self.decisions.flush(self.tx)
        self.executions.flush(self.tx)
        self.budgets.flush(self.tx)


def _touch(b: Batch, item: Positioned, **values: object) -> None:
    row = b.recs.get(b.tx, item.aggregate_key)
    if row is not None:  # an UPDATE of no row: as the per-statement code did
        row.update(values, version=item.version, last_position=item.position)


def _decided(b: Batch, item: Positioned, e: Recommendation.Decided) -> None:
    rid, at = item.aggregate_key, ts(e.timestamp)
    status = e.status_after()
    kind = type(e).__name__
    if isinstance(e, Recommendation.Withdrawn | Recommendation.Expired):
        reason = e.reason if isinstance(e, Recommendation.Withdrawn) else None
        _touch(b, item, status=status, closed_at=at, reason=reason)
        return
    rec = b.recs.get(b.tx, rid)
    if rec is None:
        raise InconsistentLog("a decision on an unknown recommendation", recommendation_id=rid)
    elapsed = millis(rec["recommended_at"], at)
    rejected = e if isinstance(e, Recommendation.Rejected) else None
    approved = e if isinstance(e, Recommendation.Approved) else None
    b.decisions.add(
        position=item.position, recommendation_id=rid, organization_id=str(e.organization_id),
        engagement_id=rec["engagement_id"], actor_id=str(e.actor_id), role=e.role,
        decision=kind, revision=e.revision, decided_at=at, ms_since_recommended=elapsed,
        reason_code=rejected.reason_code if rejected else None,
        reason=rejected.reason_text if rejected else None,
        note=getattr(e, "note", None),
        approved_change=dumps(approved.approved_change) if approved else None,
    )  # fmt: skip
    if status == Status.AWAITING_EXECUTIVE:
        _touch(b, item, status=status, escalated=1, escalated_at=at)
        if isinstance(e, Recommendation.Approved):
            _touch(b, item, approved_change=dumps(e.approved_change), approved_revision=e.revision)
        return
    values: dict[str, object] = {
        "status": status, "decision": kind, "decided_by": str(e.actor_id),
        "decided_role": e.role, "decided_at": at, "decision_ms": elapsed,
        "reason_code": None, "reason": None,
    }  # fmt: skip
    if isinstance(e, Recommendation.Rejected):
        values.update(reason_code=e.reason_code, reason=e.reason_text)
    if isinstance(e, Recommendation.Approved):
        values.update(
            approved_revision=e.revision,
            approved_change=dumps(e.approved_change),
            implementation="not_yet",
        )
    _touch(b, item, **values)


def _recommendation(b: Batch, item: Positioned) -> None:
    e = item.event
    if isinstance(e, Recommendation.Recommended):
        at = ts(e.timestamp)
        eid = ident(e.engagement_id)
        engagement = b.engagements.get(b.tx, eid)
        b.recs.add(
            recommendation_id=item.aggregate_key, position=item.position,
            organization_id=str(e.organization_id), engagement_id=eid,
            agency_id=engagement["agency_id"] if engagement else None,
            campaign_id=ident(e.campaign_id), author_id=str(e.actor_id), kind=e.kind,
            status=Status.PENDING, revision=1, change=dumps(e.change), recommended_at=at,
            revised_at=at, expires_at=ts(e.expires_at), escalated=0, version=item.version,
            last_position=item.position,
        )  # fmt: skip
    elif isinstance(e, Recommendation.Amended):
        _touch(
            b, item, status=Status.PENDING, revision=e.revision, change=dumps(e.change),
            revised_at=ts(e.timestamp), expires_at=ts(e.expires_at),
        )  # fmt: skip
    elif isinstance(e, Recommendation.Decided):
        _decided(b, item, e)
    elif isinstance(e, Recommendation.Implemented):
        ex = e.execution
        _touch(
            b, item, status=Status.IMPLEMENTED,
            implementation="as_approved" if e.as_approved else "with_deviation",
            implemented_at=ts(e.timestamp), implemented_by=str(e.actor_id),
            execution_ref=f"{ex['campaign_id']}@{ex['version']}" if ex else None,
            deviation_reason=e.deviation_reason,
        )  # fmt: skip


def executed_values(e: Campaign.Executed, budget: object = None) -> dict[str, object]:
    """What an execution set, as it names it (the status, budget, targets or channels
    before and after); a launch also the budget it put in force."""
    if isinstance(e, Campaign.Launched):
        return {"status_from": e.status_from, "status_to": e.status_to, "budget": budget}
    if isinstance(e, Campaign.StatusChanged):
        return {"status_from": e.status_from, "status_to": e.status_to}
    if isinstance(e, Campaign.BudgetAdjusted):
        return {"budget_from": e.budget_from, "budget_to": e.budget_to}
    if isinstance(e, Campaign.KpiTargetsSet):
        return {"targets_from": e.targets_from, "targets_to": e.targets_to}
    if isinstance(e, Campaign.ChannelsChanged):
        return {"channels_from": e.channels_from, "channels_to": e.channels_to}
    return {}


def _budget(b: Batch, item: Positioned) -> object:
    """The campaign's budget in force once this event is applied (None: the view has not
    seen it planned)."""
    e, row = item.event, b.budgets.get(b.tx, item.aggregate_key)
    if isinstance(e, Campaign.Planned):
        if row is None:
            b.budgets.add(campaign_id=item.aggregate_key, budget=dumps(e.budget))
        return None
    if isinstance(e, Campaign.BudgetAdjusted):
        if row is None:
            b.budgets.add(campaign_id=item.aggregate_key, budget=dumps(e.budget_to))
        else:
            row["budget"] = dumps(e.budget_to)
    return None if row is None else loads(row["budget"])


def _execution(b: Batch, item: Positioned, e: Campaign.Executed) -> None:
    rec_id = str(e.implements["recommendation_id"]) if e.implements else None
    rec = b.recs.get(b.tx, rec_id) if rec_id else None
    b.executions.add(
        position=item.position, campaign_id=item.aggregate_key,
        organization_id=str(e.organization_id), actor_id=str(e.actor_id), role=e.role,
        action=type(e).__name__, executed_at=ts(e.timestamp), recommendation_id=rec_id,
        engagement_id=rec["engagement_id"] if rec else None,
        revision=e.implements.get("revision") if e.implements else None,
        as_approved=flag(e.deviation_reason is None) if e.implements else None,
        deviation_reason=e.deviation_reason, executed=dumps(executed_values(e, _budget(b, item))),
        authority=getattr(e, "authority", None), allowance_used=getattr(e, "allowance_used", None),
    )  # fmt: skip


def _engagement(b: Batch, e: Organization.Event) -> None:
    eid = ident(e.engagement_id)
    if isinstance(e, Organization.EngagementStarted):
        b.engagements.add(
            engagement_id=eid, organization_id=str(e.organization_id),
            agency_id=str(e.agency_id),
            consultant_ids=dumps(sorted(map(str, e.consultant_ids))),
            channels=dumps(sorted(e.channels)),
            campaign_ids=None
            if e.campaign_ids is None
            else dumps(sorted(map(str, e.campaign_ids))),
            starts_at=ts(e.starts_at), ends_at=ts(e.ends_at), ended_at=None,
        )  # fmt: skip
        return
    row = b.engagements.get(b.tx, eid)
    if row is None:
        return  # an UPDATE of no row: as the per-statement code did
    if isinstance(e, Organization.EngagementAmended):
        to = e.terms_to
        row.update(
            consultant_ids=dumps(to["consultant_ids"]), channels=dumps(to["channels"]),
            campaign_ids=None if to["campaign_ids"] is None else dumps(to["campaign_ids"]),
            ends_at=ts(parse_ts(to["ends_at"])),
        )  # fmt: skip
    elif isinstance(e, Organization.EngagementEnded):
        row["ended_at"] = ts(e.timestamp)


def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
    b = Batch(tx)
    b.prepare(batch)
    for item in batch:
        e = item.event
        if isinstance(e, Recommendation.Event):
            _recommendation(b, item)
        elif isinstance(e, Campaign.Executed):
            _execution(b, item, e)
        elif isinstance(e, Campaign.Planned):
            _budget(b, item)
        elif isinstance(e, Organization.Event):
            _engagement(b, e)
    b.flush()


PROJECTION = Projection(
    "register", (RECOMMENDATIONS, DECISIONS, EXECUTIONS, ENGAGEMENTS, BUDGETS), apply
)
