"""Recommendation-register queries (the exceptions are in ``projections.queries.exceptions``,
the decision report in ``projections.queries.decisions``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.domain.recommendation import DECIDABLE
from ledger.values import RecommendationStatus as Status
from projections import catalog
from projections.codec import ts
from projections.db import Database, Row, Tx
from projections.queries.paging import Page, Visible, Where, after, clamp, decode, page
from projections.views.register import PROJECTION as REGISTER

JSON_COLUMNS = (
    "change",
    "approved_change",
    "executed",
    "consultant_ids",
    "channels",
    "campaign_ids",
)


def _row(row: Row, now: datetime | None = None) -> Row:
    row = decode(row, JSON_COLUMNS)
    if now is not None and "expires_at" in row and "status" in row:
        row["status"] = status_as_of(row, now)
    for flag in ("escalated", "as_approved"):
        if flag in row and row[flag] is not None:
            row[flag] = bool(row[flag])
    return row


def _lapsed(row: Row, now: datetime) -> bool:
    return bool(row["status"] in DECIDABLE and str(row["expires_at"]) <= ts(now))


def status_as_of(row: Row, now: datetime) -> str:
    """A register row's status read at ``now`` (the rule of ``status_at``): undecided past
    its expiry is expired from that instant, before any Expired event is recorded."""
    return Status.EXPIRED.value if _lapsed(row, now) else str(row["status"])


def _status(status: str, now: datetime | None) -> tuple[str, tuple[str, ...]]:
    """The condition of ``status`` as read at ``now``: expired includes the undecided past
    their expiry, pending and awaiting an executive exclude them."""
    if now is None or status not in (*DECIDABLE, Status.EXPIRED):
        return "status = ?", (str(status),)
    if status == Status.EXPIRED:
        return (
            "(status = ? OR (status IN (?, ?) AND expires_at <= ?))",
            (*map(str, (Status.EXPIRED, Status.PENDING, Status.AWAITING_EXECUTIVE)), ts(now)),
        )
    return "(status = ? AND expires_at > ?)", (str(status), ts(now))


def _statuses(where: Where, statuses: Collection[str], now: datetime | None) -> Where:
    """Rows in any of ``statuses`` (each as read at ``now``); no condition when empty."""
    if not statuses:
        return where
    conditions = [_status(s, now) for s in sorted(set(statuses))]
    clause = "(" + " OR ".join(c for c, _ in conditions) + ")"
    return where.raw(clause, *(p for _, params in conditions for p in params))


def _decided_within(where: Where, since: datetime | None, until: datetime | None) -> Where:
    """Recommendations with at least one client decision (a row of ``decisions``: approval,
    with or without changes, rejection, escalation) recorded in ``[since, until)``."""
    if since is None and until is None:
        return where
    inner = Where().time_from("decided_at", since).time_before("decided_at", until)
    return where.raw(
        "recommendation_id IN (SELECT recommendation_id FROM {decisions}" + inner.sql() + ")",  # noqa: S608 - a constant slot and clauses; values are bound
        *inner.params,
    )


def _page(
    db: Database,
    table: str,
    where: Where,
    cursor: str | None,
    limit: int | None,
    now: datetime | None = None,
) -> Page[Row]:
    n = clamp(limit)
    if start := after(cursor):
        where.raw("position > ?", start)
    text = "SELECT * FROM {" + table + "}" + where.sql() + f" ORDER BY position LIMIT {n + 1}"  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, REGISTER)
        rows = vtx.all(text, where.params)
    return page([_row(r, now) for r in rows], n, lambda r: r["position"], position)


def recommendations(
    db: Database,
    *,
    organization_id: UUID | None = None,
    agency_id: UUID | None = None,
    engagement_id: UUID | None = None,
    campaign_id: UUID | None = None,
    author_id: UUID | None = None,
    statuses: Collection[str] = (),
    kinds: Collection[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    decided_since: datetime | None = None,
    decided_until: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    visible_to: Visible = None,
    now: datetime | None = None,
) -> Page[Row]:
    """Register rows in the order they were first recommended, in any of ``statuses`` and
    ``kinds`` when given; ``since``/``until`` bound the time of recommendation,
    ``decided_since``/``decided_until`` the time of any client decision on it (each bound
    inclusive at the start, exclusive at the end). With ``now``, statuses are read as of
    then (expiry)."""
    where = (
        Where()
        .eq("organization_id", organization_id)
        .eq("agency_id", agency_id)
        .eq("engagement_id", engagement_id)
        .eq("campaign_id", campaign_id)
        .eq("author_id", author_id)
    )
    where = (
        _statuses(where, statuses, now)
        .one_of("kind", kinds or None)
        .time_from("recommended_at", since)
        .time_before("recommended_at", until)
        .one_of("engagement_id", visible_to)
    )
    found = _page(
        db,
        "recommendations",
        _decided_within(where, decided_since, decided_until),
        cursor,
        limit,
        now,
    )
    cited = executions_of(db, [str(r["recommendation_id"]) for r in found.items])
    for row in found.items:
        row["executions"] = cited.get(str(row["recommendation_id"]), [])
    return found


def cited_by(vtx: Tx, table: str, ids: Collection[str]) -> dict[str, list[Row]]:
    """The rows of the register's ``table`` (decisions or executions) citing each of the
    recommendations ``ids``, in log order, in one query (``vtx`` bound to the register)."""
    found: dict[str, list[Row]] = {}
    rows = vtx.select_in(table, "recommendation_id", ids) if ids else []
    for row in sorted(rows, key=lambda r: int(r["position"])):
        found.setdefault(str(row["recommendation_id"]), []).append(row)
    return found


def executions_of(db: Database, recommendation_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The executions citing each of ``recommendation_ids``, in order, each with its values
    and spend authority (one query)."""
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, REGISTER)
        rows = cited_by(vtx, "executions", recommendation_ids)
    return {rid: [execution(r) for r in cited] for rid, cited in rows.items()}


