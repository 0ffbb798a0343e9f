"""The handling report: how recommendations were handled, per consultant and per manager.

Per engagement, consultant (the author) and period (``month`` of recommendation, or the
whole window): recommendations by status (read at ``now``: an undecided recommendation past
its expiry counts as expired from that instant, as the register reads it), acceptance rate
(approved, with or without changes, over approved + rejected), median and p90 time to
decision (from first delivery to the decision that settled it, in milliseconds;
nearest-rank), and implemented as recommended (approved unchanged, carried out as
approved) vs with changes (approved with changes, or carried out with a deviation) vs not
implemented (approved, not carried out). The same figures in all per consultant
(``by_consultant``) and per kind of recommendation (``by_kind``), over the whole window.
``agency_report`` gives them for one agency across its clients (ADR 0016): in all, per
client, per consultant and per kind. ``docs/reports.md`` defines every figure.

Per manager (any client decider): decisions made by kind, median time from delivery to
their decision, and executions they made without a recommendation (``None`` for a
restricted viewer, who may not see executions outside its engagements).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, TypeVar
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
class Figures:
    """How a set of recommendations was handled (``docs/reports.md`` defines each figure)."""

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


@dataclass(kw_only=True)
class ConsultantRow(Figures):
    """One consultant's work under one engagement, in one period."""

    engagement_id: str
    agency_id: str | None
    consultant_id: str
    period: str


@dataclass(kw_only=True)
class ConsultantTotal(Figures):
    """One consultant's work across every engagement of the window."""

    consultant_id: str


@dataclass(kw_only=True)
class KindRow(Figures):
    """The recommendations of one kind."""

    kind: str


@dataclass(kw_only=True)
class ClientRow(Figures):
    """The recommendations made for one client (organization)."""

    organization_id: str


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
    by_consultant: list[ConsultantTotal]
    by_kind: list[KindRow]
    managers: list[ManagerRow]
    position: int


@dataclass(frozen=True)
class AgencyReport:
    """An agency's work across its clients (ADR 0016): in all, and per client, consultant
    and kind."""

    agency_id: str
    overall: Figures
    by_client: list[ClientRow]
    by_consultant: list[ConsultantTotal]
    by_kind: list[KindRow]
    position: int


F = TypeVar("F", bound=Figures)


class Tally:
    """Counts register rows into one ``Figures``."""

    def __init__(self) -> None:
        self.rows = 0
        self.status: Counter[str] = Counter()
        self.accepted = self.rejected = 0
        self.times: list[int] = []
        self.as_recommended = self.with_changes = self.not_implemented = 0

    def add(self, r: Row, now: datetime | None) -> None:
        self.rows += 1
        self.status[str(r["status"]) if now is None else status_as_of(r, now)] += 1
        decision, impl = r["decision"], r["implementation"]
        self.accepted += decision in ACCEPTED
        self.rejected += decision == "Rejected"
        if r["decision_ms"] is not None:
            self.times.append(int(r["decision_ms"]))
        if impl == "not_yet":
            self.not_implemented += 1
        elif impl == "as_approved" and decision == "Approved":
            self.as_recommended += 1
        elif impl in ("as_approved", "with_deviation"):
            self.with_changes += 1

    def into(self, row: F) -> F:
        row.recommendations = self.rows
        row.by_status = dict(sorted(self.status.items()))
        row.accepted, row.rejected = self.accepted, self.rejected
        decided = self.accepted + self.rejected
        if decided:
            rate = Decimal(self.accepted) / Decimal(decided)
            row.acceptance_rate = rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
        row.median_decision_ms = percentile(self.times, 50)
        row.p90_decision_ms = percentile(self.times, 90)
        row.implemented_as_recommended = self.as_recommended
        row.implemented_with_changes = self.with_changes
        row.not_implemented = self.not_implemented
        return row


def _period(at: str, period: Period) -> str:
    return at[:7] if period == "month" else "all"


class Breakdown:
    """Tallies of the same rows, by one key per row."""

    def __init__(self) -> None:
        self.tallies: dict[tuple[str, ...], Tally] = defaultdict(Tally)

    def add(self, key: tuple[str, ...], r: Row, now: datetime | None) -> None:
        self.tallies[key].add(r, now)

    def rows(self, make: Callable[[tuple[str, ...]], F]) -> list[F]:
        return [self.tallies[k].into(make(k)) for k in sorted(self.tallies)]


