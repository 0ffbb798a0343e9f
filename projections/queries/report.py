"""The handling report: how recommendations were handled, per consultant and per manager.

Per engagement, consultant (the author) and period (``month`` of recommendation, or the
whole window): recommendations by status (read at ``now``: an undecided recommendation past
its expiry counts as expired from that instant, as the register reads it), acceptance rate
(approved, with or without changes, over approved + rejected), median and p90 time to
decision (from first delivery to the decision that settled it, in milliseconds;
nearest-rank), and implemented as recommended (approved unchanged, carried out as
approved) vs with changes (approved with changes, or carried out with a deviation) vs not
implemented (approved, not carried out).

Per manager (any client decider): decisions made by kind, median time from delivery to
their decision, and executions they made without a recommendation (``None`` for a
restricted viewer, who may not see executions outside its engagements).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal
from uuid import UUID

from projections import catalog
from projections.db import Database, Row
from projections.queries.paging import Visible, Where
from projections.queries.register import status_as_of
from projections.views.register import PROJECTION as REGISTER

Period = Literal["all", "month"]
ACCEPTED = ("Approved", "ApprovedWithChanges")


def percentile(values: list[int], p: int) -> int | None:
    """Nearest-rank percentile of whole milliseconds (no interpolation, no float result)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1]


@dataclass
class ConsultantRow:
    engagement_id: str
    agency_id: str | None
    consultant_id: str
    period: str
    recommendations: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0
    acceptance_rate: Decimal | None = None
    median_decision_ms: int | None = None
    p90_decision_ms: int | None = None
    implemented_as_recommended: int = 0
    implemented_with_changes: int = 0
    not_implemented: int = 0


@dataclass
class ManagerRow:
    actor_id: str
    decisions: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)
    median_decision_ms: int | None = None
    executions_without_recommendation: int | None = None


@dataclass(frozen=True)
class HandlingReport:
    consultants: list[ConsultantRow]
    managers: list[ManagerRow]
    position: int


def _period(at: str, period: Period) -> str:
    return at[:7] if period == "month" else "all"


def _consultants(
    db: Database, generation: int, where: Where, period: Period, now: datetime | None
) -> list[ConsultantRow]:
    rows: dict[tuple[str, str, str], ConsultantRow] = {}
    status: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    times: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    text = (
        "SELECT engagement_id, agency_id, author_id, status, decision, decision_ms, "  # noqa: S608 - table slots and clauses are constants of this package; values are bound
        "implementation, recommended_at, expires_at FROM {recommendations}" + where.sql()
    )
    for r in _stream(db, generation, text, where):
        key = (r["engagement_id"], r["author_id"], _period(r["recommended_at"], period))
        row = rows.get(key) or rows.setdefault(key, ConsultantRow(key[0], r["agency_id"], *key[1:]))
        row.recommendations += 1
        status[key][r["status"] if now is None else status_as_of(r, now)] += 1
        decision, impl = r["decision"], r["implementation"]
        row.accepted += decision in ACCEPTED
        row.rejected += decision == "Rejected"
        if r["decision_ms"] is not None:
            times[key].append(int(r["decision_ms"]))
        if impl == "not_yet":
            row.not_implemented += 1
        elif impl == "as_approved" and decision == "Approved":
            row.implemented_as_recommended += 1
        elif impl in ("as_approved", "with_deviation"):
            row.implemented_with_changes += 1
    for key, row in rows.items():
        row.by_status = dict(sorted(status[key].items()))
        decided = row.accepted + row.rejected
        if decided:
            rate = Decimal(row.accepted) / Decimal(decided)
            row.acceptance_rate = rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
        row.median_decision_ms = percentile(times[key], 50)
        row.p90_decision_ms = percentile(times[key], 90)
    return [rows[k] for k in sorted(rows)]


def _managers(
    db: Database, generation: int, decisions: Where, executions: Where | None
) -> list[ManagerRow]:
    rows: dict[str, ManagerRow] = {}
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    times: dict[str, list[int]] = defaultdict(list)
    text = "SELECT actor_id, decision, ms_since_recommended FROM {decisions}" + decisions.sql()  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    for r in _stream(db, generation, text, decisions):
        row = rows.setdefault(r["actor_id"], ManagerRow(r["actor_id"]))
        row.decisions += 1
        kinds[r["actor_id"]][r["decision"]] += 1
        times[r["actor_id"]].append(int(r["ms_since_recommended"]))
    if executions is not None:
        text = (
            "SELECT actor_id, COUNT(*) AS n FROM {executions}"  # noqa: S608 - table slots and clauses are constants of this package; values are bound
            + executions.sql()
            + " GROUP BY actor_id"
        )
        for r in _stream(db, generation, text, executions):
            row = rows.setdefault(r["actor_id"], ManagerRow(r["actor_id"]))
            row.executions_without_recommendation = int(r["n"])
        for row in rows.values():
            row.executions_without_recommendation = row.executions_without_recommendation or 0
    for actor, row in rows.items():
        row.by_decision = dict(sorted(kinds[actor].items()))
        row.median_decision_ms = percentile(times[actor], 50)
    return [rows[k] for k in sorted(rows)]


def _stream(db: Database, generation: int, text: str, where: Where) -> Iterator[Row]:
    return db.stream(text, where.params, names=REGISTER.names(generation))


def handling_report(
    db: Database,
    *,
    organization_id: UUID | None = None,
    engagement_id: UUID | None = None,
    consultant_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    period: Period = "all",
    visible_to: Visible = None,
    now: datetime | None = None,
) -> HandlingReport:
    """The report for one window (``since`` inclusive, ``until`` exclusive): consultants by
    time of recommendation, managers by time of decision or execution. With ``now``,
    statuses are read as of then (expiry); without it, as stored."""
    with db.transaction() as tx:
        _, generation, position = catalog.readable(tx, REGISTER)
    recs = (
        Where()
        .eq("organization_id", organization_id)
        .eq("engagement_id", engagement_id)
        .eq("author_id", consultant_id)
        .time_from("recommended_at", since)
        .time_before("recommended_at", until)
        .one_of("engagement_id", visible_to)
    )
    decisions = (
        Where()
        .eq("organization_id", organization_id)
        .eq("engagement_id", engagement_id)
        .time_from("decided_at", since)
        .time_before("decided_at", until)
        .one_of("engagement_id", visible_to)
    )
    executions = None
    if visible_to is None and engagement_id is None:
        executions = (
            Where()
            .raw("recommendation_id IS NULL")
            .eq("organization_id", organization_id)
            .time_from("executed_at", since)
            .time_before("executed_at", until)
        )
    return HandlingReport(
        _consultants(db, generation, recs, period, now),
        _managers(db, generation, decisions, executions),
        position,
    )