def recommendation(
    db: Database,
    recommendation_id: UUID,
    *,
    visible_to: Visible = None,
    now: datetime | None = None,
) -> tuple[Row | None, int]:
    """One register row (None when absent or not visible) and the position it reflects."""
    where = Where().eq("recommendation_id", recommendation_id).one_of("engagement_id", visible_to)
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, REGISTER)
        row = vtx.one("SELECT * FROM {recommendations}" + where.sql(), where.params)  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    return (None if row is None else _row(row, now)), position


def lapsed(db: Database, *, now: datetime, limit: int = 500) -> list[UUID]:
    """Undecided recommendations whose expiry has passed at ``now``, earliest expiry first:
    the candidates of the expiry sweep (``projections.expiry``)."""
    text = (
        "SELECT recommendation_id FROM {recommendations} WHERE status IN (?, ?) "  # noqa: S608 - a constant slot; the limit is an int, values are bound
        f"AND expires_at <= ? ORDER BY expires_at, position LIMIT {int(limit)}"
    )
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, REGISTER)
        rows = vtx.all(text, (*map(str, sorted(DECIDABLE)), ts(now)))
    return [UUID(str(r["recommendation_id"])) for r in rows]


def decisions_on(db: Database, recommendation_id: UUID, *, visible_to: Visible = None) -> list[Row]:
    """Every client decision on one recommendation, in order."""
    where = Where().eq("recommendation_id", recommendation_id).one_of("engagement_id", visible_to)
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, REGISTER)
        text = "SELECT * FROM {decisions}" + where.sql() + " ORDER BY position"  # noqa: S608 - constant slots and clauses; values are bound
        return [decode(r, ("approved_change",)) for r in vtx.all(text, where.params)]


def execution(row: Row) -> dict[str, Any]:
    """An ``executions`` row as the report shows it."""
    row = decode(dict(row), ("executed",))  # a copy: a row may be shown twice
    as_approved = row["as_approved"]
    return {
        "position": row["position"],
        "campaign_id": row["campaign_id"],
        "actor_id": row["actor_id"],
        "role": row["role"],
        "action": row["action"],
        "executed_at": row["executed_at"],
        "revision": row["revision"],
        "executed": row["executed"],
        "as_approved": None if as_approved is None else bool(as_approved),
        "deviation_reason": row["deviation_reason"],
        "authority": row["authority"],
        "allowance_used": row["allowance_used"],
    }


def executions_citing(db: Database, recommendation_id: UUID) -> list[dict[str, Any]]:
    """Every execution citing one recommendation, in order (see :func:`executions_of`)."""
    return executions_of(db, [str(recommendation_id)]).get(str(recommendation_id), [])


def lapsed_by_campaign(db: Database, campaign_ids: list[str], now: datetime) -> dict[str, int]:
    """Per campaign, its undecided recommendations past their expiry at ``now`` (still
    counted open by the campaigns view until the sweep records their expiry)."""
    if not campaign_ids:
        return {}
    marks = ", ".join("?" * len(campaign_ids))
    text = (
        "SELECT campaign_id, COUNT(*) AS n FROM {recommendations} "  # noqa: S608 - a constant slot; values are bound
        f"WHERE campaign_id IN ({marks}) AND status IN (?, ?) AND expires_at <= ? "
        "GROUP BY campaign_id"
    )
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, REGISTER)
        rows = vtx.all(text, (*map(str, campaign_ids), *map(str, sorted(DECIDABLE)), ts(now)))
    return {str(r["campaign_id"]): int(r["n"]) for r in rows}
