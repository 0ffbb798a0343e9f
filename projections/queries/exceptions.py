"""Exceptions for compliance, each a filtered listing in log order:

``execution_without_recommendation``  an execution that cites no recommendation
``deviation``                         an execution that differs from the approval it cites
``approved_not_implemented``          approved, not carried out (``older_than_days``: only
                                      those approved at least that many days before now)
``escalation_pending``                awaiting an executive's decision
``expired_undecided``                 expired, or past its expiry and still undecided

Each entry names its ``exception``, the time it arose (``at``: the execution, the approval
in force, the escalation or the expiry) and its age at ``now``, and carries the values of
the decision report: the recommendation whole (recommended / approved / executed, every
decision and execution; its own ``kind`` kept) and, for the two execution kinds, the
execution itself. ``since``/``until`` bound ``at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger.values import RecommendationStatus as Status
from projections import catalog
from projections.codec import parse_ts, ts
from projections.db import Database, Row
from projections.queries.decisions import wholes
from projections.queries.paging import Page, Visible, Where, after, clamp, page
from projections.queries.register import execution
from projections.views.register import PROJECTION as REGISTER


class ExceptionKind(StrEnum):
    EXECUTION_WITHOUT_RECOMMENDATION = "execution_without_recommendation"
    DEVIATION = "deviation"
    APPROVED_NOT_IMPLEMENTED = "approved_not_implemented"
    ESCALATION_PENDING = "escalation_pending"
    EXPIRED_UNDECIDED = "expired_undecided"


EXECUTION_KINDS = (ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION, ExceptionKind.DEVIATION)
# The column of the time each kind arose, in its table.
AT = {
    ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION: "executed_at",
    ExceptionKind.DEVIATION: "executed_at",
    ExceptionKind.APPROVED_NOT_IMPLEMENTED: "decided_at",
    ExceptionKind.ESCALATION_PENDING: "escalated_at",
    ExceptionKind.EXPIRED_UNDECIDED: "expires_at",
}


def exception_filter(
    kind: ExceptionKind,
    *,
    now: datetime,
    older_than_days: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, Where]:
    """The table and the condition of one kind of exception."""
    w = Where().time_from(AT[kind], since).time_before(AT[kind], until)
    if kind is ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION:
        return "executions", w.raw("recommendation_id IS NULL")
    if kind is ExceptionKind.DEVIATION:
        return "executions", w.raw("as_approved = 0")
    if kind is ExceptionKind.APPROVED_NOT_IMPLEMENTED:
        w.raw("implementation = 'not_yet'")
        if older_than_days:
            w.time_before("decided_at", now - timedelta(days=older_than_days))
        return "recommendations", w
    if kind is ExceptionKind.ESCALATION_PENDING:
        # past its expiry it is expired (listed there), not pending
        return "recommendations", w.eq("status", Status.AWAITING_EXECUTIVE).raw(
            "expires_at > ?", ts(now)
        )
    undecided = (Status.PENDING, Status.AWAITING_EXECUTIVE)
    w.raw(
        "(status = ? OR (status IN (?, ?) AND expires_at <= ?))",
        *map(str, (Status.EXPIRED, *undecided)),
        ts(now),
    )
    return "recommendations", w


def _age_days(at: str | None, now: datetime) -> float | None:
    if at is None:
        return None
    return round((now - parse_ts(at)).total_seconds() / 86_400, 2)


def exceptions(
    db: Database,
    kind: ExceptionKind,
    *,
    now: datetime,
    older_than_days: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
    organization_id: UUID | None = None,
    campaign_id: UUID | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    visible_to: Visible = None,
) -> Page[dict[str, Any]]:
    """One kind of exception, a page at a time."""
    table, where = exception_filter(
        kind, now=now, older_than_days=older_than_days, since=since, until=until
    )
    where.eq("organization_id", organization_id).eq("campaign_id", campaign_id)
    where.one_of("engagement_id", visible_to)
    n = clamp(limit)
    if start := after(cursor):
        where.raw("position > ?", start)
    text = "SELECT * FROM {" + table + "}" + where.sql() + f" ORDER BY position LIMIT {n + 1}"  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, REGISTER)
        rows = vtx.all(text, where.params)
        if kind in EXECUTION_KINDS:
            cited = [str(r["recommendation_id"]) for r in rows if r["recommendation_id"]]
            recs = vtx.select_in("recommendations", "recommendation_id", cited)
            whole = {
                str(r["recommendation_id"]): w
                for r, w in zip(recs, wholes(vtx, recs, now), strict=True)
            }
        else:
            whole = {
                str(r["recommendation_id"]): w
                for r, w in zip(rows, wholes(vtx, rows, now), strict=True)
            }
    return page([_entry(kind, r, whole, now) for r in rows], n, lambda e: e["position"], position)


def _entry(kind: ExceptionKind, row: Row, whole: dict[str, Any], now: datetime) -> dict[str, Any]:
    at = row[AT[kind]]
    rec_id = row["recommendation_id"]
    return {
        "exception": kind.value,
        "position": row["position"],
        "at": at,
        "age_days": _age_days(at, now),
        "organization_id": row["organization_id"],
        "campaign_id": row["campaign_id"],
        "recommendation_id": rec_id,
        "recommendation": whole.get(str(rec_id)) if rec_id else None,
        "execution": execution(row) if kind in EXECUTION_KINDS else None,
    }


def exception_counts(
    db: Database,
    *,
    now: datetime,
    older_than_days: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
    organization_id: UUID | None = None,
    visible_to: Visible = None,
) -> dict[str, Any]:
    """How many of each kind, and the position the counts reflect."""
    counts: dict[str, Any] = {}
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, REGISTER)
        for kind in ExceptionKind:
            table, where = exception_filter(
                kind, now=now, older_than_days=older_than_days, since=since, until=until
            )
            where.eq("organization_id", organization_id).one_of("engagement_id", visible_to)
            text = "SELECT COUNT(*) AS n FROM {" + table + "}" + where.sql()  # noqa: S608 - table slots and clauses are constants of this package; values are bound
            counts[kind.value] = int(vtx.scalar(text, where.params))
    counts["position"] = position
    return counts
