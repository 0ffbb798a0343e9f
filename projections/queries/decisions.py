"""The decision report: each recommendation whole, from its recommendation to its execution.

One row per recommendation (``group="recommendation"``) or per client decision
(``group="decision"``, the row holding that one decision): who recommended what, every
decision in order (actor, role, revision, outcome, reason, note, approved values), every
execution that cites it (actor, time, executed values, spend authority, deviation and its
reason), the recommended / approved / executed values side by side, the time to the first
decision and to the first execution, and the status read at ``now`` (expiry included).

Filters, each AND-ed with the others; a list means any of its values:

``recommended_since/until``  the time of the recommendation (first delivery)
``decided_since/until``      the time of a decision on it (group=decision: that decision's)
``executed_since/until``     the time of an execution citing it
``campaign_id``, ``kind``, ``status``, ``consultant_id`` (its author), ``decider_id`` (one
of its deciders), ``outcome`` (one of its decisions'), ``deviation`` (an execution deviated
from the approval, or none did), ``above_limit`` (an execution took an executive's
authority, ADR 0012, or none did).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger.values import RecommendationStatus as Status
from projections import catalog
from projections.codec import millis, ts
from projections.db import Database, Row, Tx
from projections.queries.paging import Page, Visible, Where, after, clamp, decode, page
from projections.queries.register import cited_by, execution, status_as_of
from projections.views.register import PROJECTION as REGISTER


class Outcome(StrEnum):
    """A client decision's outcome, as the report and its filter name it."""

    APPROVED = "approved"
    APPROVED_WITH_CHANGES = "approved_with_changes"
    REJECTED = "rejected"
    ESCALATED = "escalated"


OUTCOME_OF_EVENT = {
    "Approved": Outcome.APPROVED,
    "ApprovedWithChanges": Outcome.APPROVED_WITH_CHANGES,
    "Rejected": Outcome.REJECTED,
    "Escalated": Outcome.ESCALATED,
}
EVENT_OF_OUTCOME = {v: k for k, v in OUTCOME_OF_EVENT.items()}
EXECUTIVE = "executive"
UNDECIDED = (Status.PENDING, Status.AWAITING_EXECUTIVE)


@dataclass(frozen=True)
class DecisionFilter:
    organization_id: UUID | None = None
    campaign_id: UUID | None = None
    kinds: Sequence[str] = ()
    statuses: Sequence[str] = ()
    consultant_id: UUID | None = None
    decider_id: UUID | None = None
    outcomes: Sequence[str] = ()
    deviation: bool | None = None
    above_limit: bool | None = None
    recommended_since: datetime | None = None
    recommended_until: datetime | None = None
    decided_since: datetime | None = None
    decided_until: datetime | None = None
    executed_since: datetime | None = None
    executed_until: datetime | None = None
    visible_to: Visible = None


def _any_of(where: Where, column: str, values: Sequence[str]) -> None:
    if values:
        where.raw(f"{column} IN ({', '.join('?' * len(values))})", *map(str, values))


def _statuses(where: Where, statuses: Sequence[str], now: datetime) -> None:
    """Statuses as read at ``now``: undecided past its expiry is ``expired``."""
    if not statuses:
        return
    clauses: list[str] = []
    params: list[Any] = []
    for status in statuses:
        if status == Status.EXPIRED:
            clauses.append("(r.status = ? OR (r.status IN (?, ?) AND r.expires_at <= ?))")
            params += [str(Status.EXPIRED), *map(str, UNDECIDED), ts(now)]
        elif status in UNDECIDED:
            clauses.append("(r.status = ? AND r.expires_at > ?)")
            params += [str(status), ts(now)]
        else:
            clauses.append("r.status = ?")
            params.append(str(status))
    where.raw("(" + " OR ".join(clauses) + ")", *params)


def _exists(where: Where, table: str, condition: Where, *, negate: bool = False) -> None:
    """Rows of the register's ``table`` citing the recommendation match ``condition``."""
    text = (
        ("NOT " if negate else "")  # noqa: S608 - constant table slots and clauses; values are bound
        + "EXISTS (SELECT 1 FROM {"
        + table
        + "} s WHERE s.recommendation_id = r.recommendation_id"
        + "".join(" AND " + c for c in condition.clauses)
        + ")"
    )
    where.raw(text, *condition.params)


def _decision_condition(f: DecisionFilter, prefix: str) -> Where:
    w = Where()
    w.time_from(prefix + "decided_at", f.decided_since)
    w.time_before(prefix + "decided_at", f.decided_until)
    w.eq(prefix + "actor_id", f.decider_id)
    _any_of(w, prefix + "decision", [EVENT_OF_OUTCOME[Outcome(o)] for o in f.outcomes])
    return w