REGISTER_COLUMNS = (
    "organization_id, engagement_id, agency_id, author_id, kind, status, decision, "
    "decision_ms, implementation, recommended_at, expires_at"
)


def _recommendations(db: Database, generation: int, where: Where) -> Iterator[Row]:
    text = f"SELECT {REGISTER_COLUMNS} FROM {{recommendations}}" + where.sql()  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    return _stream(db, generation, text, where)


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


def _consultant_report(
    db: Database, generation: int, where: Where, period: Period, now: datetime | None
) -> tuple[list[ConsultantRow], list[ConsultantTotal], list[KindRow]]:
    rows, totals, kinds = Breakdown(), Breakdown(), Breakdown()
    agencies: dict[str, str | None] = {}
    for r in _recommendations(db, generation, where):
        key = (r["engagement_id"], r["author_id"], _period(r["recommended_at"], period))
        agencies[r["engagement_id"]] = r["agency_id"]
        rows.add(key, r, now)
        totals.add((r["author_id"],), r, now)
        kinds.add((r["kind"],), r, now)
    return (
        rows.rows(
            lambda k: ConsultantRow(
                engagement_id=k[0], agency_id=agencies[k[0]], consultant_id=k[1], period=k[2]
            )
        ),
        totals.rows(lambda k: ConsultantTotal(consultant_id=k[0])),
        kinds.rows(lambda k: KindRow(kind=k[0])),
    )


def handling_report(
    db: Database,
    *,
    organization_id: UUID | None = None,
    engagement_id: UUID | None = None,
    consultant_id: UUID | None = None,
    kinds: Collection[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    period: Period = "all",
    visible_to: Visible = None,
    now: datetime | None = None,
) -> HandlingReport:
    """The report for one window (``since`` inclusive, ``until`` exclusive): consultants by
    time of recommendation (per engagement and period, and in all per consultant and per
    kind), managers by time of decision or execution. With ``kinds``, only recommendations
    of those kinds and the decisions on them count; executions without a recommendation
    have no kind, so they are not counted then (``None``). With ``now``, statuses are read
    as of then (expiry); without it, as stored."""
    with db.transaction() as tx:
        _, generation, position = catalog.readable(tx, REGISTER)
    recs = (
        Where()
        .eq("organization_id", organization_id)
        .eq("engagement_id", engagement_id)
        .eq("author_id", consultant_id)
        .one_of("kind", kinds or None)
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
    if kinds:
        of_kinds = Where().one_of("kind", kinds)
        decisions.raw(
            "recommendation_id IN (SELECT recommendation_id FROM {recommendations}"  # noqa: S608 - a constant slot and clauses; values are bound
            + of_kinds.sql()
            + ")",
            *of_kinds.params,
        )
    executions = None
    if visible_to is None and engagement_id is None and not kinds:
        executions = (
            Where()
            .raw("recommendation_id IS NULL")
            .eq("organization_id", organization_id)
            .time_from("executed_at", since)
            .time_before("executed_at", until)
        )
    consultants, by_consultant, by_kind = _consultant_report(db, generation, recs, period, now)
    return HandlingReport(
        consultants,
        by_consultant,
        by_kind,
        _managers(db, generation, decisions, executions),
        position,
    )


def agency_report(
    db: Database,
    agency_id: UUID,
    *,
    consultant_id: UUID | None = None,
    kinds: Collection[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> AgencyReport:
    """The recommendations made under every engagement naming the agency, across clients,
    recommended in ``[since, until)`` (of any of ``kinds``, when given): in all, and per
    client, consultant and kind."""
    with db.transaction() as tx:
        _, generation, position = catalog.readable(tx, REGISTER)
    where = (
        Where()
        .eq("agency_id", agency_id)
        .eq("author_id", consultant_id)
        .one_of("kind", kinds or None)
        .time_from("recommended_at", since)
        .time_before("recommended_at", until)
    )
    overall, clients, consultants, by_kind = Tally(), Breakdown(), Breakdown(), Breakdown()
    for r in _recommendations(db, generation, where):
        overall.add(r, now)
        clients.add((r["organization_id"],), r, now)
        consultants.add((r["author_id"],), r, now)
        by_kind.add((r["kind"],), r, now)
    return AgencyReport(
        str(agency_id),
        overall.into(Figures()),
        clients.rows(lambda k: ClientRow(organization_id=k[0])),
        consultants.rows(lambda k: ConsultantTotal(consultant_id=k[0])),
        by_kind.rows(lambda k: KindRow(kind=k[0])),
        position,
    )