def _where(f: DecisionFilter, now: datetime, *, per_decision: bool) -> Where:
    w = Where()
    w.eq("r.organization_id", f.organization_id).eq("r.campaign_id", f.campaign_id)
    w.eq("r.author_id", f.consultant_id)
    _any_of(w, "r.kind", f.kinds)
    _statuses(w, f.statuses, now)
    w.time_from("r.recommended_at", f.recommended_since)
    w.time_before("r.recommended_at", f.recommended_until)
    w.one_of("r.engagement_id", f.visible_to)
    if per_decision:
        condition = _decision_condition(f, "d.")
        w.clauses += condition.clauses
        w.params += condition.params
    else:
        condition = _decision_condition(f, "s.")
        if condition.clauses:
            _exists(w, "decisions", condition)
    executed = Where()
    executed.time_from("s.executed_at", f.executed_since)
    executed.time_before("s.executed_at", f.executed_until)
    if executed.clauses:
        _exists(w, "executions", executed)
    if f.deviation is not None:
        _exists(w, "executions", Where().raw("s.as_approved = 0"), negate=not f.deviation)
    if f.above_limit is not None:
        _exists(
            w, "executions", Where().raw("s.authority = ?", EXECUTIVE), negate=not f.above_limit
        )
    return w


def _decision(row: Row) -> dict[str, Any]:
    return {
        "position": row["position"],
        "actor_id": row["actor_id"],
        "role": row["role"],
        "outcome": OUTCOME_OF_EVENT[str(row["decision"])].value,
        "revision": row["revision"],
        "decided_at": row["decided_at"],
        "ms_since_recommended": row["ms_since_recommended"],
        "reason_code": row["reason_code"],
        "reason": row["reason"],
        "note": row["note"],
        "approved_change": row["approved_change"],
    }


def whole(
    rec: Row, decisions: list[dict[str, Any]], executions: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """One recommendation whole: its values side by side, its decisions and executions."""
    first_execution = executions[0]["executed_at"] if executions else None
    return {
        "recommendation_id": rec["recommendation_id"],
        "position": rec["position"],
        "organization_id": rec["organization_id"],
        "engagement_id": rec["engagement_id"],
        "agency_id": rec["agency_id"],
        "campaign_id": rec["campaign_id"],
        "kind": rec["kind"],
        "status": status_as_of(rec, now),
        "revision": rec["revision"],
        "recommended_by": rec["author_id"],
        "recommended_at": rec["recommended_at"],
        "expires_at": rec["expires_at"],
        "recommended": rec["change"],
        "approved": rec["approved_change"],
        "approved_revision": rec["approved_revision"],
        "executed": executions[-1]["executed"] if executions else None,
        "decisions": decisions,
        "executions": executions,
        "deviation": any(x["as_approved"] is False for x in executions),
        "above_limit": any(x["authority"] == EXECUTIVE for x in executions),
        "ms_to_first_decision": decisions[0]["ms_since_recommended"] if decisions else None,
        "ms_to_execution": (
            millis(str(rec["recommended_at"]), str(first_execution)) if first_execution else None
        ),
    }


def wholes(vtx: Tx, recs: list[Row], now: datetime) -> list[dict[str, Any]]:
    """Register ``recommendations`` rows made whole, in their order: two queries for all
    of their decisions and executions (``vtx`` is bound to the register's tables)."""
    ids = sorted({str(r["recommendation_id"]) for r in recs})
    decided = cited_by(vtx, "decisions", ids)
    executed = cited_by(vtx, "executions", ids)
    rows = []
    for rec in recs:
        rid = str(rec["recommendation_id"])
        rec = decode(dict(rec), ("change", "approved_change"))
        decisions = [_decision(decode(dict(d), ("approved_change",))) for d in decided.get(rid, [])]
        executions = [execution(x) for x in executed.get(rid, [])]
        rows.append(whole(rec, decisions, executions, now))
    return rows


def decision_report(
    db: Database,
    f: DecisionFilter,
    *,
    now: datetime,
    group: str = "recommendation",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[dict[str, Any]]:
    """A page of the report in log order (of the recommendation, or of the decision)."""
    per_decision = group == "decision"
    n = clamp(limit)
    where = _where(f, now, per_decision=per_decision)
    order = "d.position" if per_decision else "r.position"
    if start := after(cursor):
        where.raw(order + " > ?", start)
    if per_decision:
        text = (
            "SELECT r.*, d.position AS decision_position FROM {decisions} d "
            "JOIN {recommendations} r ON r.recommendation_id = d.recommendation_id"
        )
    else:
        text = "SELECT r.* FROM {recommendations} r"
    text += where.sql() + f" ORDER BY {order} LIMIT {n + 1}"
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, REGISTER)
        recs = vtx.all(text, where.params)
        found = wholes(vtx, recs, now)
    rows = []
    for rec, row in zip(recs, found, strict=True):
        row["row_position"] = rec["position"]
        if per_decision:  # the row holds its one decision
            row["row_position"] = rec["decision_position"]
            row["decisions"] = [d for d in row["decisions"] if d["position"] == row["row_position"]]
        rows.append(row)
    return page(rows, n, lambda r: r["row_position"], position)
